/**
 * Browses a trail's delivered files through the S3 API (ListObjectsV2 with a delimiter, then
 * GetObject): folders down from `[prefix/]AWSLogs/`, and a log file's records, opened in place.
 */
import { useEffect, useState } from 'preact/hooks'
import { getObjectText, listObjects, type Listing } from '../api'
import { errorText, fmtBytes, fmtTime, str } from '../util'

interface Opened {
  key: string
  records: Record<string, unknown>[]
  text: string
}

export function FileBrowser(props: { bucket: string; root: string }) {
  const [prefix, setPrefix] = useState(props.root)
  const [listing, setListing] = useState<Listing | undefined>()
  const [error, setError] = useState('')
  const [opened, setOpened] = useState<Opened | undefined>()
  const [raw, setRaw] = useState(false)

  function load(p: string) {
    setPrefix(p)
    setListing(undefined)
    setError('')
    listObjects(props.bucket, p)
      .then(setListing)
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(() => load(props.root), [props.bucket, props.root])

  async function open(key: string) {
    setError('')
    try {
      const text = await getObjectText(props.bucket, key)
      let records: Record<string, unknown>[] = []
      try {
        const doc = JSON.parse(text) as { Records?: Record<string, unknown>[] }
        records = doc.Records ?? []
      } catch {
        /* not a log file: show the text */
      }
      setOpened({ key, records, text })
      setRaw(records.length === 0)
    } catch (e) {
      setError(errorText(e))
    }
  }

  const parts = prefix.slice(props.root.length).split('/').filter(Boolean)
  return (
    <div class="browser" data-prefix={prefix} aria-busy={!listing && !error}>
      <nav aria-label="Folder path" class="crumbs">
        <button type="button" class="link" onClick={() => load(props.root)}>
          s3://{props.bucket}/{props.root}
        </button>
        {parts.map((part, i) => (
          <>
            {' › '}
            <button
              type="button"
              class="link"
              onClick={() => load(props.root + parts.slice(0, i + 1).join('/') + '/')}
            >
              {part}
            </button>
          </>
        ))}
      </nav>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!listing ? (
        !error && <p>Loading…</p>
      ) : listing.folders.length + listing.files.length === 0 ? (
        <p>No files here yet. Trails deliver log files every few minutes.</p>
      ) : (
        <ul class="files" aria-label="Folders and files">
          {listing.folders.map((f) => (
            <li>
              <span aria-hidden="true">▸ </span>
              <button type="button" class="link folder" onClick={() => load(f)}>
                {f.slice(prefix.length)}
              </button>
            </li>
          ))}
          {listing.files.map((f) => (
            <li>
              <span aria-hidden="true">· </span>
              <button type="button" class="link file" onClick={() => void open(f.key)}>
                {f.key.slice(prefix.length)}
              </button>{' '}
              <span class="muted">
                {fmtBytes(f.size)} · {fmtTime(f.lastModified)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {opened && (
        <section class="opened" aria-labelledby="opened-title">
          <header>
            <h3 id="opened-title">{opened.key.split('/').pop()}</h3>
            <span class="muted">{opened.records.length} records</span>
            {opened.records.length > 0 && (
              <button type="button" onClick={() => setRaw(!raw)}>
                {raw ? 'Show records' : 'Show JSON'}
              </button>
            )}
            <button type="button" onClick={() => setOpened(undefined)}>
              Close file
            </button>
          </header>
          {raw ? (
            <pre class="json">{JSON.stringify(JSON.parse(opened.text || 'null'), null, 2)}</pre>
          ) : (
            <table class="grid" aria-label="Records in the log file">
              <thead>
                <tr>
                  <th scope="col">Event time</th>
                  <th scope="col">Event name</th>
                  <th scope="col">Event source</th>
                  <th scope="col">User</th>
                  <th scope="col">Error code</th>
                </tr>
              </thead>
              <tbody>
                {opened.records.slice(0, 2000).map((r) => {
                  const ui = (r['userIdentity'] ?? {}) as Record<string, unknown>
                  return (
                    <tr>
                      <td>{fmtTime(r['eventTime'])}</td>
                      <td>{str(r['eventName'])}</td>
                      <td>{str(r['eventSource'])}</td>
                      <td>{str(ui['userName'] ?? ui['arn'] ?? ui['type'])}</td>
                      <td class="bad">{str(r['errorCode'])}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          )}
        </section>
      )}
    </div>
  )
}
