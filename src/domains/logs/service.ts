/**
 * @module domains/logs/service
 * LogsService: the CloudWatch Logs operations OpenTrail serves, in domain terms. It owns log groups
 * (create, describe, delete, retention, the retention sweep) and resolves the group for the stream
 * (streams.ts), event (events.ts) and search (filter-search.ts) operations. Appends go through
 * `append`, used by PutLogEvents and by the trail sink alike, so that metric filters (an
 * `IngestHook`) see every event and commit their datapoints in the same transaction.
 */
import { type MatchInput, MessageInput } from '../../monitoring/filter-pattern/compile.js'
import type { Clock } from '../../shared/clock.js'
import { admitEvents, putEvents, readEvents, type Rejected } from './events.js'
import { filterEvents } from './filter-search.js'
import {
  type GroupScope,
  InvalidParameterException,
  LimitExceededException,
  type LogEvent,
  type LogGroup,
  type LogStream,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  RETENTION_DAYS,
  type StoredEvent,
  validateGroupName,
  validateStreamName,
} from './model.js'
import { isName, token, untoken } from './paging.js'
import type { LogStore } from './store.js'
import { createStream, deleteStream, describeStreams } from './streams.js'

export { FILTER_SCAN_BUDGET } from './filter-search.js'

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
    this.store.writeSync(() =>
      createStream(this.store, this.getGroup(ref), name, this.clock.now().getTime()),
    )
  }

  async deleteLogStream(ref: GroupRef, name: string): Promise<void> {
    await deleteStream(this.store, this.getGroup(ref), name)
  }

  describeLogStreams(
    ref: GroupRef,
    q: Parameters<typeof describeStreams>[2],
  ): { streams: LogStream[]; nextToken?: string } {
    return describeStreams(this.store, this.getGroup(ref), q)
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
        stored += putEvents(this.store, g, r.b.stream, r.b.events, now)
      }
      for (const e of effects) e.apply()
      opts.extra?.()
    })
    for (const e of effects) e.committed()
    return stored
  }

  /** PutLogEvents: AWS's rules for too old, too new and oversized events. */
  async putLogEvents(
    ref: GroupRef,
    stream: string,
    events: LogEvent[],
  ): Promise<{ rejected?: Rejected }> {
    const g = this.getGroup(ref)
    this.assertStream(g, stream)
    const { keep, rejected } = admitEvents(g, events, this.clock.now().getTime())
    if (keep.length > 0)
      await this.append([{ group: ref, stream, events: keep }], { create: false })
    return Object.keys(rejected).length > 0 ? { rejected } : {}
  }

  getLogEvents(
    ref: GroupRef,
    stream: string,
    q: Parameters<typeof readEvents>[3],
  ): { events: StoredEvent[]; nextForwardToken: string; nextBackwardToken: string } {
    const g = this.getGroup(ref)
    this.assertStream(g, stream)
    return readEvents(this.store, g, stream, q)
  }

  filterLogEvents(
    ref: GroupRef,
    q: Parameters<typeof filterEvents>[2],
  ): { events: StoredEvent[]; nextToken?: string } {
    return filterEvents(this.store, this.getGroup(ref), q)
  }

  private assertStream(g: LogGroup, stream: string): void {
    if (!this.store.streams.get([g.id, stream]))
      throw ResourceNotFoundException('The specified log stream does not exist.')
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
