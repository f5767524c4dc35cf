/** The alarms with their state (DescribeAlarms); each name opens the alarm's page. */
import { useEffect, useState } from 'preact/hooks'
import { call, CW } from '../api'
import { linkProps } from '../router'
import { errorText, fmtTime } from '../util'

export interface Alarm {
  AlarmName: string
  AlarmDescription?: string
  StateValue: string
  StateReason?: string
  MetricName?: string
  Namespace?: string
  Statistic?: string
  Period?: number
  EvaluationPeriods?: number
  DatapointsToAlarm?: number
  Threshold?: number
  ComparisonOperator?: string
  TreatMissingData?: string
  ActionsEnabled?: boolean
  AlarmActions?: string[]
  OKActions?: string[]
  InsufficientDataActions?: string[]
  Dimensions?: { Name: string; Value: string }[]
  Unit?: string
  StateUpdatedTimestamp?: number
}

export const alarmPath = (name: string) => `monitoring/alarms/${encodeURIComponent(name)}`

export function AlarmList() {
  const [alarms, setAlarms] = useState<Alarm[] | undefined>()
  const [error, setError] = useState('')
  function load() {
    call<{ MetricAlarms?: Alarm[] }>('DescribeAlarms', {}, CW)
      .then((r) => setAlarms(r.MetricAlarms ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(load, [])
  return (
    <section class="panel" aria-labelledby="alarms-title">
      <header>
        <h2 id="alarms-title">Alarms</h2>
        <a class="button" {...linkProps('monitoring/create-alarm')}>
          Create alarm
        </a>
        <button type="button" onClick={load}>
          Refresh alarms
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
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
              <tr key={a.AlarmName}>
                <td>
                  <a {...linkProps(alarmPath(a.AlarmName))}>{a.AlarmName}</a>
                </td>
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
  )
}
