/**
 * An alarm's state over the chart's time range as a coloured strip (OK green, ALARM red,
 * INSUFFICIENT_DATA grey), from its StateUpdate history items; the state before the first change in
 * range is that change's old state, or the current state when nothing changed in range.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, CW } from '../api'
import { fmtTime } from '../util'

interface Item {
  Timestamp: number
  HistoryData?: string
}

export interface Segment {
  state: string
  from: number
  to: number
}

/** Segments covering [start, end] (epoch seconds) from state changes sorted oldest first. */
export function segmentsOf(
  changes: { at: number; from: string; to: string }[],
  current: string,
  start: number,
  end: number,
): Segment[] {
  const out: Segment[] = []
  let state = changes[0]?.from ?? current
  let from = start
  for (const c of changes) {
    if (c.at > from) out.push({ state, from, to: c.at })
    state = c.to
    from = Math.max(from, c.at)
  }
  if (end > from) out.push({ state, from, to: end })
  return out
}

export function StateStrip(props: {
  name: string
  current: string
  start: number
  end: number
  refresh: number
}) {
  const [segments, setSegments] = useState<Segment[]>([])
  useEffect(() => {
    call<{ AlarmHistoryItems?: Item[] }>(
      'DescribeAlarmHistory',
      {
        AlarmName: props.name,
        HistoryItemType: 'StateUpdate',
        StartDate: props.start,
        MaxRecords: 100,
        ScanBy: 'TimestampAscending',
      },
      CW,
    )
      .then((r) => {
        const changes = (r.AlarmHistoryItems ?? []).flatMap((h) => {
          try {
            const d = JSON.parse(h.HistoryData ?? '{}') as {
              oldState?: { stateValue?: string }
              newState?: { stateValue?: string }
            }
            return [
              {
                at: h.Timestamp,
                from: d.oldState?.stateValue ?? '',
                to: d.newState?.stateValue ?? '',
              },
            ]
          } catch {
            return []
          }
        })
        setSegments(segmentsOf(changes, props.current, props.start, props.end))
      })
      .catch(() => setSegments([]))
  }, [props.name, props.start, props.end, props.refresh])
  const span = props.end - props.start || 1
  const label = segments.map((s) => `${s.state} from ${fmtTime(s.from)}`).join(', ')
  return (
    <div class="state-strip" role="img" aria-label={`Alarm state: ${label}`}>
      {segments.map((s) => (
        <span
          class={`seg ${s.state}`}
          style={{
            left: `${((s.from - props.start) / span) * 100}%`,
            width: `${((s.to - s.from) / span) * 100}%`,
          }}
          title={`${s.state} ${fmtTime(s.from)} – ${fmtTime(s.to)}`}
        />
      ))}
    </div>
  )
}
