/**
 * @module pipeline/event-log
 * The port every source appends to and every sink reads from. An append resolves only when the
 * records are durable (this is the acknowledgement). Sequence numbers are dense and start at 0.
 */
import type { CloudTrailRecord } from '../events/record.js'

export interface LogEntry<T = CloudTrailRecord> {
  seq: number
  record: T
  /** The record's text exactly as the log stored it (JSON.stringify for CloudTrail records). */
  text?: string
}

export interface EventLog<T = CloudTrailRecord> {
  /** Appends and makes durable; resolves with the sequence number of the first record. */
  append(records: T[]): Promise<number>
  /** Up to `max` entries starting at `from`; waits up to `waitMs` for at least one to exist. */
  read(from: number, max: number, waitMs: number): Promise<LogEntry<T>[]>
  /** The next sequence number to be assigned (= number of records ever appended). */
  next(): number
  /** Lets the log drop whole segments below `seq` (every sink has acknowledged them). */
  release(seq: number): Promise<void>
  close(): Promise<void>
}
