import { useEffect, useRef } from 'preact/hooks'
import type { EventRow } from '../events-model'
import { fmtTime } from '../util'

/** The event's summary and its full CloudTrail record. Escape closes it. */
export function EventDetail(props: { row: EventRow; onClose: () => void }) {
  const ref = useRef<HTMLElement>(null)
  const { row } = props
  useEffect(() => {
    ref.current?.focus()
  }, [row.id])
  let pretty = row.raw
  try {
    pretty = JSON.stringify(JSON.parse(row.raw), null, 2)
  } catch {
    /* show as stored */
  }
  return (
    <aside
      class="detail"
      ref={ref}
      tabIndex={-1}
      aria-labelledby="detail-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') props.onClose()
      }}
    >
      <header>
        <h2 id="detail-title">{row.name}</h2>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </header>
      <dl class="summary">
        <dt>Event time</dt>
        <dd>{fmtTime(row.time / 1000)}</dd>
        <dt>User name</dt>
        <dd>{row.user || '-'}</dd>
        <dt>Event source</dt>
        <dd>{row.source}</dd>
        <dt>AWS access key</dt>
        <dd>{row.accessKeyId || '-'}</dd>
        <dt>Source IP address</dt>
        <dd>{row.sourceIp || '-'}</dd>
        <dt>AWS region</dt>
        <dd>{row.region || '-'}</dd>
        <dt>Event ID</dt>
        <dd>{row.id}</dd>
        <dt>Read-only</dt>
        <dd>{row.readOnly}</dd>
        {row.errorCode && (
          <>
            <dt>Error code</dt>
            <dd class="bad">{row.errorCode}</dd>
          </>
        )}
      </dl>
      <h3>Event record</h3>
      <pre class="json" aria-label="Event record JSON">
        {pretty}
      </pre>
    </aside>
  )
}
