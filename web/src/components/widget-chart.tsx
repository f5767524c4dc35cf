/**
 * A Lake dashboard widget drawn with uPlot: a bar chart over categories or a line chart (a time
 * axis when X holds timestamps), one series per value of the widget's FilterColumn. The axis
 * titles are text beside the canvas, and the data stay available as a table for screen readers.
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { ChartData } from '../lake-dashboards-model'

const COLORS = ['#0972d3', '#d91515', '#037f0c', '#8456ce', '#e07700', '#7d8998', '#00819c']

export function WidgetChart(props: {
  data: ChartData
  kind: 'BarChart' | 'LineChart'
  x: string
  y: string
  label: string
}) {
  const el = useRef<HTMLDivElement>(null)
  const { data, kind } = props
  useEffect(() => {
    const host = el.current
    if (!host) return
    const bars = kind === 'BarChart'
    const n = data.series.length
    const plot = new uPlot(
      {
        width: Math.max(300, host.clientWidth),
        height: 240,
        series: [
          {
            value: (_u, v) =>
              v === null
                ? '-'
                : data.time
                  ? new Date(v * 1000).toISOString()
                  : (data.labels[v] ?? ''),
          },
          ...data.series.map((s, i) => ({
            label: s.name,
            stroke: COLORS[i % COLORS.length]!,
            width: bars ? 1 : 2,
            ...(bars
              ? {
                  fill: `${COLORS[i % COLORS.length]!}cc`,
                  paths: uPlot.paths.bars!({ size: [0.7 / n, 80], align: 0 }),
                  points: { show: false },
                }
              : {}),
          })),
        ],
        scales: {
          x: data.time
            ? {
                time: true,
                // One time bucket: an hour either side, not uPlot's default span of years.
                ...(data.x.length === 1
                  ? { range: (): uPlot.Range.MinMax => [data.x[0]! - 3600, data.x[0]! + 3600] }
                  : {}),
              }
            : { time: false, range: () => [-0.5, Math.max(0.5, data.x.length - 0.5)] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          data.time
            ? {}
            : {
                splits: () => data.x,
                values: (_u, splits) =>
                  splits.map((i) => {
                    const l = data.labels[i] ?? ''
                    return l.length > 14 ? `${l.slice(0, 13)}…` : l
                  }),
                rotate: data.x.length > 6 ? -45 : 0,
                size: data.x.length > 6 ? 90 : 40,
              },
          {},
        ],
        legend: { show: n > 1 || !bars },
      },
      [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData,
      host,
    )
    return () => plot.destroy()
  }, [data, kind])
  return (
    <figure class="widget-chart">
      <div class="axis-y" aria-hidden="true">
        {props.y}
      </div>
      <div ref={el} class="plot" role="img" aria-label={props.label} />
      <figcaption class="axis-x">{props.x}</figcaption>
    </figure>
  )
}
