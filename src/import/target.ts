/**
 * @module import/target
 * Where an import writes. The importer is destination-agnostic: it hands batches of validated
 * records to an ImportTarget, which deduplicates and writes them durably. `PipelineTarget` is the
 * one for OpenTrail's event log (so Event History, trails and every later sink see imported events
 * like any others); a Lake event data store can provide its own target with its own dedupe index.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import { hourOf, type DedupeIndex } from './dedupe.js'

/**
 * A batch of validated events: their dedupe keys (4 words each, import/keys.ts) and eventTimes up
 * front, the records themselves on demand, so a destination parses only the new ones.
 */
export interface ImportBatch {
  readonly length: number
  readonly keys: Uint32Array
  readonly timesMs: ArrayLike<number>
  record(i: number): CloudTrailRecord
  /** The record's JSON text (one line). */
  text(i: number): string
}

/** An ImportBatch over records' JSON texts (parsed on demand). */
export class TextBatch implements ImportBatch {
  constructor(
    readonly texts: string[],
    readonly timesMs: Float64Array,
    readonly keys: Uint32Array,
  ) {}

  get length(): number {
    return this.texts.length
  }

  record(i: number): CloudTrailRecord {
    return JSON.parse(this.texts[i]!) as CloudTrailRecord
  }

  text(i: number): string {
    return this.texts[i]!
  }
}

export interface WriteResult {
  written: number
  duplicates: number
}

export interface ImportTarget {
  /** Shown in messages, e.g. "Event History". */
  readonly description: string
  /** Days after which the destination drops events by their eventTime; undefined: never. */
  retentionDays(): number | undefined
  /** Resolves once deduplication reflects every event already durable in the destination. */
  ready(): Promise<void>
  /** Writes the events whose key is new, durably. Two concurrent calls never both write one. */
  write(batch: ImportBatch): Promise<WriteResult>
}

export class PipelineTarget implements ImportTarget {
  readonly description = 'Event History'

  constructor(
    private readonly pipeline: Pipeline,
    private readonly index: DedupeIndex,
    private readonly retention: () => number | undefined,
  ) {}

  retentionDays(): number | undefined {
    return this.retention()
  }

  async ready(): Promise<void> {
    const head = Math.max(0, ...this.pipeline.status().map((s) => s.checkpoint + s.lag))
    await this.index.waitPersisted(head)
  }

  async write(batch: ImportBatch): Promise<WriteResult> {
    const n = batch.length
    if (n === 0) return { written: 0, duplicates: 0 }
    const hours = new Array<number>(n)
    for (let i = 0; i < n; i++) hours[i] = hourOf(batch.timesMs[i]!)
    const lease = await this.index.acquire(hours)
    const fresh = lease.claim({ keys: batch.keys, hours })
    const out: CloudTrailRecord[] = []
    try {
      for (let i = 0; i < n; i++) if (fresh[i]) out.push(batch.record(i))
    } catch (err) {
      lease.abort()
      throw err
    }
    if (out.length === 0) {
      lease.commit(0)
      return { written: 0, duplicates: n }
    }
    try {
      const first = await this.pipeline.ingest(out)
      lease.commit(first + out.length)
    } catch (err) {
      lease.abort()
      throw err
    }
    return { written: out.length, duplicates: n - out.length }
  }
}
