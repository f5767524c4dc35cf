/**
 * @module storage/history-port
 * Event history: the store behind LookupEvents. Domains see only this interface.
 */

export type LookupAttributeKey =
  | 'EventId'
  | 'EventName'
  | 'ReadOnly'
  | 'Username'
  | 'ResourceType'
  | 'ResourceName'
  | 'EventSource'
  | 'AccessKeyId'

export interface LookupQuery {
  accountId: string
  region: string
  category: 'management' | 'insight'
  start: Date
  end: Date
  /** ANDed together (OpenTrail extension; AWS accepts one). */
  attributes: { key: LookupAttributeKey; value: string }[]
  limit: number
  /** Exclusive cursor: continue strictly after this (time, seq) position, newest first. */
  after?: { timeMs: number; seq: number }
}

export interface HistoryRow {
  seq: number
  timeMs: number
  body: string
}

export interface HistoryStore {
  lookup(q: LookupQuery): Promise<HistoryRow[]>
  /** Deletes events older than the cutoff; returns how many went. */
  expire(before: Date): Promise<number>
  count(): Promise<number>
}
