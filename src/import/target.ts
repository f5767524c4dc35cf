/**
 * @module import/target
 * Where an import writes. The importer is destination-agnostic: it hands batches of validated
 * records to an ImportTarget, which deduplicates and writes them durably. `PipelineTarget` is the
 * one for OpenTrail's event log (so Event History, trails and every later sink see imported events
 * like any others); a Lake event data store can provide its own target with its own dedupe index.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import { keyBatch, type DedupeIndex } from './dedupe.js'

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
  /**
   * Writes the records whose eventID is new, durably; `timesMs[i]` is record i's eventTime. Two
   * concurrent calls never both write one event.
   */
  write(records: CloudTrailRecord[], timesMs: number[]): Promise<WriteResult>
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

  async write(records: CloudTrailRecord[], timesMs: number[]): Promise<WriteResult> {
    if (records.length === 0) return { written: 0, duplicates: 0 }
    const batch = keyBatch(
      records.map((r) => r.eventID),
      timesMs,
    )
    const lease = await this.index.acquire(batch.hours)
    const fresh = lease.claim(batch)
    const out: CloudTrailRecord[] = []
    for (let i = 0; i < records.length; i++) if (fresh[i]) out.push(records[i]!)
    if (out.length === 0) {
      lease.commit(0)
      return { written: 0, duplicates: records.length }
    }
    try {
      const first = await this.pipeline.ingest(out)
      lease.commit(first + out.length)
    } catch (err) {
      lease.abort()
      throw err
    }
    return { written: out.length, duplicates: records.length - out.length }
  }
}
