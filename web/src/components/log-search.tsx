/** A log group searched with a filter pattern over a recent time range (FilterLogEvents). */
import { useState } from 'preact/hooks'
import { call, LOGS } from '../api'
import { errorText, fmtTime } from '../util'

export interface LogEvent {
  logStreamName: string
  timestamp: number
  message: string
  eventId: string
}

const RANGES = [
  { label: '30m', ms: 30 * 60_000 },
  { label: '1h', ms: 3_600_000 },
  { label: '12h', ms: 12 * 3_600_000 },
  { label: '1d', ms: 86_400_000 },
]

/** Up to `max` events of `group` since `startTime` matching `pattern` (all when empty). */
export async function filterLogEvents(
  group: string,
  startTime: number,
  pattern: string,
  max = 1000,
): Promise<LogEvent[]> {
  const out: LogEvent[] = []
  let token: string | undefined
  do {
    const r = await call<{ events?: LogEvent[]; nextToken?: string }>(
      'FilterLogEvents',
      {
        logGroupName: group,
        startTime,
        ...(pattern.trim() ? { filterPattern: pattern } : {}),
        ...(token ? { nextToken: token } : {}),
      },
      LOGS,
    )
    out.push(...(r.events ?? []))
    token = r.nextToken
  } while (token && out.length < max)
  return out.slice(0, max)
}

export function LogSearch(props: {
  groups: string[] | undefined
  group: string
  onGroup: (g: string) => void
}) {
  const { groups, group } = props
  const [pattern, setPattern] = useState('')
  const [range, setRange] = useState(RANGES[1]!.ms)
  const [events, setEvents] = useState<LogEvent[] | undefined>()
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function search(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      setEvents(await filterLogEvents(group, Date.now() - range, pattern))
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  return (
    <section class="panel" aria-labelledby="logs-title">
      <header>
        <h2 id="logs-title">Log groups</h2>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!groups ? (
        <p>Loading…</p>
      ) : groups.length === 0 ? (
        <p class="muted">
          No log groups. Send a trail's events to one: the trail's page › CloudWatch Logs › Edit.
        </p>
      ) : (
        <form class="inline" onSubmit={(e) => void search(e)}>
          <label>
            Log group
            <select value={group} onChange={(e) => props.onGroup(e.currentTarget.value)}>
              {groups.map((g) => (
                <option value={g}>{g}</option>
              ))}
            </select>
          </label>
          <label>
            Filter pattern
            <input
              size={40}
              placeholder='{ $.eventName = "ListBuckets" }'
              value={pattern}
              onInput={(e) => setPattern(e.currentTarget.value)}
            />
          </label>
          <label>
            Last
            <select value={range} onChange={(e) => setRange(Number(e.currentTarget.value))}>
              {RANGES.map((r) => (
                <option value={r.ms}>{r.label}</option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={busy}>
            Search log group
          </button>
        </form>
      )}
      {events && (
        <>
          <p role="status" class="status">
            {events.length} matching log events
          </p>
          <table class="grid" aria-label="Log events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Stream</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {events.slice(0, 500).map((ev) => (
                <tr>
                  <td>{fmtTime(ev.timestamp / 1000)}</td>
                  <td>{ev.logStreamName}</td>
                  <td class="message">{ev.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
