/**
 * Monitoring: log groups (the trail's CloudWatch Logs delivery) searched with a filter pattern
 * (FilterLogEvents), and the alarms with their state (DescribeAlarms). OpenTrail's own CloudWatch
 * Logs and CloudWatch APIs, called as the signed-in user.
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { errorText, fmtTime } from '../util'

const LOGS = 'Logs_20140328'
const CW = 'GraniteServiceVersion20100801'

interface LogEvent {
  logStreamName: string
  timestamp: number
  message: string
  eventId: string
}

interface Alarm {
  AlarmName: string
  StateValue: string
  StateReason?: string
  MetricName?: string
  Namespace?: string
  StateUpdatedTimestamp?: number
}

const RANGES = [
  { label: '30m', ms: 30 * 60_000 },
  { label: '1h', ms: 3_600_000 },
  { label: '12h', ms: 12 * 3_600_000 },
  { label: '1d', ms: 86_400_000 },
]

export function Monitoring() {
  const [groups, setGroups] = useState<string[] | undefined>()
  const [group, setGroup] = useState('')
  const [pattern, setPattern] = useState('')
  const [range, setRange] = useState(RANGES[1]!.ms)
  const [events, setEvents] = useState<LogEvent[] | undefined>()
  const [alarms, setAlarms] = useState<Alarm[] | undefined>()
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  function loadAlarms() {
    call<{ MetricAlarms?: Alarm[] }>('DescribeAlarms', {}, CW)
      .then((r) => setAlarms(r.MetricAlarms ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(() => {
    call<{ logGroups?: { logGroupName: string }[] }>('DescribeLogGroups', {}, LOGS)
      .then((r) => {
        const names = (r.logGroups ?? []).map((g) => g.logGroupName)
        setGroups(names)
        setGroup(names[0] ?? '')
      })
      .catch((e: unknown) => setError(errorText(e)))
    loadAlarms()
  }, [])

  async function search(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      const out: LogEvent[] = []
      let token: string | undefined
      do {
        const r = await call<{ events?: LogEvent[]; nextToken?: string }>(
          'FilterLogEvents',
          {
            logGroupName: group,
            startTime: Date.now() - range,
            ...(pattern.trim() ? { filterPattern: pattern } : {}),
            ...(token ? { nextToken: token } : {}),
          },
          LOGS,
        )
        out.push(...(r.events ?? []))
        token = r.nextToken
      } while (token && out.length < 1000)
      setEvents(out)
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  return (
    <section aria-labelledby="mon-title">
      <h1 id="mon-title">Monitoring</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section class="panel" aria-labelledby="logs-title">
        <header>
          <h2 id="logs-title">Log groups</h2>
        </header>
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
              <select value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
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
      <section class="panel" aria-labelledby="alarms-title">
        <header>
          <h2 id="alarms-title">Alarms</h2>
          <button type="button" onClick={loadAlarms}>
            Refresh alarms
          </button>
        </header>
        {!alarms ? (
          <p>Loading…</p>
        ) : alarms.length === 0 ? (
          <p class="muted">No alarms.</p>
        ) : (
          <table class="grid" aria-label="Alarms">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Metric</th>
                <th scope="col">Since</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {alarms.map((a) => (
                <tr>
                  <td>{a.AlarmName}</td>
                  <td class={a.StateValue === 'ALARM' ? 'bad' : a.StateValue === 'OK' ? 'ok' : ''}>
                    {a.StateValue}
                  </td>
                  <td>
                    {a.Namespace}/{a.MetricName}
                  </td>
                  <td>{fmtTime(a.StateUpdatedTimestamp)}</td>
                  <td>{a.StateReason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  )
}
