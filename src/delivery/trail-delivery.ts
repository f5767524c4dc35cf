/**
 * @module delivery/trail-delivery
 * The trail delivery sink. `write` routes each record to the logging trails whose selectors match
 * and appends it to that trail's spool for the record's region, committing the spool lengths and
 * the pipeline checkpoint in one atomic state write. Every delivery interval the open spools are
 * sealed into batches with deterministic object keys (written ahead into the state), then sent as
 * gzipped `{"Records":[...]}` log files. A batch leaves the state only after its object was written,
 * so after a crash it is sent again to the same key: each record lands in exactly one log file per
 * trail. Failed sends retry with exponential backoff, forever, and are reported by GetTrailStatus.
 * After a log file is delivered and recorded, `onLogFileDelivered` (delivery notifications, e.g.
 * a trail's SNS topic) is told the trail, bucket and key.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzip as gzipCb } from 'node:zlib'
import type { Trail } from '../domains/trails/model.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { ObjectStore } from '../objectstore/port.js'
import type { LogEntry } from '../pipeline/event-log.js'
import type { Sink } from '../pipeline/sink.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { HASH_ALGORITHM, sha256Hex } from '../digest/digest-file.js'
import { chainId, DigestWriter, ensureChain } from '../digest/digest-writer.js'
import type { SigningKeyStore } from '../digest/keystore.js'
import { insightFileKey, logFileKey, uniquePart } from './keys.js'
import { insightTrails, logFileMatches, routeRecord } from './route.js'
import { Spool } from './spool.js'
import {
  DeliveryStateStore,
  type DeliveryState,
  type StreamState,
  type TrailDeliveryStatus,
} from './state.js'

/** Off the event loop (libuv's thread pool): a 50 MB batch must not stall requests. */
const gzip = promisify(gzipCb)

/** AWS's limit is 50 MB per (compressed) log file; capping the uncompressed size keeps under it. */
export const DEFAULT_MAX_FILE_BYTES = 50_000_000

export interface TrailDeliveryOptions {
  /** State and spool directory, e.g. `<data-dir>/delivery`. */
  dir: string
  store: ObjectStore
  trails: { all(): readonly Trail[] }
  keys: SigningKeyStore
  clock: Clock
  logger: Logger
  deliveryIntervalSeconds: number
  digestIntervalSeconds: number
  maxFileBytes?: number
  /** Upper bound of the retry backoff (default 5 minutes). */
  maxBackoffMs?: number
  /** Selector routing (the trail domain's `trailMatches`). */
  matches?: (trail: Trail, record: CloudTrailRecord) => boolean
  /**
   * Called once for each log file after it was written and its delivery recorded, with the trail,
   * the bucket and the object keys (one key a file, as AWS notifies per file). The trail's own
   * settings (`snsTopicName`) decide whether anything is sent; `deliveryNotification(bucket, keys)`
   * builds AWS's message body. Delivery neither waits for it nor retries it: errors are logged.
   * A crash between recording the delivery and this call loses that one notification.
   */
  onLogFileDelivered?: (trail: Trail, bucket: string, keys: string[]) => void | Promise<void>
}

/** A stable identity for a trail's delivery state: its ARN and creation time. */
export function trailKeyOf(t: Pick<Trail, 'homeRegion' | 'accountId' | 'name' | 'createdAt'>) {
  const arn = `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.name}`
  return createHash('sha256').update(`${arn}|${t.createdAt}`).digest('hex').slice(0, 16)
}

/** The error code recorded for GetTrailStatus: S3's code when there is one. */
export function errorCode(err: unknown): string {
  const e = err as { Code?: unknown; name?: unknown; code?: unknown; message?: unknown }
  if (typeof e.Code === 'string') return e.Code
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name
  if (typeof e.code === 'string') return e.code
  return typeof e.message === 'string' ? e.message : String(err)
}

/** The message AWS CloudTrail publishes to a trail's SNS topic for a delivered log file. */
export interface DeliveryNotification {
  s3Bucket: string
  s3ObjectKey: string[]
}

export function deliveryNotification(bucket: string, keys: string[]): DeliveryNotification {
  return { s3Bucket: bucket, s3ObjectKey: [...keys] }
}

export class TrailDelivery implements Sink {
  readonly name = 'trail-delivery'
  private readonly matches: (trail: Trail, record: CloudTrailRecord) => boolean
  private readonly maxFileBytes: number
  private readonly digests: DigestWriter
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private nextSealAt = 0
  /** The checkpoint after batches that matched no trail, not yet persisted. */
  private lazyCheckpoint = 0
  private closed = false

  private constructor(
    private readonly o: TrailDeliveryOptions,
    private readonly state: DeliveryStateStore,
    private readonly spool: Spool,
  ) {
    this.matches = o.matches ?? logFileMatches
    this.maxFileBytes = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
    this.digests = new DigestWriter({
      state,
      keys: o.keys,
      store: o.store,
      clock: o.clock,
      logger: o.logger,
      intervalSeconds: o.digestIntervalSeconds,
      backoffMs: (n) => this.backoffMs(n),
      errorCode,
      trailKey: trailKeyOf,
      finalGraceMs: (2 * o.deliveryIntervalSeconds + 3) * 1000,
      streamBusy: (id) => {
        const st = this.state.state.streams[id]
        return Boolean(st && (st.openCount > 0 || st.pending.length > 0))
      },
    })
  }

  static async open(o: TrailDeliveryOptions): Promise<TrailDelivery> {
    const state = await DeliveryStateStore.open(join(o.dir, 'state.json'))
    const spool = new Spool(join(o.dir, 'spool'))
    await spool.recover((trailKey, region) => {
      const st = state.state.streams[`${trailKey}/${region}`]
      if (!st) return undefined
      const gens = new Map<number, number>([[st.openGen, st.openBytes]])
      for (const b of st.pending) gens.set(b.gen, b.bytes)
      return gens
    })
    return new TrailDelivery(o, state, spool)
  }

  // ---- Sink ----

  accepts(record: CloudTrailRecord): boolean {
    const trails = this.o.trails.all()
    return (
      routeRecord(trails, record, this.matches).length > 0 ||
      insightTrails(trails, record).length > 0
    )
  }

  async checkpoint(): Promise<number> {
    return this.state.state.checkpoint
  }

  async write(entries: LogEntry[], upTo: number): Promise<void> {
    if (entries.length === 0) {
      // Nothing for any trail: the checkpoint is persisted lazily (by the next pass), which spares
      // two fsyncs per pipeline batch. After a crash these entries are read and routed again, by
      // the same eventTime-based rules, and again match nothing.
      this.lazyCheckpoint = Math.max(this.lazyCheckpoint, upTo)
      return
    }
    const trails = this.o.trails.all()
    const now = this.o.clock.now()
    await this.state.commit(async (s) => {
      // stream id -> gen -> { at: committed length before this write, lines }
      type Chunk = { at: number; lines: string[] }
      const chunks = new Map<string, Map<number, Chunk>>()
      for (const { seq, record, text } of entries) {
        const routes = [
          ...routeRecord(trails, record, this.matches).map((t) => ({ t, insight: false })),
          ...insightTrails(trails, record).map((t) => ({ t, insight: true })),
        ]
        for (const { t, insight } of routes) {
          const st = ensureStream(s, t, trailKeyOf(t), record.awsRegion, insight)
          const line = (text ?? JSON.stringify(record)) + '\n'
          const len = Buffer.byteLength(line)
          if (st.openCount > 0 && st.openBytes + len > this.maxFileBytes) seal(st, now)
          let gens = chunks.get(st.id)
          if (!gens) chunks.set(st.id, (gens = new Map<number, Chunk>()))
          let chunk = gens.get(st.openGen)
          if (!chunk) gens.set(st.openGen, (chunk = { at: st.openBytes, lines: [] }))
          chunk.lines.push(line)
          st.openBytes += len
          st.openCount += 1
          st.openFirstSeq ??= seq
          const et = record.eventTime
          if (!st.openOldest || et < st.openOldest) st.openOldest = et
          if (!st.openNewest || et > st.openNewest) st.openNewest = et
        }
      }
      for (const [id, gens] of chunks) {
        const st = s.streams[id]!
        for (const [gen, c] of [...gens].sort((a, b) => a[0] - b[0])) {
          const data = Buffer.from(c.lines.join(''))
          await this.spool.append(st.trailKey, spoolRegion(st), gen, c.at, data)
        }
      }
      s.checkpoint = upTo
    })
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    await this.ticking
    try {
      await this.persistCheckpoint()
      await this.sealAll(this.o.clock.now())
      await withTimeout(this.deliverDue(this.o.clock.now(), true), 10_000)
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'Final log delivery at shutdown did not finish.')
    }
  }

  // ---- scheduling ----

  /** Starts the delivery loop (sealing every interval, sending, digests). */
  start(): void {
    this.nextSealAt = this.o.clock.now().getTime() + this.o.deliveryIntervalSeconds * 1000
    const pump = () => {
      if (this.closed) return
      this.timer = setTimeout(() => {
        void this.tick().finally(pump)
      }, 250)
      this.timer.unref()
    }
    pump()
  }

  /** One pass: seal when the interval is up, send what is due, emit due digests. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        await this.persistCheckpoint()
        const now = this.o.clock.now()
        if (now.getTime() >= this.nextSealAt) {
          await this.sealAll(now)
          this.nextSealAt = now.getTime() + this.o.deliveryIntervalSeconds * 1000
        }
        await this.deliverDue(now)
        await this.digests.tick(this.o.trails.all())
      } catch (err) {
        this.o.logger.error({ err: String(err) }, 'Trail delivery pass failed.')
      }
    })().finally(() => {
      this.ticking = undefined
    })
    return this.ticking
  }

  /** Seals and sends everything now, ignoring backoff, then emits due digests (tests, tools). */
  async flush(): Promise<void> {
    await this.ticking
    await this.sealAll(this.o.clock.now())
    await this.deliverDue(this.o.clock.now(), true)
    await this.digests.tick(this.o.trails.all())
  }

  /** Delivery status for GetTrailStatus. */
  status(trail: Trail): TrailDeliveryStatus {
    return this.state.state.status[trailKeyOf(trail)] ?? {}
  }

  /** Records routed but not yet in a delivered log file (tests, health). */
  backlog(): number {
    let n = 0
    for (const st of Object.values(this.state.state.streams)) {
      n += st.openCount + st.pending.reduce((a, b) => a + b.count, 0)
    }
    return n
  }

  private async persistCheckpoint(): Promise<void> {
    const upTo = this.lazyCheckpoint
    if (upTo <= this.state.state.checkpoint) return
    await this.state.commit((s) => {
      s.checkpoint = Math.max(s.checkpoint, upTo)
    })
  }

  private backoffMs(attempts: number): number {
    return Math.min(this.o.maxBackoffMs ?? 300_000, 1000 * 2 ** Math.max(0, attempts - 1))
  }

  private async sealAll(now: Date): Promise<void> {
    const live = new Set(this.o.trails.all().map(trailKeyOf))
    const streams = Object.values(this.state.state.streams)
    const todo = streams.filter(
      (st) => st.openCount > 0 || (st.pending.length === 0 && !live.has(st.trailKey)),
    )
    if (todo.length === 0) return
    await this.state.commit((s) => {
      for (const st of Object.values(s.streams)) {
        if (st.openCount > 0) seal(st, now)
        else if (st.pending.length === 0 && !live.has(st.trailKey)) delete s.streams[st.id]
      }
    })
  }

  /** Sends every due batch: streams in parallel (up to 4), each stream's batches in order. */
  private async deliverDue(now: Date, ignoreBackoff = false): Promise<void> {
    const ids = Object.keys(this.state.state.streams).filter(
      (id) => (this.state.state.streams[id]?.pending.length ?? 0) > 0,
    )
    const drain = async (id: string) => {
      for (;;) {
        const st = this.state.state.streams[id]
        const batch = st?.pending[0]
        if (!st || !batch) return
        const due = !batch.nextAttemptAt || Date.parse(batch.nextAttemptAt) <= now.getTime()
        if (!ignoreBackoff && !due) return
        if (!(await this.send(st, batch))) return
      }
    }
    const workers = Array.from({ length: Math.min(4, ids.length) }, async () => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) await drain(id)
    })
    await Promise.all(workers)
  }

  /** Sends the oldest sealed batch of a stream; true when it was delivered. */
  private async send(st: StreamState, batch: StreamState['pending'][number]): Promise<boolean> {
    let body: Buffer
    try {
      const lines = await this.spool.readLines(st.trailKey, spoolRegion(st), batch.gen, batch.bytes)
      body = Buffer.from(`{"Records":[${lines.join(',')}]}`, 'utf8')
    } catch (err) {
      this.o.logger.error({ stream: st.id, gen: batch.gen, err: String(err) }, 'Spool unreadable.')
      return false
    }
    const attemptAt = this.o.clock.now()
    try {
      await this.o.store.putObject(batch.bucket, batch.key, await gzip(body), {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        ...(batch.kmsKeyId ? { kmsKeyId: batch.kmsKeyId } : {}),
      })
    } catch (err) {
      const code = errorCode(err)
      this.o.logger.warn(
        { bucket: batch.bucket, key: batch.key, err: code },
        'Log delivery failed.',
      )
      await this.state.commit((s) => {
        const b = s.streams[st.id]?.pending[0]
        if (b && b.gen === batch.gen) {
          b.attempts += 1
          b.nextAttemptAt = new Date(attemptAt.getTime() + this.backoffMs(b.attempts)).toISOString()
        }
        const status = (s.status[st.trailKey] ??= {})
        status.latestDeliveryAttemptTime = attemptAt.toISOString()
        status.latestDeliveryError = code
      })
      return false
    }
    const at = this.o.clock.now()
    const trail = this.o.trails.all().find((t) => trailKeyOf(t) === st.trailKey)
    await this.state.commit((s) => {
      const stream = s.streams[st.id]
      if (stream?.pending[0]?.gen === batch.gen) stream.pending.shift()
      const status = (s.status[st.trailKey] ??= {})
      status.latestDeliveryTime = at.toISOString()
      status.latestDeliveryAttemptTime = at.toISOString()
      status.latestDeliveryAttemptSucceeded = at.toISOString()
      delete status.latestDeliveryError
      addToChain(s, st, trail, at, {
        s3Bucket: batch.bucket,
        s3Object: batch.key,
        hashValue: sha256Hex(body),
        hashAlgorithm: HASH_ALGORITHM,
        newestEventTime: batch.newestEventTime,
        oldestEventTime: batch.oldestEventTime,
        deliveredAt: at.toISOString(),
      })
    })
    await this.spool.remove(st.trailKey, spoolRegion(st), batch.gen)
    if (trail) this.notifyDelivered(trail, batch.bucket, batch.key)
    return true
  }

  private notifyDelivered(trail: Trail, bucket: string, key: string): void {
    const hook = this.o.onLogFileDelivered
    if (!hook) return
    const failed = (err: unknown) =>
      this.o.logger.warn(
        { trail: trail.name, bucket, key, err: String(err) },
        'Log file delivery notification failed.',
      )
    try {
      void Promise.resolve(hook(trail, bucket, [key])).catch(failed)
    } catch (err) {
      failed(err)
    }
  }
}

/** The spool folder of a stream: Insights streams use `<region>+insight`. */
const spoolRegion = (st: StreamState) => (st.insight ? `${st.region}+insight` : st.region)

function ensureStream(
  s: DeliveryState,
  t: Trail,
  trailKey: string,
  region: string,
  insight = false,
): StreamState {
  const id = insight ? `${trailKey}/${region}+insight` : `${trailKey}/${region}`
  const st = (s.streams[id] ??= {
    id,
    ...(insight ? { insight: true } : {}),
    trailKey,
    trailArn: `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.name}`,
    trailName: t.name,
    accountId: t.accountId,
    homeRegion: t.homeRegion,
    region,
    destination: { bucket: t.s3BucketName },
    openGen: 0,
    openBytes: 0,
    openCount: 0,
    pending: [],
  })
  st.destination = {
    bucket: t.s3BucketName,
    ...(t.s3KeyPrefix ? { prefix: t.s3KeyPrefix } : {}),
    ...(t.kmsKeyId ? { kmsKeyId: t.kmsKeyId } : {}),
  }
  return st
}

/** Turns the open generation into a sealed batch with its final object key; opens the next one. */
function seal(st: StreamState, now: Date): void {
  const d = st.destination
  st.pending.push({
    gen: st.openGen,
    bytes: st.openBytes,
    count: st.openCount,
    bucket: d.bucket,
    key: (st.insight ? insightFileKey : logFileKey)(
      { prefix: d.prefix, accountId: st.accountId, region: st.region },
      now,
      uniquePart(`${st.id}/${st.openGen}/${st.openFirstSeq ?? ''}`),
    ),
    ...(d.kmsKeyId ? { kmsKeyId: d.kmsKeyId } : {}),
    sealedAt: now.toISOString(),
    oldestEventTime: st.openOldest ?? '',
    newestEventTime: st.openNewest ?? '',
    attempts: 0,
  })
  st.openGen += 1
  st.openBytes = 0
  st.openCount = 0
  delete st.openFirstSeq
  delete st.openOldest
  delete st.openNewest
}

function addToChain(
  s: DeliveryState,
  st: StreamState,
  trail: Trail | undefined,
  now: Date,
  file: DeliveryState['chains'][string]['logFiles'][number],
): void {
  if (st.insight) return // digest files cover log files, not Insights files
  const id = chainId(st.trailKey, st.region)
  let chain = s.chains[id]
  if (!chain && trail?.logFileValidationEnabled) {
    chain = ensureChain(s, trail, st.trailKey, st.region, now)
  }
  chain?.logFiles.push(file)
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms)
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}
