/**
 * @module domains/logs/events
 * Log events of one stream: writing a batch (stream and group counters kept up to date), the
 * PutLogEvents admission rules (batch size and span; too old, too new, expired and oversized events
 * left out and reported) and GetLogEvents (forward or backward from a time or a token). The caller
 * resolves the group and owns the transactions.
 */
import {
  InvalidParameterException,
  type LogEvent,
  type LogGroup,
  type LogStream,
  MAX_EVENT_BYTES,
  type StoredEvent,
} from './model.js'
import type { EventKey, LogStore, StoredValue } from './store.js'

/** What PutLogEvents reports as left out (indexes into the batch sorted by time). */
export interface Rejected {
  tooNewLogEventStartIndex?: number
  tooOldLogEventEndIndex?: number
  expiredLogEventEndIndex?: number
}

export function storedEvent(key: EventKey, value: StoredValue): StoredEvent {
  return {
    timestamp: key[1],
    seq: key[2],
    stream: value.s,
    message: value.m,
    ingestionTime: value.i,
  }
}

/** Writes a batch of one stream's events; inside a write transaction. Returns the count. */
export function putEvents(
  store: LogStore,
  g: LogGroup,
  stream: string,
  events: readonly LogEvent[],
  now: number,
): number {
  if (events.length === 0) return 0
  const key: [number, string] = [g.id, stream]
  const s: LogStream = store.streams.get(key) ?? {
    groupId: g.id,
    name: stream,
    creationTime: now,
    storedBytes: 0,
  }
  let seq = store.nextCounter('seq', events.length)
  let bytes = 0
  for (const e of events) {
    const v: StoredValue = { s: stream, m: e.message, i: now }
    void store.events.put([g.id, e.timestamp, seq++], v)
    bytes += Buffer.byteLength(e.message)
    s.firstEventTimestamp = Math.min(s.firstEventTimestamp ?? e.timestamp, e.timestamp)
    s.lastEventTimestamp = Math.max(s.lastEventTimestamp ?? e.timestamp, e.timestamp)
  }
  s.lastIngestionTime = now
  s.storedBytes += bytes
  void store.streams.put(key, s)
  const cur = store.groups.get([g.accountId, g.region, g.name]) ?? g
  void store.groups.put([g.accountId, g.region, g.name], {
    ...cur,
    storedBytes: cur.storedBytes + bytes,
  })
  return events.length
}

/** PutLogEvents' checks: throws for a bad batch, else splits it into events to keep and rejects. */
export function admitEvents(
  g: LogGroup,
  events: LogEvent[],
  now: number,
): { keep: LogEvent[]; rejected: Rejected } {
  if (events.length === 0) throw InvalidParameterException('Log events cannot be empty.')
  if (events.length > 10_000)
    throw InvalidParameterException('Log event batch exceeds 10,000 events.')
  let total = 0
  for (const e of events) total += Buffer.byteLength(e.message) + 26
  if (total > 1_048_576) throw InvalidParameterException('Log event batch exceeds 1,048,576 bytes.')
  const sorted = events.map((e, i) => ({ ...e, i })).sort((a, b) => a.timestamp - b.timestamp)
  const span = sorted.at(-1)!.timestamp - sorted[0]!.timestamp
  if (span > 24 * 3600_000)
    throw InvalidParameterException(
      'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
    )
  const tooOld = now - 14 * 86_400_000
  const expired = g.retentionInDays ? now - g.retentionInDays * 86_400_000 : -Infinity
  const tooNew = now + 2 * 3600_000
  const rejected: Rejected = {}
  const keep: LogEvent[] = []
  sorted.forEach((e, idx) => {
    if (e.timestamp < expired) rejected.expiredLogEventEndIndex = idx
    else if (e.timestamp < tooOld) rejected.tooOldLogEventEndIndex = idx
    else if (e.timestamp > tooNew) rejected.tooNewLogEventStartIndex ??= idx
    else if (Buffer.byteLength(e.message) <= MAX_EVENT_BYTES)
      keep.push({ timestamp: e.timestamp, message: e.message })
  })
  return { keep, rejected }
}

/** GetLogEvents over one stream of `g` (the stream must exist). */
export function readEvents(
  store: LogStore,
  g: LogGroup,
  stream: string,
  q: {
    startTime?: number
    endTime?: number
    limit?: number
    startFromHead?: boolean
    nextToken?: string
  },
): { events: StoredEvent[]; nextForwardToken: string; nextBackwardToken: string } {
  const limit = q.limit ?? 10_000
  const lo: EventKey = [g.id, q.startTime ?? 0, 0]
  const hi: EventKey = [g.id, q.endTime !== undefined ? q.endTime + 1 : Number.MAX_SAFE_INTEGER, 0]
  let forward = q.startFromHead ?? false
  let from: EventKey | undefined
  if (q.nextToken) {
    const m = /^([fb])\/(\d+)\/(\d+)$/.exec(q.nextToken)
    if (!m) throw InvalidParameterException('The specified nextToken is invalid.')
    forward = m[1] === 'f'
    from = [g.id, Number(m[2]), Number(m[3])]
  }
  const out: StoredEvent[] = []
  const range = forward
    ? store.events.getRange({ start: from ?? lo, end: hi })
    : store.events.getRange({ start: from ?? hi, end: lo, reverse: true })
  for (const { key, value } of range) {
    if (from && key[1] === from[1] && key[2] === from[2]) continue
    if (value.s !== stream) continue
    out.push(storedEvent(key, value))
    if (out.length >= limit) break
  }
  if (!forward) out.reverse()
  // A direction's token: after the page's edge event; with no events, the token given, the
  // position resumed from, or the end of the time range.
  const edge = (dir: 'f' | 'b', e: StoredEvent | undefined, rangeEnd: number) =>
    e
      ? `${dir}/${e.timestamp}/${e.seq}`
      : q.nextToken?.startsWith(`${dir}/`)
        ? q.nextToken
        : from
          ? `${dir}/${from[1]}/${from[2]}`
          : `${dir}/${rangeEnd}/0`
  return {
    events: out,
    nextForwardToken: edge('f', out.at(-1), lo[1]),
    nextBackwardToken: edge('b', out[0], hi[1]),
  }
}
