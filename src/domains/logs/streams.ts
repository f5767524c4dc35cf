/**
 * @module domains/logs/streams
 * Log streams of one log group: CreateLogStream, DeleteLogStream (its events go with it, and the
 * group's stored bytes shrink) and DescribeLogStreams (by name or by last event time, paged by
 * offset). The caller resolves the group; these functions work on the log store.
 */
import { InvalidNextTokenException } from '../../shared/errors.js'
import {
  InvalidParameterException,
  type LogGroup,
  type LogStream,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from './model.js'
import { isName, token, untoken } from './paging.js'
import type { LogStore } from './store.js'

/** Inside a write transaction. */
export function createStream(store: LogStore, g: LogGroup, name: string, now: number): void {
  if (store.streams.get([g.id, name]))
    throw ResourceAlreadyExistsException('The specified log stream already exists')
  void store.streams.put([g.id, name], { groupId: g.id, name, creationTime: now, storedBytes: 0 })
}

export async function deleteStream(store: LogStore, g: LogGroup, name: string): Promise<void> {
  if (!store.streams.get([g.id, name]))
    throw ResourceNotFoundException('The specified log stream does not exist.')
  await store.write(() => {
    let bytes = 0
    for (const { key, value } of store.events.getRange({
      start: [g.id, 0, 0],
      end: [g.id + 1, 0, 0],
    })) {
      if (value.s !== name) continue
      bytes += Buffer.byteLength(value.m)
      void store.events.remove(key)
    }
    void store.streams.remove([g.id, name])
    const cur = store.groups.get([g.accountId, g.region, g.name])
    if (cur)
      void store.groups.put([g.accountId, g.region, g.name], {
        ...cur,
        storedBytes: Math.max(0, cur.storedBytes - bytes),
      })
  })
}

export function describeStreams(
  store: LogStore,
  g: LogGroup,
  q: {
    prefix?: string
    orderBy?: 'LogStreamName' | 'LastEventTime'
    descending?: boolean
    limit?: number
    nextToken?: string
  },
): { streams: LogStream[]; nextToken?: string } {
  if (q.prefix !== undefined && q.orderBy === 'LastEventTime')
    throw InvalidParameterException('Cannot order by LastEventTime with a logStreamNamePrefix.')
  let all = [
    ...store.streams.getRange({ start: [g.id, ''], end: [g.id + 1, ''] }).map((e) => e.value),
  ]
  if (q.prefix !== undefined) all = all.filter((s) => s.name.startsWith(q.prefix!))
  if (q.orderBy === 'LastEventTime')
    all.sort(
      (a, b) =>
        (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0) || (a.name < b.name ? -1 : 1),
    )
  if (q.descending) all.reverse()
  const offset = q.nextToken ? untoken(q.nextToken, isName).n : undefined
  const start = offset !== undefined ? Number(offset) : 0
  if (!Number.isInteger(start) || start < 0)
    throw InvalidNextTokenException('The specified nextToken is invalid.')
  const limit = q.limit ?? 50
  const page = all.slice(start, start + limit)
  return {
    streams: page,
    ...(start + limit < all.length ? { nextToken: token({ n: String(start + limit) }) } : {}),
  }
}
