/**
 * Insights: the anomalies (open and recent) and, per anomaly, its rate chart with the baseline
 * band and its attributions (top users, user agents and error codes, in the anomaly and in the
 * baseline). Data from OpenTrail's Insights API (OpenTrailInsights_20250601).
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { RateChart, type SeriesPoint } from '../components/rate-chart'
import { errorText, fmtTime, toDate } from '../util'

const PREFIX = 'OpenTrailInsights_20250601'

interface Anomaly {
  AnomalyId: string
  State: string
  EventSource: string
  EventName: string
  InsightType: string
  ErrorCode?: string
  StartTime?: number
  EndTime?: number
  Score?: number
  BaselineAverage?: number
  InsightAverage?: number
  InsightDuration?: number
  Attributions?: {
    Attribute: string
    Insight: { Value: string; Average: number }[]
    Baseline: { Value: string; Average: number }[]
  }[]
  Series?: { Minute: number; Count: number; Expected: number; Upper: number }[]
}

const fixed = (n: number | undefined, d = 4) =>
  n === undefined ? '-' : Number(n.toFixed(d)).toString()

export function Insights() {
  const [state, setState] = useState('')
  const [list, setList] = useState<Anomaly[] | undefined>()
  const [open, setOpen] = useState<Anomaly | undefined>()
  const [error, setError] = useState('')

  useEffect(() => {
    setList(undefined)
    call<{ Anomalies?: Anomaly[] }>('ListInsightsAnomalies', state ? { State: state } : {}, PREFIX)
      .then((r) => setList(r.Anomalies ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }, [state])

  async function show(id: string) {
    try {
      const r = await call<{ Anomaly: Anomaly }>('GetInsightsAnomaly', { AnomalyId: id }, PREFIX)
      setOpen(r.Anomaly)
    } catch (e) {
      setError(errorText(e))
    }
  }

  const points: SeriesPoint[] = (open?.Series ?? []).map((p) => ({
    minute: toDate(p.Minute)?.getTime() ?? 0,
    count: p.Count,
    expected: p.Expected,
    upper: p.Upper,
  }))

  return (
    <section aria-labelledby="insights-title">
      <h1 id="insights-title">Insights</h1>
      <p class="lead">
        Unusual API call rates and error rates, against each API's own baseline. Turn Insights on
        per trail (Log events › Insights events).
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <label>
        State{' '}
        <select value={state} onChange={(e) => setState(e.currentTarget.value)}>
          <option value="">All</option>
          <option value="OPEN">Open</option>
          <option value="CLOSED">Closed</option>
        </select>
      </label>
      {!list ? (
        <p>Loading…</p>
      ) : list.length === 0 ? (
        <p class="muted" role="status">
          No Insights anomalies.
        </p>
      ) : (
        <table class="grid" aria-label="Insights anomalies">
          <thead>
            <tr>
              <th scope="col">Event name</th>
              <th scope="col">Event source</th>
              <th scope="col">Insight type</th>
              <th scope="col">State</th>
              <th scope="col">Start</th>
              <th scope="col">End</th>
              <th scope="col">Baseline / min</th>
              <th scope="col">Insight / min</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr>
                <td>
                  <button type="button" class="link" onClick={() => void show(a.AnomalyId)}>
                    {a.EventName}
                  </button>
                </td>
                <td>{a.EventSource}</td>
                <td>
                  {a.InsightType}
                  {a.ErrorCode ? ` (${a.ErrorCode})` : ''}
                </td>
                <td class={a.State === 'OPEN' ? 'bad' : ''}>{a.State}</td>
                <td>{fmtTime(a.StartTime)}</td>
                <td>{fmtTime(a.EndTime)}</td>
                <td>{fixed(a.BaselineAverage)}</td>
                <td>{fixed(a.InsightAverage)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <section class="panel" aria-labelledby="anomaly-title">
          <header>
            <h2 id="anomaly-title">
              {open.EventName} · {open.InsightType}
            </h2>
            <button type="button" onClick={() => setOpen(undefined)}>
              Close
            </button>
          </header>
          <dl class="summary">
            <dt>Event source</dt>
            <dd>{open.EventSource}</dd>
            <dt>Start / end</dt>
            <dd>
              {fmtTime(open.StartTime)} – {fmtTime(open.EndTime)}
            </dd>
            <dt>Baseline average</dt>
            <dd>{fixed(open.BaselineAverage)} per minute</dd>
            <dt>Insight average</dt>
            <dd>{fixed(open.InsightAverage)} per minute</dd>
            <dt>Duration</dt>
            <dd>{open.InsightDuration ?? '-'} minutes</dd>
          </dl>
          <RateChart
            points={points}
            label={`Calls per minute of ${open.EventName} with the expected rate and its band`}
          />
          <h3>Attributions</h3>
          {(open.Attributions ?? []).map((at) => (
            <table class="grid" aria-label={`Attribution by ${at.Attribute}`}>
              <thead>
                <tr>
                  <th scope="col">{at.Attribute}</th>
                  <th scope="col">Insight average</th>
                  <th scope="col">Baseline average</th>
                </tr>
              </thead>
              <tbody>
                {at.Insight.map((v) => (
                  <tr>
                    <td>{v.Value}</td>
                    <td>{fixed(v.Average)}</td>
                    <td>{fixed(at.Baseline.find((b) => b.Value === v.Value)?.Average ?? 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ))}
        </section>
      )}
    </section>
  )
}
