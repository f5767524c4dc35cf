/**
 * @module domains/logs/filter-search
 * FilterLogEvents over one log group: a time-range walk of the group's events, narrowed to streams
 * by name or prefix and matched against a filter pattern. A call reads at most
 * `FILTER_SCAN_BUDGET` events; it returns a cursor token bound to the query (group and fingerprint
 * of pattern and time range) when the page is full or the budget is spent.
 */
import { compilePattern, MessageInput } from '../../monitoring/filter-pattern/compile.js'
import { storedEvent } from './events.js'
import { InvalidParameterException, type LogGroup, type StoredEvent } from './model.js'
import { isCursor, token, untoken } from './paging.js'
import type { EventKey, LogStore } from './store.js'

/** How many stored events one FilterLogEvents call reads before it returns a nextToken. */
export const FILTER_SCAN_BUDGET = 200_000

export function filterEvents(
  store: LogStore,
  g: LogGroup,
  q: {
    streamNames?: string[]
    streamPrefix?: string
    startTime?: number
    endTime?: number
    pattern?: string
    limit?: number
    nextToken?: string
  },
): { events: StoredEvent[]; nextToken?: string } {
  if (q.streamNames && q.streamPrefix !== undefined)
    throw InvalidParameterException(
      'logStreamNames and logStreamNamePrefix are mutually exclusive parameters.',
    )
  const pattern = compilePattern(q.pattern ?? '')
  const fingerprint = `${q.pattern ?? ''}|${q.startTime ?? ''}|${q.endTime ?? ''}`
  let start: EventKey = [g.id, q.startTime ?? 0, 0]
  let skipExact: EventKey | undefined
  if (q.nextToken) {
    const c = untoken(q.nextToken, isCursor)
    if (c.g !== g.id || c.f !== fingerprint)
      throw InvalidParameterException('The nextToken does not belong to this query.')
    start = [g.id, c.t, c.q]
    skipExact = start
  }
  const end: EventKey = [g.id, q.endTime !== undefined ? q.endTime + 1 : Number.MAX_SAFE_INTEGER, 0]
  const names = q.streamNames ? new Set(q.streamNames) : undefined
  const limit = q.limit ?? 10_000
  const out: StoredEvent[] = []
  let scanned = 0
  for (const { key, value } of store.events.getRange({ start, end })) {
    if (skipExact && key[1] === skipExact[1] && key[2] === skipExact[2]) continue
    // Over the scan budget: resume at this key. Page full: resume after the last event returned.
    if (++scanned > FILTER_SCAN_BUDGET)
      return {
        events: out,
        nextToken: token({ g: g.id, t: key[1], q: key[2] - 0.5, f: fingerprint }),
      }
    if (out.length >= limit) {
      const last = out.at(-1)!
      return {
        events: out,
        nextToken: token({ g: g.id, t: last.timestamp, q: last.seq, f: fingerprint }),
      }
    }
    if (names && !names.has(value.s)) continue
    if (q.streamPrefix !== undefined && !value.s.startsWith(q.streamPrefix)) continue
    if (!pattern.test(new MessageInput(value.m))) continue
    out.push(storedEvent(key, value))
  }
  return { events: out }
}
