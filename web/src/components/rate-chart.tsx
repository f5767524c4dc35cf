/**
 * An Insights anomaly's per-minute rate (uPlot): the observed count, the expected rate and the
 * band up to the detector's upper bound, shaded between expected and upper.
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface SeriesPoint {
  minute: number
  count: number
  expected: number
  upper: number
}

export function RateChart(props: { points: SeriesPoint[]; label: string }) {
  const el = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const host = el.current
    if (!host || props.points.length === 0) return
    const data: uPlot.AlignedData = [
      props.points.map((p) => p.minute / 1000),
      props.points.map((p) => p.count),
      props.points.map((p) => p.expected),
      props.points.map((p) => p.upper),
    ]
    const plot = new uPlot(
      {
        width: Math.max(320, host.clientWidth),
        height: 260,
        series: [
          {},
          { label: 'Calls per minute', stroke: '#d91515', width: 2 },
          { label: 'Expected (baseline)', stroke: '#0972d3', width: 1.5 },
          { label: 'Upper bound', stroke: '#7d8998', dash: [4, 4], width: 1 },
        ],
        bands: [{ series: [3, 2], fill: 'rgba(9, 114, 211, 0.12)' }],
        axes: [{}, { label: 'calls / min' }],
        scales: { x: { time: true } },
      },
      data,
      host,
    )
    return () => plot.destroy()
  }, [props.points])
  return <div ref={el} class="chart" role="img" aria-label={props.label} />
}
