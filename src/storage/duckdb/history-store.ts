/**
 * @module storage/duckdb/history-store
 * Event history in DuckDB: one row per management or Insights event, typed lookup columns plus the
 * original record JSON. It is both a HistoryStore (LookupEvents) and a pipeline Sink: a batch and
 * the sink's checkpoint commit in one transaction, so a crash never loses or duplicates a row.
 */
import {
  DuckDBInstance,
  DuckDBTimestampValue,
  LIST,
  VARCHAR,
  type DuckDBConnection,
} from '@duckdb/node-api'
import { accountOf, type CloudTrailRecord } from '../../events/record.js'
import type { LogEntry } from '../../pipeline/event-log.js'
import type { Sink } from '../../pipeline/sink.js'
import type { HistoryRow, HistoryStore, LookupAttributeKey, LookupQuery } from '../history-port.js'

const STRING_LIST = LIST(VARCHAR)

const COLUMN: Record<LookupAttributeKey, string> = {
  EventId: 'event_id',
  EventName: 'event_name',
  ReadOnly: 'read_only',
  Username: 'username',
  EventSource: 'event_source',
  AccessKeyId: 'access_key_id',
  ResourceType: 'resource_types',
  ResourceName: 'resource_names',
}

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

export class DuckDbHistoryStore implements HistoryStore, Sink {
  readonly name = 'event-history'

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<DuckDbHistoryStore> {
    const instance = await DuckDBInstance.create(path, { threads: '2' })
    const writer = await instance.connect()
    await writer.run(`
      CREATE TABLE IF NOT EXISTS events (
        seq BIGINT NOT NULL,
        account VARCHAR NOT NULL,
        region VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        event_time TIMESTAMP NOT NULL,
        event_id VARCHAR NOT NULL,
        event_name VARCHAR,
        event_source VARCHAR,
        username VARCHAR,
        access_key_id VARCHAR,
        read_only VARCHAR,
        resource_types VARCHAR[],
        resource_names VARCHAR[],
        body VARCHAR NOT NULL
      );
      CREATE TABLE IF NOT EXISTS sink_checkpoint (name VARCHAR PRIMARY KEY, next_seq BIGINT NOT NULL);
    `)
    const reader = await instance.connect()
    return new DuckDbHistoryStore(instance, writer, reader)
  }

  accepts(record: CloudTrailRecord): boolean {
    return isHistoryEvent(record)
  }

  async checkpoint(): Promise<number> {
    const r = await this.writer.runAndReadAll(
      `SELECT next_seq FROM sink_checkpoint WHERE name = $1`,
      [this.name],
    )
    const v = r.getRows()[0]?.[0]
    return v === undefined ? 0 : Number(v)
  }

  async write(entries: LogEntry[], upTo: number): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION')
    try {
      if (entries.length > 0) {
        const app = await this.writer.createAppender('events')
        for (const { seq, record: r } of entries) {
          const t = Date.parse(r.eventTime)
          if (Number.isNaN(t)) continue
          app.appendBigInt(BigInt(seq))
          app.appendVarchar(accountOf(r))
          app.appendVarchar(r.awsRegion ?? '')
          app.appendVarchar(r.eventType === 'AwsCloudTrailInsight' ? 'insight' : 'management')
          app.appendTimestamp(new DuckDBTimestampValue(BigInt(t) * 1000n))
          app.appendVarchar(r.eventID)
          app.appendVarchar(r.eventName ?? '')
          app.appendVarchar(r.eventSource ?? '')
          app.appendVarchar(usernameOf(r))
          app.appendVarchar(r.userIdentity?.accessKeyId ?? '')
          app.appendVarchar(r.readOnly === undefined ? '' : String(r.readOnly))
          const res = r.resources ?? []
          app.appendList(
            res.map((x) => x.type ?? ''),
            STRING_LIST,
          )
          app.appendList(
            res.map((x) => x.ARN ?? ''),
            STRING_LIST,
          )
          app.appendVarchar(JSON.stringify(r))
          app.endRow()
        }
        app.flushSync()
        app.closeSync()
      }
      await this.writer.run(
        `INSERT INTO sink_checkpoint VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET next_seq = excluded.next_seq`,
        [this.name, upTo],
      )
      await this.writer.run('COMMIT')
    } catch (err) {
      await this.writer.run('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  async lookup(q: LookupQuery): Promise<HistoryRow[]> {
    const where = [
      'account = $account',
      'region = $region',
      'category = $category',
      'event_time >= $start',
      'event_time <= $end',
    ]
    const params: Record<string, string | number | DuckDBTimestampValue> = {
      account: q.accountId,
      region: q.region,
      category: q.category,
      start: new DuckDBTimestampValue(BigInt(q.start.getTime()) * 1000n),
      end: new DuckDBTimestampValue(BigInt(q.end.getTime()) * 1000n),
      limit: q.limit,
    }
    q.attributes.forEach((a, i) => {
      const col = COLUMN[a.key]
      params[`a${i}`] = a.value
      where.push(col.startsWith('resource_') ? `list_contains(${col}, $a${i})` : `${col} = $a${i}`)
    })
    if (q.after) {
      params['at'] = new DuckDBTimestampValue(BigInt(q.after.timeMs) * 1000n)
      params['aseq'] = q.after.seq
      where.push('(event_time < $at OR (event_time = $at AND seq < $aseq))')
    }
    const sql = `SELECT seq, epoch_ms(event_time) AS t, body FROM events WHERE ${where.join(' AND ')}
      ORDER BY event_time DESC, seq DESC LIMIT $limit`
    const result = await this.reader.runAndReadAll(sql, params)
    return result
      .getRows()
      .map((row) => ({ seq: Number(row[0]), timeMs: Number(row[1]), body: String(row[2]) }))
  }

  async expire(before: Date): Promise<number> {
    const r = await this.writer.run(`DELETE FROM events WHERE event_time < $1`, [
      new DuckDBTimestampValue(BigInt(before.getTime()) * 1000n),
    ])
    return r.rowsChanged
  }

  async count(): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT count(*) FROM events')
    return Number(r.getRows()[0]?.[0] ?? 0)
  }

  async close(): Promise<void> {
    await this.writer.run('CHECKPOINT').catch(() => undefined)
    this.writer.closeSync()
    this.reader.closeSync()
    this.instance.closeSync()
  }
}
