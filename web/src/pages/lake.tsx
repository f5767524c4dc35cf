/**
 * CloudTrail Lake: the event data stores (and creating one), a SQL editor with sample queries,
 * the results table with its statistics, the query history of a store, and CSV/JSON export.
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { csvCell, download, errorText, fmtTime, str } from '../util'
import { LakeTabs } from './lake-dashboards'
import { SaveAsWidget } from '../components/save-as-widget'

interface Store {
  EventDataStoreArn: string
  Name: string
  Status?: string
  RetentionPeriod?: number
  CreatedTimestamp?: number
}

interface Result {
  columns: string[]
  rows: string[][]
  status: string
  stats: Record<string, unknown>
  error?: string
  /** The statement that ran (DescribeQuery's QueryString). */
  statement?: string
}

const storeId = (arn: string) => arn.split('/').pop() ?? arn

const SAMPLES: { label: string; sql: (id: string) => string }[] = [
  {
    label: 'Top event names, last day',
    sql: (id) =>
      `SELECT eventName, count(*) AS calls\nFROM ${id}\nWHERE eventTime > date_add('day', -1, now())\nGROUP BY eventName\nORDER BY calls DESC\nLIMIT 20`,
  },
  {
    label: 'Access denied calls',
    sql: (id) =>
      `SELECT eventTime, userIdentity.arn, eventSource, eventName, errorCode\nFROM ${id}\nWHERE errorCode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation')\nORDER BY eventTime DESC\nLIMIT 100`,
  },
  {
    label: 'Console sign-ins',
    sql: (id) =>
      `SELECT eventTime, userIdentity.arn, sourceIPAddress, responseElements\nFROM ${id}\nWHERE eventName = 'ConsoleLogin'\nORDER BY eventTime DESC\nLIMIT 100`,
  },
  {
    label: 'Calls per user',
    sql: (id) =>
      `SELECT userIdentity.arn AS principal, count(*) AS calls\nFROM ${id}\nGROUP BY userIdentity.arn\nORDER BY calls DESC\nLIMIT 20`,
  },
]

export function Lake() {
  const [stores, setStores] = useState<Store[] | undefined>()
  const [store, setStore] = useState('')
  const [sql, setSql] = useState('')
  const [result, setResult] = useState<Result | undefined>()
  const [history, setHistory] = useState<
    { QueryId: string; QueryStatus: string; CreationTime?: number }[]
  >([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState('')
  const [newName, setNewName] = useState('')

  async function loadStores(select?: string) {
    try {
      const r = await call<{ EventDataStores?: Store[] }>('ListEventDataStores', {})
      const list = r.EventDataStores ?? []
      setStores(list)
      const pick = select ?? (store || list[0]?.EventDataStoreArn || '')
      setStore(pick)
      if (pick && !sql) setSql(SAMPLES[0]!.sql(storeId(pick)))
    } catch (e) {
      setError(errorText(e))
    }
  }
  async function loadHistory(arn: string) {
    if (!arn) return
    const r = await call<{ Queries?: typeof history }>('ListQueries', {
      EventDataStore: arn,
    }).catch(() => ({ Queries: [] }))
    setHistory(r.Queries ?? [])
  }
  useEffect(() => {
    void loadStores()
  }, [])
  useEffect(() => {
    void loadHistory(store)
  }, [store])

  async function fetchResults(id: string, store: string): Promise<Result> {
    for (let i = 0; ; i++) {
      const d = await call<{
        QueryStatus: string
        QueryString?: string
        QueryStatistics?: Record<string, unknown>
        ErrorMessage?: string
      }>('DescribeQuery', { QueryId: id, EventDataStore: store })
      if (!['QUEUED', 'RUNNING'].includes(d.QueryStatus)) {
        const columns: string[] = []
        const rows: string[][] = []
        let token: string | undefined
        if (d.QueryStatus === 'FINISHED') {
          do {
            const page = await call<{
              QueryResultRows?: Record<string, string>[][]
              NextToken?: string
            }>('GetQueryResults', {
              QueryId: id,
              EventDataStore: store,
              ...(token ? { NextToken: token } : {}),
            })
            for (const row of page.QueryResultRows ?? []) {
              if (!columns.length) for (const cell of row) columns.push(Object.keys(cell)[0] ?? '')
              rows.push(row.map((cell) => str(Object.values(cell)[0])))
            }
            token = page.NextToken
          } while (token && rows.length < 10_000)
        }
        return {
          columns,
          rows,
          status: d.QueryStatus,
          stats: d.QueryStatistics ?? {},
          ...(d.ErrorMessage ? { error: d.ErrorMessage } : {}),
          ...(d.QueryString ? { statement: d.QueryString } : {}),
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (i + 1))))
    }
  }

  async function run(e: Event) {
    e.preventDefault()
    setError('')
    setResult(undefined)
    setBusy('Running…')
    try {
      const { QueryId } = await call<{ QueryId: string }>('StartQuery', { QueryStatement: sql })
      setResult(await fetchResults(QueryId, store))
      void loadHistory(store)
    } catch (err) {
      setError(errorText(err))
    }
    setBusy('')
  }

  async function create(e: Event) {
    e.preventDefault()
    setError('')
    try {
      const r = await call<{ EventDataStoreArn: string }>('CreateEventDataStore', { Name: newName })
      setNewName('')
      setSql(SAMPLES[0]!.sql(storeId(r.EventDataStoreArn)))
      await loadStores(r.EventDataStoreArn)
    } catch (err) {
      setError(errorText(err))
    }
  }

  const csv = (r: Result) =>
    [r.columns, ...r.rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n'
  const json = (r: Result) =>
    JSON.stringify(
      r.rows.map((row) => Object.fromEntries(row.map((v, i) => [r.columns[i] ?? `_col${i}`, v]))),
      null,
      2,
    )

  return (
    <section aria-labelledby="lake-title">
      <h1 id="lake-title">Lake</h1>
      <LakeTabs current="query" />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section class="panel" aria-labelledby="stores-title">
        <header>
          <h2 id="stores-title">Event data stores</h2>
        </header>
        {!stores ? (
          <p>Loading…</p>
        ) : stores.length === 0 ? (
          <p class="muted">
            No event data stores yet. A new store collects management events from now on.
          </p>
        ) : (
          <label>
            Event data store{' '}
            <select value={store} onChange={(e) => setStore(e.currentTarget.value)}>
              {stores.map((s) => (
                <option value={s.EventDataStoreArn}>
                  {s.Name} ({storeId(s.EventDataStoreArn)}) · {s.Status}
                </option>
              ))}
            </select>
          </label>
        )}
        <form class="inline" onSubmit={(e) => void create(e)}>
          <label>
            New store name
            <input
              value={newName}
              required
              pattern="[A-Za-z0-9][A-Za-z0-9._-]{2,127}"
              onInput={(e) => setNewName(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Create event data store</button>
        </form>
      </section>
      <section class="panel" aria-labelledby="editor-title">
        <header>
          <h2 id="editor-title">Query</h2>
        </header>
        <div class="actions">
          {SAMPLES.map((s) => (
            <button type="button" disabled={!store} onClick={() => setSql(s.sql(storeId(store)))}>
              {s.label}
            </button>
          ))}
        </div>
        <form onSubmit={(e) => void run(e)}>
          <label for="sql">SQL (the table is the event data store ID)</label>
          <textarea
            id="sql"
            rows={8}
            spellcheck={false}
            value={sql}
            onInput={(e) => setSql(e.currentTarget.value)}
          />
          <div class="actions">
            <button type="submit" class="primary" disabled={Boolean(busy) || !sql.trim()}>
              {busy || 'Run'}
            </button>
          </div>
        </form>
      </section>
      {result && (
        <section class="panel" aria-labelledby="results-title">
          <header>
            <h2 id="results-title">Results</h2>
            <button
              type="button"
              onClick={() => download('query-results.csv', 'text/csv', csv(result))}
            >
              Download CSV
            </button>
            <button
              type="button"
              onClick={() => download('query-results.json', 'application/json', json(result))}
            >
              Download JSON
            </button>
          </header>
          <p role="status" class={result.status === 'FINISHED' ? 'status' : 'bad'}>
            {result.status}: {result.rows.length} rows
            {result.stats['EventsScanned'] !== undefined &&
              `, ${str(result.stats['EventsScanned'])} events scanned`}
            {result.stats['BytesScanned'] !== undefined &&
              `, ${str(result.stats['BytesScanned'])} bytes scanned`}
            {result.stats['ExecutionTimeInMillis'] !== undefined &&
              `, ${str(result.stats['ExecutionTimeInMillis'])} ms`}
            {result.error && ` · ${result.error}`}
          </p>
          {result.status === 'FINISHED' && result.statement && (
            <SaveAsWidget statement={result.statement} />
          )}
          {result.rows.length > 0 && (
            <div class="scroll-x">
              <table class="grid" aria-label="Query results">
                <thead>
                  <tr>
                    {result.columns.map((c) => (
                      <th scope="col">{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {result.rows.slice(0, 1000).map((r) => (
                    <tr>
                      {r.map((v) => (
                        <td>{v}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
      <section class="panel" aria-labelledby="history-title">
        <header>
          <h2 id="history-title">Query history</h2>
        </header>
        {history.length === 0 ? (
          <p class="muted">No queries on this store yet.</p>
        ) : (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Query ID</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {history.slice(0, 50).map((q) => (
                <tr>
                  <td>
                    <button
                      type="button"
                      class="link"
                      onClick={() =>
                        void fetchResults(q.QueryId, store)
                          .then((r) => {
                            setResult(r)
                            if (r.statement) setSql(r.statement)
                          })
                          .catch((e: unknown) => setError(errorText(e)))
                      }
                    >
                      {q.QueryId}
                    </button>
                  </td>
                  <td>{q.QueryStatus}</td>
                  <td>{fmtTime(q.CreationTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  )
}
