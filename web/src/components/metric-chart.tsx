/**
 * An alarm's metric (GetMetricStatistics with the alarm's statistic and period) over a recent
 * range, drawn with uPlot with the threshold as a dashed line; the datapoints are also listed in a
 * table for screen readers and copying.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { call, CW } from '../api'
import { errorText, fmtTime } from '../util'
import type { Alarm } from './alarm-list'
import { StateStrip } from './state-strip'

const RANGES = [
  { label: '1h', s: 3600 },
  { label: '3h', s: 3 * 3600 },
  { label: '12h', s: 12 * 3600 },
  { label: '1d', s: 86400 },
  { label: '1w', s: 7 * 86400 },
]

interface Datapoint {
  Timestamp: number
  [stat: string]: number | string
}

/**
 * One value per period from `start` (a multiple of the period) to `end`, null where the metric
 * had no datapoint; each datapoint goes to the period holding its timestamp.
 */
export function alignSeries(
  points: Datapoint[],
  stat: string,
  period: number,
  start: number,
  end: number,
): [number[], (number | null)[]] {
  const xs: number[] = []
  for (let t = start; t <= end; t += period) xs.push(t)
  const ys: (number | null)[] = xs.map(() => null)
  for (const p of points) {
    const i = Math.floor((p.Timestamp - start) / period)
    if (i >= 0 && i < ys.length) ys[i] = Number(p[stat])
  }
  return [xs, ys]
}

/** The chart's first period: `range` before now, on a period boundary (as alarms evaluate). */
const startOf = (end: number, range: number, period: number) =>
  Math.floor((end - Math.min(range, period * 1440)) / period) * period

export function MetricChart({ alarm, refresh }: { alarm: Alarm; refresh: number }) {
  const [range, setRange] = useState(RANGES[0]!.s)
  const [points, setPoints] = useState<Datapoint[] | undefined>()
  const [error, setError] = useState('')
  const el = useRef<HTMLDivElement>(null)
  const stat = alarm.Statistic ?? 'Sum'
  const period = alarm.Period ?? 60
  const [end, setEnd] = useState(() => Math.floor(Date.now() / 1000))
  /** The plot area in CSS pixels, so the state strip lines up with the time axis. */
  const [box, setBox] = useState({ left: 0, width: 0 })
  const metricKey = JSON.stringify([
    alarm.Namespace,
    alarm.MetricName,
    alarm.Dimensions,
    stat,
    period,
    alarm.Threshold,
  ])

  useEffect(() => {
    const now = Math.floor(Date.now() / 1000)
    setEnd(now)
    // At most 1,440 periods (GetMetricStatistics' datapoint limit), aligned like the alarm's.
    const start = startOf(now, range, period)
    call<{ Datapoints?: Datapoint[] }>(
      'GetMetricStatistics',
      {
        Namespace: alarm.Namespace,
        MetricName: alarm.MetricName,
        ...(alarm.Dimensions?.length ? { Dimensions: alarm.Dimensions } : {}),
        StartTime: start,
        EndTime: now + period,
        Period: period,
        Statistics: [stat],
      },
      CW,
    )
      .then((r) => {
        setError('')
        setPoints((r.Datapoints ?? []).sort((a, b) => a.Timestamp - b.Timestamp))
      })
      .catch((e: unknown) => setError(errorText(e)))
    // The alarm object is new on every refresh of the page; only its metric settings matter here.
  }, [metricKey, range, refresh])

  useEffect(() => {
    const host = el.current
    if (!host || !points) return
    const start = startOf(end, range, period)
    const [xs, ys] = alignSeries(points, stat, period, start, end)
    const threshold = xs.map(() => alarm.Threshold ?? 0)
    const plot = new uPlot(
      {
        width: Math.max(320, host.clientWidth),
        height: 260,
        series: [
          {},
          {
            label: `${alarm.MetricName} (${stat}, ${period / 60} min)`,
            stroke: '#0972d3',
            width: 2,
            points: { show: true, size: 5 },
            spanGaps: false,
          },
          {
            label: `Threshold ${alarm.Threshold}`,
            stroke: '#d91515',
            dash: [6, 4],
            width: 1.5,
            points: { show: false },
          },
        ],
        axes: [{}, { label: stat }],
        hooks: {
          // Once laid out: the plot area, for the state strip.
          ready: [
            (u) => {
              const over = u.over.getBoundingClientRect()
              setBox({ left: over.left - host.getBoundingClientRect().left, width: over.width })
            },
          ],
        },
        scales: {
          // The whole range, as the state strip below spans it.
          x: { time: true, range: () => [start, end] },
          // From 0 (or below) to above both the data and the threshold.
          y: {
            range: (_u, min, max) => {
              const hi = Math.max(max ?? 0, alarm.Threshold ?? 0)
              return [Math.min(0, min ?? 0), hi > 0 ? hi * 1.2 : 1]
            },
          },
        },
      },
      [xs, ys, threshold],
      host,
    )
    return () => plot.destroy()
  }, [points])

  return (
    <section class="panel" aria-labelledby="chart-title">
      <header>
        <h2 id="chart-title">Metric</h2>
        <label>
          Chart range
          <select value={range} onChange={(e) => setRange(Number(e.currentTarget.value))}>
            {RANGES.map((r) => (
              <option value={r.s}>{r.label}</option>
            ))}
          </select>
        </label>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div
        ref={el}
        class="chart"
        role="img"
        aria-label={`${alarm.Namespace}/${alarm.MetricName} ${stat} per ${period} s, threshold ${alarm.Threshold}`}
      />
      {box.width > 0 && (
        <div style={{ marginLeft: `${box.left}px`, width: `${box.width}px` }}>
          <StateStrip
            name={alarm.AlarmName}
            current={alarm.StateValue}
            start={startOf(end, range, period)}
            end={end}
            refresh={refresh}
          />
        </div>
      )}
      {points && (
        <details>
          <summary>
            {points.length} datapoint{points.length === 1 ? '' : 's'}
          </summary>
          <table class="grid" aria-label="Datapoints">
            <thead>
              <tr>
                <th scope="col">Period start</th>
                <th scope="col">{stat}</th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr key={p.Timestamp}>
                  <td>{fmtTime(p.Timestamp)}</td>
                  <td>{String(p[stat])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  )
}
