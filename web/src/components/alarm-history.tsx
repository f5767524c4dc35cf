/**
 * An alarm's history (DescribeAlarmHistory, newest first) as a timeline: state changes with their
 * reason, configuration updates, and the outcome of each action (notifications sent or failed).
 */
import { useEffect, useState } from 'preact/hooks'
import { call, CW } from '../api'
import { errorText, fmtTime } from '../util'

interface HistoryItem {
  Timestamp: number
  HistoryItemType: string
  HistorySummary: string
  HistoryData?: string
}

const TYPES = ['', 'StateUpdate', 'ConfigurationUpdate', 'Action']

/** The new state of a StateUpdate item (from its HistoryData), for the timeline's colour. */
function newState(item: HistoryItem): string {
  if (item.HistoryItemType !== 'StateUpdate' || !item.HistoryData) return ''
  try {
    const d = JSON.parse(item.HistoryData) as { newState?: { stateValue?: string } }
    return d.newState?.stateValue ?? ''
  } catch {
    return ''
  }
}

export function AlarmHistory({ name, refresh }: { name: string; refresh: number }) {
  const [items, setItems] = useState<HistoryItem[] | undefined>()
  const [type, setType] = useState('')
  const [error, setError] = useState('')
  useEffect(() => {
    call<{ AlarmHistoryItems?: HistoryItem[] }>(
      'DescribeAlarmHistory',
      {
        AlarmName: name,
        MaxRecords: 100,
        ScanBy: 'TimestampDescending',
        ...(type ? { HistoryItemType: type } : {}),
      },
      CW,
    )
      .then((r) => setItems(r.AlarmHistoryItems ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }, [name, type, refresh])
  return (
    <section class="panel" aria-labelledby="history-title">
      <header>
        <h2 id="history-title">State history</h2>
        <label>
          Show
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {TYPES.map((t) => (
              <option value={t}>{t || 'All items'}</option>
            ))}
          </select>
        </label>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!items ? (
        <p>Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No history.</p>
      ) : (
        <ol class="timeline" aria-label="Alarm history">
          {items.map((h, i) => (
            <li key={i} class={newState(h)}>
              <time dateTime={new Date(h.Timestamp * 1000).toISOString()}>
                {fmtTime(h.Timestamp)}
              </time>
              <strong>{h.HistoryItemType}</strong> {h.HistorySummary}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
