/**
 * @module insights/sink
 * The Insights pipeline sink. It counts management calls into the detector (by eventTime, so live,
 * imported and backfilled events build the same baselines) and turns the detector's Start and End
 * transitions into Insights records, which it appends to the pipeline like any other event (Event
 * History, trail delivery to `CloudTrail-Insight/`, the Lake and later sinks see them).
 *
 * Durability: the detector state and the checkpoint are snapshotted together (atomic JSON write)
 * at most every `snapshotSeconds` and before any Insights record is appended. New records wait in an
 * outbox that is part of the snapshot; a record leaves it when this sink reads it back from the log.
 * After a crash, outbox records not read back by the time the sink has caught up with the log head
 * of the restart are appended again: each Insights event lands in the log once.
 */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Trail } from '../domains/trails/model.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { LogEntry } from '../pipeline/event-log.js'
import type { Sink } from '../pipeline/sink.js'
import type { Clock } from '../shared/clock.js'
import { readJsonFile, writeFileAtomic } from '../shared/json-file.js'
import type { Logger } from '../telemetry/logger.js'
import { Detector, insightTypesOf, type Transition } from './detector.js'
import { insightRecord, isInsightRecord } from './event-builder.js'
import {
  categoryOfKey,
  sourceOfKey,
  type Anomaly,
  type DetectorParams,
  type InsightEventCategory,
  type InsightsSettings,
  type InsightType,
  type SeriesKey,
} from './model.js'

export interface InsightsSinkOptions {
  dir: string
  clock: Clock
  logger: Logger
  trails: { all(): readonly Trail[] }
  /** More owners of Insights besides trails (event data stores); `addScopes` adds them later. */
  scopes?: InsightsScopes[]
  /** Appends records to the pipeline (durably). */
  ingest(records: CloudTrailRecord[]): Promise<number>
  /** The log's next sequence number (its head). */
  logHead(): number
  params?: Partial<DetectorParams>
  snapshotSeconds?: number
}

/**
 * An owner of Insights configurations (trails, event data stores): which views ("sources") count a
 * record, and whether a series' anomalies are emitted. The sink asks every owner the same two
 * questions; the detector keeps one set of series per source.
 */
export interface InsightsScopes {
  /** The sources that count this record: '' is the account's view; an event data store's ARN its own. */
  sourcesOf(r: CloudTrailRecord): readonly string[]
  /** Whether anomalies of the series are emitted as Insights events. */
  enabled(key: SeriesKey): boolean
}

interface Snapshot {
  version: 1
  checkpoint: number
  detector: Record<string, unknown>
  outbox: CloudTrailRecord[]
}

/**
 * Whether a logging trail of the account covering `region` selects the Insights type on the event
 * category (management events unless its selector names categories).
 */
export function insightsEnabled(
  trails: readonly Trail[],
  accountId: string,
  region: string,
  type: InsightType,
  category: InsightEventCategory = 'Management',
): boolean {
  return trails.some(
    (t) =>
      t.accountId === accountId &&
      t.isLogging &&
      (t.isMultiRegionTrail || t.homeRegion === region) &&
      t.insightSelectors.some(
        (s) => s.insightType === type && (s.eventCategories ?? ['Management']).includes(category),
      ),
  )
}

/**
 * Trails' Insights: every record counts in the account's view (source ''), whether or not a trail
 * has Insights on, so turning them on uses the history at once; a series' anomalies are emitted
 * when a logging trail selects its type and category.
 */
export function trailScopes(trails: { all(): readonly Trail[] }): InsightsScopes {
  const ACCOUNT_VIEW = ['']
  return {
    sourcesOf: () => ACCOUNT_VIEW,
    enabled: (k) =>
      sourceOfKey(k) === '' &&
      insightsEnabled(trails.all(), k.accountId, k.region, k.insightType, categoryOfKey(k)),
  }
}

export class InsightsSink implements Sink {
  readonly name = 'insights'
  readonly detector: Detector
  private persisted = 0
  private pendingCheckpoint = 0
  private lastSnapshotAt = 0
  private readonly outbox = new Map<string, CloudTrailRecord>()
  /** Outbox records whose append has not succeeded yet (retried by the next write). */
  private unsent: CloudTrailRecord[] = []
  private reconcileAt: number | undefined
  private chain: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private readonly scopes: InsightsScopes[]

  private constructor(
    private readonly o: InsightsSinkOptions,
    snap: Snapshot | undefined,
  ) {
    this.scopes = [trailScopes(o.trails), ...(o.scopes ?? [])]
    this.detector = new Detector({
      newId: randomUUID,
      ...(o.params ? { params: o.params } : {}),
      enabled: (k) => this.scopes.some((s) => s.enabled(k)),
    })
    if (snap) {
      this.detector.restore(snap.detector)
      this.persisted = this.pendingCheckpoint = snap.checkpoint
      for (const r of snap.outbox) this.outbox.set(r.eventID, r)
      if (this.outbox.size > 0) this.reconcileAt = o.logHead()
    }
  }

  static async open(o: InsightsSinkOptions): Promise<InsightsSink> {
    return new InsightsSink(o, await readJsonFile<Snapshot>(join(o.dir, 'state.json')))
  }

  /** Adds an owner of Insights configurations (before the pipeline starts). */
  addScopes(scopes: InsightsScopes): void {
    this.scopes.push(scopes)
  }

  /** The sources that count a record, over every owner. */
  private sourcesOf(r: CloudTrailRecord): readonly string[] {
    // Usually one owner answers and the others have nothing: no merging on the hot path.
    let out: readonly string[] = []
    let merged: Set<string> | undefined
    for (const s of this.scopes) {
      const got = s.sourcesOf(r)
      if (got.length === 0) continue
      if (out.length === 0) {
        out = got
        continue
      }
      merged ??= new Set(out)
      for (const src of got) merged.add(src)
    }
    return merged ? [...merged] : out
  }

  /** Drops a source's series and open anomalies (its Insights were turned off). */
  forgetSource(source: string): Promise<void> {
    return this.serial(async () => {
      if (this.detector.forgetSource(source) > 0) await this.snapshot()
    })
  }

  // ---- Sink ----

  accepts(r: CloudTrailRecord): boolean {
    return isInsightRecord(r) || insightTypesOf(r).length > 0
  }

  async checkpoint(): Promise<number> {
    return this.persisted
  }

  write(entries: LogEntry[], upTo: number): Promise<void> {
    return this.serial(async () => {
      const transitions: Transition[] = []
      for (const { seq, record } of entries) {
        // A batch retried after a failed append was counted already.
        if (seq < this.pendingCheckpoint) continue
        if (isInsightRecord(record)) {
          this.outbox.delete(record.eventID)
          continue
        }
        transitions.push(...this.detector.observe(record, this.sourcesOf(record)))
      }
      transitions.push(...this.detector.advance(this.nowMinute()))
      this.pendingCheckpoint = Math.max(this.pendingCheckpoint, upTo)
      await this.emit(transitions)
      if (this.reconcileAt !== undefined && upTo >= this.reconcileAt) {
        this.reconcileAt = undefined
        if (this.outbox.size > 0) await this.o.ingest([...this.outbox.values()])
      }
    })
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.serial(() => this.snapshot())
  }

  // ---- time and emission ----

  /** Ends anomalies of live streams as wall-clock minutes close; every 10 s once started. */
  start(): void {
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) =>
        this.o.logger.error({ err: String(err) }, 'Insights tick failed.'),
      )
    }, 10_000)
    this.timer.unref()
  }

  tick(): Promise<void> {
    return this.serial(async () => {
      this.detector.prune()
      await this.emit(this.detector.advance(this.nowMinute()))
    })
  }

  private nowMinute(): number {
    return Math.floor(this.o.clock.now().getTime() / 60_000)
  }

  private async emit(transitions: Transition[]): Promise<void> {
    const records = transitions
      .filter((t) => t.anomaly.emitted)
      .map((t) => insightRecord(t.anomaly, t.state))
    for (const r of records) this.outbox.set(r.eventID, r)
    this.unsent.push(...records)
    const due = Date.now() - this.lastSnapshotAt >= (this.o.snapshotSeconds ?? 10) * 1000
    if (transitions.length > 0 || due) await this.snapshot()
    if (this.unsent.length > 0) {
      await this.o.ingest(this.unsent)
      this.unsent = []
    }
    for (const t of transitions) {
      this.o.logger.info(
        { id: t.anomaly.id, state: t.state, ...t.anomaly.key, emitted: t.anomaly.emitted },
        'Insights anomaly.',
      )
    }
  }

  private async snapshot(): Promise<void> {
    const snap: Snapshot = {
      version: 1,
      checkpoint: this.pendingCheckpoint,
      detector: this.detector.toJSON(),
      outbox: [...this.outbox.values()],
    }
    // Compact JSON: the snapshot holds every series and is written often.
    await writeFileAtomic(join(this.o.dir, 'state.json'), JSON.stringify(snap), 0o600)
    this.persisted = snap.checkpoint
    this.lastSnapshotAt = Date.now()
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }

  // ---- reads and tuning (the API) ----

  anomalies(): Anomaly[] {
    return this.detector.anomalies()
  }

  settings(): InsightsSettings {
    return structuredClone(this.detector.settings)
  }

  putSettings(s: InsightsSettings): Promise<void> {
    return this.serial(async () => {
      this.detector.settings = structuredClone(s)
      await this.snapshot()
    })
  }
}
