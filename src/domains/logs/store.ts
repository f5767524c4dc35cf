/**
 * @module domains/logs/store
 * The log store: one LMDB environment (`<data>/logs/`) holding log groups, streams, events, and the
 * monitoring data that must commit with them (metric datapoints, metric filters, alarms; see
 * monitoring/metric-store.ts). Events are keyed `[groupId, timestamp, seq]`, so a time-range scan of
 * a group is one cursor walk and deleting a group or expiring old events is a key-range delete.
 * Every write is one LMDB transaction; a sink's checkpoint commits in the same transaction as its
 * events (decision record 0016).
 */
import { mkdirSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { LogGroup, LogStream } from './model.js'

export interface StoredValue {
  /** stream name */
  s: string
  /** message */
  m: string
  /** ingestion time (ms) */
  i: number
}

export type EventKey = [groupId: number, timestamp: number, seq: number]

export class LogStore {
  readonly groups: Database<LogGroup, [string, string, string]>
  readonly streams: Database<LogStream, [number, string]>
  readonly events: Database<StoredValue, EventKey>
  readonly meta: Database<number, string>

  private constructor(readonly env: RootDatabase) {
    this.groups = env.openDB({ name: 'groups', encoding: 'msgpack' })
    this.streams = env.openDB({ name: 'streams', encoding: 'msgpack' })
    this.events = env.openDB({ name: 'events', encoding: 'msgpack' })
    this.meta = env.openDB({ name: 'meta', encoding: 'msgpack' })
  }

  static open(dir: string): LogStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const env = open({
      path: dir,
      // Virtual address space only; LMDB grows the file as it fills.
      mapSize: 64 * 1024 ** 3,
      maxDbs: 32,
    })
    return new LogStore(env)
  }

  /** Runs `fn` in one write transaction; resolves after the commit is durable. */
  write<T>(fn: () => T): Promise<T> {
    return this.env.transaction(fn)
  }

  /** Synchronous durable transaction, for control-plane calls. */
  writeSync<T>(fn: () => T): T {
    return this.env.transactionSync(fn)
  }

  /** Next value of a counter; call inside a write transaction. */
  nextCounter(name: string, by = 1): number {
    const n = this.meta.get(name) ?? 1
    void this.meta.put(name, n + by)
    return n
  }

  async close(): Promise<void> {
    await this.env.close()
  }
}
