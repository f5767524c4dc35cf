/**
 * @module pipeline/sink
 * The sink contract. A sink MUST make a batch durable before `write` resolves and MUST persist its
 * checkpoint (the next sequence number it needs) atomically with its data, so that after a crash it
 * resumes exactly where its last durable write ended: nothing lost, nothing written twice.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { LogEntry } from './event-log.js'

export interface Sink<T = CloudTrailRecord> {
  readonly name: string
  /** Router predicate: which records this sink wants (trail and store selectors live here). */
  accepts(record: T): boolean
  /** The durable checkpoint: the next sequence number this sink has not yet handled. */
  checkpoint(): Promise<number>
  /**
   * Durably handles `entries` (already filtered by `accepts`) and records `upTo` (the sequence after
   * the last entry read, matched or not) as the new checkpoint.
   */
  write(entries: LogEntry<T>[], upTo: number): Promise<void>
  /**
   * Larger batches for sinks whose cost per batch is high (a Lake load): the pipeline waits until
   * `min` entries are there, `lingerMs` has passed, or someone drains (a query waiting to see
   * them); a batch holds at most `max` entries (default 50,000).
   */
  readonly batching?: { min: number; max: number; lingerMs: number }
  close?(): Promise<void>
}
