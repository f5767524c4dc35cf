/**
 * @module domains/logs/sink
 * The pipeline sink that sends a trail's events to its CloudWatch Logs log group
 * (`CloudWatchLogsLogGroupArn`), stream `<account>_CloudTrail_<region>`, one JSON event per log event,
 * as CloudTrail does. Routing is the trail delivery's (`routeRecord`: selectors and logging window,
 * Insights events excluded), so the log group gets exactly the events of the trail's log files.
 * Events and the checkpoint commit in one LMDB transaction (pipeline/sink.ts contract). A log group
 * that does not exist is created on first delivery.
 */
import { routeRecord } from '../../delivery/route.js'
import type { CloudTrailRecord } from '../../events/record.js'
import type { LogEntry } from '../../pipeline/event-log.js'
import type { Sink } from '../../pipeline/sink.js'
import type { Trail } from '../trails/model.js'
import { MAX_EVENT_BYTES, parseGroupArn } from './model.js'
import type { AppendBatch, LogsService } from './service.js'
import type { LogStore } from './store.js'

const CHECKPOINT = 'sink:cloudwatch-logs'
/** Checkpoints of batches that matched nothing are persisted at most this often (nothing to redo). */
const IDLE_CHECKPOINT_MS = 5_000

export class CloudWatchLogsSink implements Sink {
  readonly name = 'cloudwatch-logs'
  private pending: number | undefined
  private lastPersist = 0

  constructor(
    private readonly logs: LogsService,
    private readonly store: LogStore,
    private readonly trails: () => readonly Trail[],
  ) {}

  private targets(): Trail[] {
    return this.trails().filter((t) => t.cloudWatchLogsLogGroupArn && t.cloudWatchLogsRoleArn)
  }

  accepts(record: CloudTrailRecord): boolean {
    const t = this.targets()
    return t.length > 0 && routeRecord(t, record).length > 0
  }

  async checkpoint(): Promise<number> {
    return this.store.meta.get(CHECKPOINT) ?? 0
  }

  async write(entries: LogEntry[], upTo: number): Promise<void> {
    if (entries.length === 0) {
      this.pending = upTo
      if (Date.now() - this.lastPersist > IDLE_CHECKPOINT_MS) await this.persist()
      return
    }
    const trails = this.targets()
    const batches = new Map<string, AppendBatch>()
    for (const { record } of entries) {
      let message: string | undefined
      for (const trail of routeRecord(trails, record)) {
        const group = parseGroupArn(trail.cloudWatchLogsLogGroupArn!)
        if (!group) continue
        message ??= JSON.stringify(record)
        if (Buffer.byteLength(message) > MAX_EVENT_BYTES) break
        const account = record.recipientAccountId || trail.accountId
        const stream = `${account}_CloudTrail_${record.awsRegion}`
        const key = `${group.accountId}\u0000${group.region}\u0000${group.name}\u0000${stream}`
        let b = batches.get(key)
        if (!b) batches.set(key, (b = { group, stream, events: [] }))
        const t = Date.parse(record.eventTime)
        b.events.push({ timestamp: Number.isNaN(t) ? Date.now() : t, message, json: record })
      }
    }
    await this.logs.append([...batches.values()], {
      create: true,
      extra: () => void this.store.meta.put(CHECKPOINT, upTo),
    })
    this.pending = undefined
    this.lastPersist = Date.now()
  }

  private async persist(): Promise<void> {
    const upTo = this.pending
    if (upTo === undefined) return
    await this.store.write(() => {
      if ((this.store.meta.get(CHECKPOINT) ?? 0) < upTo) void this.store.meta.put(CHECKPOINT, upTo)
    })
    this.lastPersist = Date.now()
    if (this.pending === upTo) this.pending = undefined
  }

  async close(): Promise<void> {
    await this.persist()
  }
}
