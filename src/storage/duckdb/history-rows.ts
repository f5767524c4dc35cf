/**
 * @module storage/duckdb/history-rows
 * One event as the `history` table holds it: the columns (scope and lookup attributes, resource
 * types and names between separators), the Username attribute as AWS derives it, which records
 * Event History keeps, a row's CSV line for `read_csv`, and the Bloom keys a row adds to its block.
 */
import type { CloudTrailRecord } from '../../events/record.js'
import type { LookupAttributeKey } from '../history-port.js'
import { attrPrefix, type Bloom } from './block-index.js'

export const COLUMN: Record<LookupAttributeKey, string> = {
  EventId: 'event_id',
  EventName: 'event_name',
  ReadOnly: 'read_only',
  Username: 'username',
  EventSource: 'event_source',
  AccessKeyId: 'access_key_id',
  ResourceType: 'resource_types',
  ResourceName: 'resource_names',
}

/** Short attribute codes in Bloom keys. */
export const CODE: Record<LookupAttributeKey, string> = {
  EventId: 'I',
  EventName: 'N',
  ReadOnly: 'R',
  Username: 'U',
  EventSource: 'S',
  AccessKeyId: 'K',
  ResourceType: 'T',
  ResourceName: 'A',
}

/** Separator around each resource type / name in the resource columns. */
export const SEP = '\u001f'

export const HISTORY_COLUMNS = `
  seq BIGINT NOT NULL,
  t BIGINT NOT NULL,
  account VARCHAR NOT NULL,
  region VARCHAR NOT NULL,
  category VARCHAR NOT NULL,
  event_id VARCHAR,
  event_name VARCHAR,
  event_source VARCHAR,
  username VARCHAR,
  access_key_id VARCHAR,
  read_only VARCHAR,
  resource_types VARCHAR,
  resource_names VARCHAR`

export const CSV_COLUMNS = `{${HISTORY_COLUMNS.split(',')
  .map((c) => c.trim().split(/\s+/))
  .map(([name, type]) => `'${name}': '${type}'`)
  .join(', ')}}`

/** The Username lookup attribute as AWS derives it from userIdentity. */
export function usernameOf(r: CloudTrailRecord): string {
  const u = r.userIdentity ?? { type: '' }
  if (u.userName) return u.userName
  if (u.type === 'Root') return 'root'
  const arn = u.arn ?? ''
  const slash = arn.lastIndexOf('/')
  return slash >= 0 ? arn.slice(slash + 1) : ''
}

export function isHistoryEvent(r: CloudTrailRecord): boolean {
  if (r.eventCategory === 'Insight' || r.eventType === 'AwsCloudTrailInsight') return true
  return r.managementEvent !== false && (r.eventCategory ?? 'Management') === 'Management'
}

/** One `history` row in column order (numbers are BIGINT columns). */
export type Row = (string | number | null)[]

export function csvLine(row: Row): string {
  let line = ''
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!
    if (i > 0) line += ','
    line += typeof v === 'number' ? String(v) : q(v)
  }
  return line
}

export function rowChars(row: Row): number {
  let n = 0
  for (const v of row) if (typeof v === 'string') n += v.length
  return n
}

/** A CSV field: NULL is an empty unquoted field, strings are always quoted. */
export function q(s: string | null): string {
  if (s === null) return ''
  return s.indexOf('"') >= 0 ? `"${s.replaceAll('"', '""')}"` : `"${s}"`
}

/** The lookup keys of one row: its scope, and (attribute code, value) pairs within it. */
export interface RowKeys {
  scope: string
  attrs: string[] // code, value, code, value, ...
}

const prefixCache = new Map<string, Record<string, string>>()
export function prefixesOf(scope: string): Record<string, string> {
  let p = prefixCache.get(scope)
  if (!p) {
    p = {}
    for (const c of Object.values(CODE)) p[c] = attrPrefix(scope, c)
    if (prefixCache.size > 10_000) prefixCache.clear()
    prefixCache.set(scope, p)
  }
  return p
}

export function addKeys(bloom: Bloom, k: RowKeys): void {
  bloom.add(k.scope)
  const p = prefixesOf(k.scope)
  for (let i = 0; i < k.attrs.length; i += 2) bloom.add(p[k.attrs[i]!]!, k.attrs[i + 1])
}
