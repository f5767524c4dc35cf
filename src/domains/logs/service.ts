/**
 * @module domains/logs/service
 * Log groups, streams and events: the CloudWatch Logs operations OpenTrail serves, in domain terms.
 * Appends go through `append`, used by PutLogEvents and by the trail sink alike, so that metric
 * filters (an `IngestHook`) see every event and commit their datapoints in the same transaction.
 */
import {
  compilePattern,
  type MatchInput,
  MessageInput,
} from '../../monitoring/filter-pattern/compile.js'
import type { Clock } from '../../shared/clock.js'
import { InvalidNextTokenException } from '../../shared/errors.js'
import {
  type GroupScope,
  InvalidParameterException,
  LimitExceededException,
  type LogEvent,
  type LogGroup,
  type LogStream,
  MAX_EVENT_BYTES,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  RETENTION_DAYS,
  type StoredEvent,
  validateGroupName,
  validateStreamName,
} from './model.js'
import type { EventKey, LogStore, StoredValue } from './store.js'

export type GroupRef = GroupScope & { name: string }

/** An event about to be stored, seen as a filter-pattern input (JSON parsed at most once). */
export interface IngestEvent {
  stream: string
  timestamp: number
  input: MatchInput
}

/** What a hook does with a batch: `apply` runs inside the write transaction, `committed` after it. */
export interface IngestEffect {
  apply(): void
  committed(): void
}

export interface IngestHook {
  prepare(group: LogGroup, events: IngestEvent[]): IngestEffect | undefined
  groupDeleted?(group: LogGroup): void
}

export interface AppendBatch {
  group: GroupRef
  stream: string
  events: { timestamp: number; message: string; json?: unknown }[]
}

export const MAX_GROUPS_PER_REGION = 1_000_000
/** How many stored events one FilterLogEvents call reads before it returns a nextToken. */
export const FILTER_SCAN_BUDGET = 200_000

const token = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
function untoken<T>(t: string, check: (v: unknown) => v is T): T {
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(t, 'base64url').toString('utf8'))
  } catch {
    throw InvalidNextTokenException('The specified nextToken is invalid.')
  }
  if (!check(v)) throw InvalidNextTokenException('The specified nextToken is invalid.')
  return v
}
const isCursor = (v: unknown): v is { g: number; t: number; q: number; f: string } =>
  !!v &&
  typeof v === 'object' &&
  typeof (v as { g: unknown }).g === 'number' &&
  typeof (v as { t: unknown }).t === 'number' &&
  typeof (v as { q: unknown }).q === 'number' &&
  typeof (v as { f: unknown }).f === 'string'
const isName = (v: unknown): v is { n: string } =>
  !!v && typeof v === 'object' && typeof (v as { n: unknown }).n === 'string'

function storedEvent(key: EventKey, value: StoredValue): StoredEvent {
  return {
    timestamp: key[1],
    seq: key[2],
    stream: value.s,
    message: value.m,
    ingestionTime: value.i,
  }
}

export class LogsService {
  private hooks: IngestHook[] = []

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
  ) {}

  addHook(h: IngestHook): void {
    this.hooks.push(h)
  }

  // ---- groups ------------------------------------------------------------------------------

  findGroup(ref: GroupRef): LogGroup | undefined {
    return this.store.groups.get([ref.accountId, ref.region, ref.name])
  }

  getGroup(ref: GroupRef): LogGroup {
    const g = this.findGroup(ref)
    if (!g) throw ResourceNotFoundException('The specified log group does not exist.')
    return g
  }

  createLogGroup(
    ref: GroupRef,
    opts: { kmsKeyId?: string; tags?: Record<string, string> } = {},
  ): LogGroup {
    validateGroupName(ref.name)
    return this.store.writeSync(() => {
      if (this.findGroup(ref))
        throw ResourceAlreadyExistsException('The specified log group already exists')
      return this.insertGroup(ref, opts)
    })
  }

  /** Inside a write transaction. */
  private insertGroup(
    ref: GroupRef,
    opts: { kmsKeyId?: string; tags?: Record<string, string> } = {},
  ): LogGroup {
    const g: LogGroup = {
      id: this.store.nextCounter('groupId'),
      accountId: ref.accountId,
      region: ref.region,
      name: ref.name,
      creationTime: this.clock.now().getTime(),
      storedBytes: 0,
      ...(opts.kmsKeyId ? { kmsKeyId: opts.kmsKeyId } : {}),
      ...(opts.tags && Object.keys(opts.tags).length > 0 ? { tags: opts.tags } : {}),
    }
    void this.store.groups.put([ref.accountId, ref.region, ref.name], g)
    return g
  }

  describeLogGroups(
    scope: GroupScope,
    q: { prefix?: string; pattern?: string; limit?: number; nextToken?: string },
  ): { groups: LogGroup[]; nextToken?: string } {
    if (q.prefix !== undefined && q.pattern !== undefined)
      throw InvalidParameterException(
        'LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.',
      )
    const limit = q.limit ?? 50
    const after = q.nextToken ? untoken(q.nextToken, isName).n : undefined
    const out: LogGroup[] = []
    const start = [scope.accountId, scope.region, after ?? q.prefix ?? ''] as [
      string,
      string,
      string,
    ]
    for (const { key, value } of this.store.groups.getRange({ start })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region) break
      if (after !== undefined && key[2] <= after) continue
      if (q.prefix !== undefined && !key[2].startsWith(q.prefix)) {
        if (key[2] > q.prefix) break
        continue
      }
      if (q.pattern !== undefined && !key[2].toLowerCase().includes(q.pattern.toLowerCase()))
        continue
      if (out.length === limit) return { groups: out, nextToken: token({ n: out.at(-1)!.name }) }
      out.push(value)
    }
    return { groups: out }
  }

  async deleteLogGroup(ref: GroupRef): Promise<void> {
    const g = this.getGroup(ref)
    this.store.writeSync(() => {
      void this.store.groups.remove([ref.accountId, ref.region, ref.name])
      for (const h of this.hooks) h.groupDeleted?.(g)
    })
    await this.dropEvents(g.id, Number.MAX_SAFE_INTEGER)
    await this.store.write(() => {
      for (const key of this.store.streams.getKeys({ start: [g.id, ''], end: [g.id + 1, ''] }))
        void this.store.streams.remove(key)
    })
  }

  putRetentionPolicy(ref: GroupRef, days: number): void {
    if (!RETENTION_DAYS.includes(days))
      throw InvalidParameterException(
        `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
      )
    this.updateGroup(ref, (g) => ({ ...g, retentionInDays: days }))
  }

  deleteRetentionPolicy(ref: GroupRef): void {
    this.updateGroup(ref, (g) => {
      const rest = { ...g }
      delete rest.retentionInDays
      return rest
    })
  }

  private updateGroup(ref: GroupRef, fn: (g: LogGroup) => LogGroup): void {
    this.store.writeSync(() => {
      const g = this.getGroup(ref)
      void this.store.groups.put([ref.accountId, ref.region, ref.name], fn(g))
    })
  }

  // ---- streams -----------------------------------------------------------------------------

  createLogStream(ref: GroupRef, name: string): void {
    validateStreamName(name)
    this.store.writeSync(() => {
      const g = this.getGroup(ref)
      if (this.store.streams.get([g.id, name]))
        throw ResourceAlreadyExistsException('The specified log stream already exists')
      void this.store.streams.put([g.id, name], {
        groupId: g.id,
        name,
        creationTime: this.clock.now().getTime(),
        storedBytes: 0,
      })
    })
  }

  async deleteLogStream(ref: GroupRef, name: string): Promise<void> {
    const g = this.getGroup(ref)
    if (!this.store.streams.get([g.id, name]))
      throw ResourceNotFoundException('The specified log stream does not exist.')
    await this.store.write(() => {
      let bytes = 0
      for (const { key, value } of this.store.events.getRange({
        start: [g.id, 0, 0],
        end: [g.id + 1, 0, 0],
      })) {
        if (value.s !== name) continue
        bytes += value.m.length
        void this.store.events.remove(key)
      }
      void this.store.streams.remove([g.id, name])
      const cur = this.findGroup(ref)
      if (cur)
        void this.store.groups.put([ref.accountId, ref.region, ref.name], {
          ...cur,
          storedBytes: Math.max(0, cur.storedBytes - bytes),
        })
    })
  }

  describeLogStreams(
    ref: GroupRef,
    q: {
      prefix?: string
      orderBy?: 'LogStreamName' | 'LastEventTime'
      descending?: boolean
      limit?: number
      nextToken?: string
    },
  ): { streams: LogStream[]; nextToken?: string } {
    const g = this.getGroup(ref)
    if (q.prefix !== undefined && q.orderBy === 'LastEventTime')
      throw InvalidParameterException('Cannot order by LastEventTime with a logStreamNamePrefix.')
    let all = [
      ...this.store.streams
        .getRange({ start: [g.id, ''], end: [g.id + 1, ''] })
        .map((e) => e.value),
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

  // ---- events ------------------------------------------------------------------------------

  /**
   * Stores events durably (one transaction, `extra` included, e.g. a sink checkpoint). Groups and
   * streams missing are created when `create` is set (trail delivery), else it is an error.
   */
  async append(
    batches: AppendBatch[],
    opts: { create: boolean; extra?: () => void },
  ): Promise<number> {
    const now = this.clock.now().getTime()
    const effects: IngestEffect[] = []
    const resolved: { g: LogGroup | undefined; b: AppendBatch }[] = []
    for (const b of batches) {
      const g = this.findGroup(b.group)
      if (!g && !opts.create)
        throw ResourceNotFoundException('The specified log group does not exist.')
      if (g && !opts.create && !this.store.streams.get([g.id, b.stream]))
        throw ResourceNotFoundException('The specified log stream does not exist.')
      resolved.push({ g, b })
      if (g && b.events.length > 0) {
        const evs: IngestEvent[] = b.events.map((e) => ({
          stream: b.stream,
          timestamp: e.timestamp,
          input:
            e.json !== undefined
              ? { message: e.message, json: e.json }
              : new MessageInput(e.message),
        }))
        for (const h of this.hooks) {
          const eff = h.prepare(g, evs)
          if (eff) effects.push(eff)
        }
      }
    }
    let stored = 0
    await this.store.write(() => {
      for (const r of resolved) {
        let g = r.g ?? this.findGroup(r.b.group)
        // A group created by this append has no metric filters yet: no effects to apply.
        g ??= this.insertGroup(r.b.group)
        stored += this.putEvents(g, r.b, now)
      }
      for (const e of effects) e.apply()
      opts.extra?.()
    })
    for (const e of effects) e.committed()
    return stored
  }

  /** Inside a write transaction. */
  private putEvents(g: LogGroup, b: AppendBatch, now: number): number {
    if (b.events.length === 0) return 0
    const key: [number, string] = [g.id, b.stream]
    const s: LogStream = this.store.streams.get(key) ?? {
      groupId: g.id,
      name: b.stream,
      creationTime: now,
      storedBytes: 0,
    }
    let seq = this.store.nextCounter('seq', b.events.length)
    let bytes = 0
    for (const e of b.events) {
      const v: StoredValue = { s: b.stream, m: e.message, i: now }
      void this.store.events.put([g.id, e.timestamp, seq++], v)
      bytes += Buffer.byteLength(e.message)
      s.firstEventTimestamp = Math.min(s.firstEventTimestamp ?? e.timestamp, e.timestamp)
      s.lastEventTimestamp = Math.max(s.lastEventTimestamp ?? e.timestamp, e.timestamp)
    }
    s.lastIngestionTime = now
    s.storedBytes += bytes
    void this.store.streams.put(key, s)
    const cur = this.store.groups.get([g.accountId, g.region, g.name]) ?? g
    void this.store.groups.put([g.accountId, g.region, g.name], {
      ...cur,
      storedBytes: cur.storedBytes + bytes,
    })
    return b.events.length
  }

  /** PutLogEvents: AWS's rules for too old, too new and oversized events. */
  async putLogEvents(
    ref: GroupRef,
    stream: string,
    events: LogEvent[],
  ): Promise<{
    rejected?: {
      tooNewLogEventStartIndex?: number
      tooOldLogEventEndIndex?: number
      expiredLogEventEndIndex?: number
    }
  }> {
    const g = this.getGroup(ref)
    if (!this.store.streams.get([g.id, stream]))
      throw ResourceNotFoundException('The specified log stream does not exist.')
    if (events.length === 0) throw InvalidParameterException('Log events cannot be empty.')
    if (events.length > 10_000)
      throw InvalidParameterException('Log event batch exceeds 10,000 events.')
    let total = 0
    for (const e of events) total += Buffer.byteLength(e.message) + 26
    if (total > 1_048_576)
      throw InvalidParameterException('Log event batch exceeds 1,048,576 bytes.')
    const sorted = events.map((e, i) => ({ ...e, i })).sort((a, b) => a.timestamp - b.timestamp)
    const span = sorted.at(-1)!.timestamp - sorted[0]!.timestamp
    if (span > 24 * 3600_000)
      throw InvalidParameterException(
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      )
    const now = this.clock.now().getTime()
    const tooOld = now - 14 * 86_400_000
    const expired = g.retentionInDays ? now - g.retentionInDays * 86_400_000 : -Infinity
    const tooNew = now + 2 * 3600_000
    const rejected: {
      tooNewLogEventStartIndex?: number
      tooOldLogEventEndIndex?: number
      expiredLogEventEndIndex?: number
    } = {}
    const keep: LogEvent[] = []
    sorted.forEach((e, idx) => {
      if (e.timestamp < expired) rejected.expiredLogEventEndIndex = idx
      else if (e.timestamp < tooOld) rejected.tooOldLogEventEndIndex = idx
      else if (e.timestamp > tooNew) rejected.tooNewLogEventStartIndex ??= idx
      else if (Buffer.byteLength(e.message) <= MAX_EVENT_BYTES)
        keep.push({ timestamp: e.timestamp, message: e.message })
    })
    if (keep.length > 0)
      await this.append([{ group: ref, stream, events: keep }], { create: false })
    return Object.keys(rejected).length > 0 ? { rejected } : {}
  }

  getLogEvents(
    ref: GroupRef,
    stream: string,
    q: {
      startTime?: number
      endTime?: number
      limit?: number
      startFromHead?: boolean
      nextToken?: string
    },
  ): { events: StoredEvent[]; nextForwardToken: string; nextBackwardToken: string } {
    const g = this.getGroup(ref)
    if (!this.store.streams.get([g.id, stream]))
      throw ResourceNotFoundException('The specified log stream does not exist.')
    const limit = q.limit ?? 10_000
    const lo: EventKey = [g.id, q.startTime ?? 0, 0]
    const hi: EventKey = [
      g.id,
      q.endTime !== undefined ? q.endTime + 1 : Number.MAX_SAFE_INTEGER,
      0,
    ]
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
      ? this.store.events.getRange({ start: from ?? lo, end: hi })
      : this.store.events.getRange({ start: from ?? hi, end: lo, reverse: true })
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

  filterLogEvents(
    ref: GroupRef,
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
    const g = this.getGroup(ref)
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
    const end: EventKey = [
      g.id,
      q.endTime !== undefined ? q.endTime + 1 : Number.MAX_SAFE_INTEGER,
      0,
    ]
    const names = q.streamNames ? new Set(q.streamNames) : undefined
    const limit = q.limit ?? 10_000
    const out: StoredEvent[] = []
    let scanned = 0
    for (const { key, value } of this.store.events.getRange({ start, end })) {
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

  /** Events older than each group's retention are deleted. */
  async sweep(): Promise<number> {
    const now = this.clock.now().getTime()
    let n = 0
    for (const { value: g } of this.store.groups.getRange({})) {
      if (!g.retentionInDays) continue
      n += await this.dropEvents(g.id, now - g.retentionInDays * 86_400_000, g)
    }
    return n
  }

  /** Deletes a group's events with timestamp < before, in bounded transactions. */
  private async dropEvents(groupId: number, before: number, g?: LogGroup): Promise<number> {
    let total = 0
    for (;;) {
      const keys = [
        ...this.store.events.getKeys({
          start: [groupId, 0, 0],
          end: [groupId, before, 0],
          limit: 10_000,
        }),
      ]
      if (keys.length === 0) return total
      await this.store.write(() => {
        let bytes = 0
        for (const k of keys) {
          const v = this.store.events.get(k)
          if (v) bytes += Buffer.byteLength(v.m)
          void this.store.events.remove(k)
        }
        if (g) {
          const cur = this.store.groups.get([g.accountId, g.region, g.name])
          if (cur && cur.id === g.id)
            void this.store.groups.put([g.accountId, g.region, g.name], {
              ...cur,
              storedBytes: Math.max(0, cur.storedBytes - bytes),
            })
        }
      })
      total += keys.length
    }
  }

  /** Counts for limits and Prometheus. */
  allGroups(): LogGroup[] {
    return [...this.store.groups.getRange({}).map((e) => e.value)]
  }

  assertGroupLimit(scope: GroupScope): void {
    let n = 0
    for (const { key } of this.store.groups.getRange({
      start: [scope.accountId, scope.region, ''],
    })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region) break
      if (++n >= MAX_GROUPS_PER_REGION) throw LimitExceededException('Resource limit exceeded.')
    }
  }
}
