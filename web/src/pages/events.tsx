import { useEffect, useRef, useState } from 'preact/hooks'
import { VirtualTable, type Column } from '../components/virtual-table'
import { EventDetail } from '../components/event-detail'
import {
  ATTRIBUTE_LABELS,
  ATTRIBUTES,
  loadEvents,
  toCsv,
  toJson,
  type AttributeKey,
  type EventRow,
  type Filter,
} from '../events-model'
import { download, errorText, fmtTime, localInput } from '../util'

const RANGES = [
  { id: '30m', label: '30m', ms: 30 * 60_000 },
  { id: '1h', label: '1h', ms: 3_600_000 },
  { id: '3h', label: '3h', ms: 3 * 3_600_000 },
  { id: '12h', label: '12h', ms: 12 * 3_600_000 },
  { id: '1d', label: '1d', ms: 86_400_000 },
  { id: 'custom', label: 'Custom', ms: 0 },
] as const
type RangeId = (typeof RANGES)[number]['id']

const LIMITS = [1000, 10_000, 100_000]

const COLUMNS: Column<EventRow>[] = [
  { label: 'Event name', width: 'minmax(140px, 1.3fr)', cell: (r) => r.name },
  { label: 'Event time', width: '170px', cell: (r) => fmtTime(r.time / 1000) },
  { label: 'User name', width: 'minmax(100px, 1fr)', cell: (r) => r.user },
  { label: 'Event source', width: 'minmax(140px, 1.2fr)', cell: (r) => r.source },
  { label: 'Resource type', width: 'minmax(100px, 1fr)', cell: (r) => r.resourceType },
  { label: 'Resource name', width: 'minmax(100px, 1.2fr)', cell: (r) => r.resourceName },
  {
    label: 'Error code',
    width: 'minmax(90px, 0.8fr)',
    cell: (r) => (r.errorCode ? <span class="bad">{r.errorCode}</span> : ''),
  },
]

/** Filters and range from the address (?EventName=...&range=30m), so a view can be shared. */
function fromUrl(): { filters: Filter[]; range: RangeId } {
  const q = new URLSearchParams(location.search)
  const filters: Filter[] = []
  for (const key of ATTRIBUTES) for (const value of q.getAll(key)) filters.push({ key, value })
  const range: RangeId = RANGES.find((r) => r.id === q.get('range'))?.id ?? '1d'
  return { filters: filters.length ? filters : [{ key: 'EventName', value: '' }], range }
}

export function EventHistory() {
  const initial = fromUrl()
  const [filters, setFilters] = useState<Filter[]>(initial.filters)
  const [range, setRange] = useState<RangeId>(initial.range)
  const [customStart, setCustomStart] = useState(localInput(new Date(Date.now() - 86_400_000)))
  const [customEnd, setCustomEnd] = useState(localInput(new Date()))
  const [limit, setLimit] = useState(LIMITS[0]!)
  const [rows, setRows] = useState<EventRow[]>([])
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState('')
  const [open, setOpen] = useState<EventRow | undefined>()
  const generation = useRef(0)

  function run() {
    const gen = ++generation.current
    const now = Date.now()
    const spec = RANGES.find((r) => r.id === range)!
    const start = range === 'custom' ? new Date(customStart) : new Date(now - spec.ms)
    const end = range === 'custom' ? new Date(customEnd) : new Date(now)
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start > end) {
      setError('The custom range needs a start before its end.')
      return
    }
    const q = new URLSearchParams()
    for (const f of filters) if (f.value.trim()) q.append(f.key, f.value.trim())
    q.set('range', range)
    history.replaceState(null, '', `${location.pathname}?${q}`)
    setError('')
    setLoading(true)
    setRows([])
    loadEvents(
      { filters, start, end },
      limit,
      (all, done) => {
        if (gen !== generation.current) return
        setRows(all.slice())
        if (done) setLoading(false)
      },
      () => gen !== generation.current,
    ).catch((err: unknown) => {
      if (gen !== generation.current) return
      setError(errorText(err))
      setLoading(false)
    })
  }

  useEffect(() => {
    run()
    return () => {
      generation.current++
    }
  }, [range, limit])

  const setFilter = (i: number, f: Partial<Filter>) =>
    setFilters(filters.map((x, j) => (i === j ? { ...x, ...f } : x)))

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Event history</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          run()
        }}
      >
        <fieldset>
          <legend>Lookup attributes (all must match)</legend>
          {filters.map((f, i) => (
            <div class="filter-row">
              <select
                aria-label={`Lookup attribute ${i + 1}`}
                value={f.key}
                onChange={(e) => setFilter(i, { key: e.currentTarget.value as AttributeKey })}
              >
                {ATTRIBUTES.map((a) => (
                  <option value={a}>{ATTRIBUTE_LABELS[a]}</option>
                ))}
              </select>
              <input
                aria-label={`Value of lookup attribute ${i + 1}`}
                placeholder={`Enter ${ATTRIBUTE_LABELS[f.key].toLowerCase()}`}
                value={f.value}
                onInput={(e) => setFilter(i, { value: e.currentTarget.value })}
              />
              <button
                type="button"
                class="link"
                aria-label={`Remove lookup attribute ${i + 1}`}
                onClick={() => setFilters(filters.filter((_, j) => j !== i))}
                disabled={filters.length === 1}
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => setFilters([...filters, { key: 'Username', value: '' }])}
          >
            Add filter
          </button>
        </fieldset>
        <fieldset class="range">
          <legend>Time range</legend>
          <div class="segmented" role="radiogroup" aria-label="Time range">
            {RANGES.map((r) => (
              <label class={range === r.id ? 'on' : ''}>
                <input
                  type="radio"
                  name="range"
                  value={r.id}
                  checked={range === r.id}
                  onChange={() => setRange(r.id)}
                />
                {r.label}
              </label>
            ))}
          </div>
          {range === 'custom' && (
            <div class="custom-range">
              <label>
                Start
                <input
                  type="datetime-local"
                  value={customStart}
                  onInput={(e) => setCustomStart(e.currentTarget.value)}
                />
              </label>
              <label>
                End
                <input
                  type="datetime-local"
                  value={customEnd}
                  onInput={(e) => setCustomEnd(e.currentTarget.value)}
                />
              </label>
            </div>
          )}
        </fieldset>
        <div class="actions">
          <label>
            Load up to{' '}
            <select value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))}>
              {LIMITS.map((l) => (
                <option value={l}>{l.toLocaleString('en-US')} events</option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary">
            Search
          </button>
          {loading && (
            <button type="button" onClick={() => (generation.current++, setLoading(false))}>
              Stop
            </button>
          )}
          <button
            type="button"
            disabled={!rows.length}
            onClick={() => download('event_history.csv', 'text/csv', toCsv(rows))}
          >
            Download CSV
          </button>
          <button
            type="button"
            disabled={!rows.length}
            onClick={() => download('event_history.json', 'application/json', toJson(rows))}
          >
            Download JSON
          </button>
        </div>
      </form>
      <p class="status" role="status" aria-live="polite">
        {error ? (
          <span class="error">{error}</span>
        ) : loading ? (
          `Loading… ${rows.length.toLocaleString('en-US')} events so far`
        ) : (
          `${rows.length.toLocaleString('en-US')} ${rows.length === 1 ? 'event' : 'events'}${rows.length >= limit ? ' (limit reached)' : ''}`
        )}
      </p>
      <div class={open ? 'split' : ''}>
        <VirtualTable
          label="Events"
          rows={rows}
          columns={COLUMNS}
          onOpen={(r) => setOpen(r)}
          empty={loading ? 'Loading…' : 'No events match these filters in this time range.'}
        />
        {open && <EventDetail row={open} onClose={() => setOpen(undefined)} />}
      </div>
    </section>
  )
}
