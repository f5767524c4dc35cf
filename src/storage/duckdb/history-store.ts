/**
 * @module storage/duckdb/history-store
 * Event history in DuckDB. It is both a HistoryStore (LookupEvents) and a pipeline Sink: a batch,
 * the dictionary fragments it introduces, the skip-index blocks it completes and the sink's
 * checkpoint commit in one transaction, so a crash never loses or duplicates a row.
 *
 * Layout (see docs/decisions/0001-event-history-store.md for the measurements behind it):
 * - `history`: one narrow row per event: seq, time, scope (account, region, category), the lookup
 *   attribute columns, the per-event record values and two ids into `parts` (record-codec.ts).
 *   DuckDB's dictionary/FSST/bit-packing compress the columns; rows arrive in seq (~time) order.
 * - `parts`: interned JSON fragments (record skeletons and userIdentity objects).
 * - `blocks`: per 8,192 rows the seq range, time range and a Bloom filter of lookup keys
 *   (block-index.ts). A lookup scans only candidate blocks, newest first, and stops as soon as no
 *   further block can hold a row newer than the page it has.
 * Batches reach DuckDB as one CSV file read by `read_csv` (parsed in DuckDB's threads, not ours).
 */
import { unlink, writeFile } from 'node:fs/promises'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { accountOf, type CloudTrailRecord } from '../../events/record.js'
import type { LogEntry } from '../../pipeline/event-log.js'
import type { Sink } from '../../pipeline/sink.js'
import type { HistoryRow, HistoryStore, LookupAttributeKey, LookupQuery } from '../history-port.js'
import { attrPrefix, Bloom, BLOCK_ROWS, newBlock, scopeKey, type Block } from './block-index.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

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

/** Short attribute codes in Bloom keys. */
const CODE: Record<LookupAttributeKey, string> = {
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
const SEP = '\u001f'
/** Interned fragments kept in memory (both directions) before the cache is dropped and refilled. */
const MAX_CACHED_PARTS = 200_000

const HISTORY_COLUMNS = `
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
  resource_names VARCHAR,
  request_id VARCHAR,
  source_ip VARCHAR,
  user_agent VARCHAR,
  event_time VARCHAR,
  who BIGINT,
  skel BIGINT NOT NULL`

const CSV_COLUMNS = `{${HISTORY_COLUMNS.split(',')
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
type Row = (string | number | null)[]

function csvLine(row: Row): string {
  let line = ''
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!
    if (i > 0) line += ','
    line += typeof v === 'number' ? String(v) : q(v)
  }
  return line
}

function rowChars(row: Row): number {
  let n = 0
  for (const v of row) if (typeof v === 'string') n += v.length
  return n
}

/** A CSV field: NULL is an empty unquoted field, strings are always quoted. */
function q(s: string | null): string {
  if (s === null) return ''
  return s.indexOf('"') >= 0 ? `"${s.replaceAll('"', '""')}"` : `"${s}"`
}

/** The lookup keys of one row: its scope, and (attribute code, value) pairs within it. */
interface RowKeys {
  scope: string
  attrs: string[] // code, value, code, value, ...
}

const prefixCache = new Map<string, Record<string, string>>()
function prefixesOf(scope: string): Record<string, string> {
  let p = prefixCache.get(scope)
  if (!p) {
    p = {}
    for (const c of Object.values(CODE)) p[c] = attrPrefix(scope, c)
    if (prefixCache.size > 10_000) prefixCache.clear()
    prefixCache.set(scope, p)
  }
  return p
}

function addKeys(bloom: Bloom, k: RowKeys): void {
  bloom.add(k.scope)
  const p = prefixesOf(k.scope)
  for (let i = 0; i < k.attrs.length; i += 2) bloom.add(p[k.attrs[i]!]!, k.attrs[i + 1])
}

export class DuckDbHistoryStore implements HistoryStore, Sink {
  readonly name = 'event-history'
  private blocks: Block[] = []
  private nextPartId = 1
  private partIds = new Map<string, number>()
  private partTexts = new Map<number, string>()
  private writing: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<DuckDbHistoryStore> {
    const instance = await DuckDBInstance.create(path, {
      threads: '2',
      // ZSTD/dictionary-FSST string compression need the newer storage format.
      storage_compatibility_version: 'v1.4.0',
    })
    const writer = await instance.connect()
    await writer.run(`
      CREATE TABLE IF NOT EXISTS history (${HISTORY_COLUMNS});
      CREATE TABLE IF NOT EXISTS parts (id BIGINT NOT NULL, text VARCHAR NOT NULL);
      CREATE TABLE IF NOT EXISTS blocks (id BIGINT NOT NULL, first_seq BIGINT, last_seq BIGINT,
        min_t BIGINT, max_t BIGINT, rows BIGINT, bloom BLOB);
      CREATE TABLE IF NOT EXISTS sink_checkpoint (name VARCHAR PRIMARY KEY, next_seq BIGINT NOT NULL);
    `)
    const reader = await instance.connect()
    const store = new DuckDbHistoryStore(path, instance, writer, reader)
    await store.loadState()
    await store.migrateV0()
    return store
  }

  /** Blocks from the `blocks` table plus the open block rebuilt from the rows after them. */
  private async loadState(): Promise<void> {
    const parts = await this.writer.runAndReadAll('SELECT coalesce(max(id), 0) FROM parts')
    this.nextPartId = Number(parts.getRows()[0]?.[0] ?? 0) + 1
    const r = await this.writer.runAndReadAll(
      'SELECT id, first_seq, last_seq, min_t, max_t, rows, bloom FROM blocks ORDER BY id',
    )
    this.blocks = r.getRows().map((row) => ({
      id: Number(row[0]),
      firstSeq: Number(row[1]),
      lastSeq: Number(row[2]),
      minT: Number(row[3]),
      maxT: Number(row[4]),
      rows: Number(row[5]),
      bloom: new Bloom(new Uint8Array((row[6] as { bytes: Uint8Array }).bytes)),
    }))
    const last = this.blocks[this.blocks.length - 1]
    const open = newBlock(last ? last.id + 1 : 0)
    const rest = await this.writer.runAndReadAll(
      `SELECT seq, t, account, region, category, event_id, event_name, event_source, username,
        access_key_id, read_only, resource_types, resource_names FROM history
        WHERE seq > $1 ORDER BY seq`,
      [last ? last.lastSeq : -1],
    )
    for (const row of rest.getRows()) {
      const s = (i: number) => (row[i] === null ? null : String(row[i]))
      const keys: RowKeys = { scope: scopeKey(s(2)!, s(3)!, s(4)!), attrs: [] }
      const pairs: [string, string | null][] = [
        ['I', s(5)],
        ['N', s(6)],
        ['S', s(7)],
        ['U', s(8)],
        ['K', s(9)],
        ['R', s(10)],
      ]
      for (const [c, v] of pairs) if (v !== null) keys.attrs.push(c, v)
      for (const [c, col] of [
        ['T', s(11)],
        ['A', s(12)],
      ] as const) {
        if (col) for (const v of col.slice(1, -1).split(SEP)) keys.attrs.push(c, v)
      }
      this.addToBlock(open, Number(row[0]), Number(row[1]), keys)
    }
    this.blocks.push(open)
  }

  /** Databases written before this layout had an `events` table with the record JSON. */
  private async migrateV0(): Promise<void> {
    const t = await this.writer.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'`,
    )
    if (Number(t.getRows()[0]?.[0] ?? 0) === 0) return
    const r = await this.writer.runAndReadAll('SELECT seq, body FROM events ORDER BY seq')
    const entries = r.getRows().map((row) => ({
      seq: Number(row[0]),
      record: JSON.parse(String(row[1])) as CloudTrailRecord,
    }))
    await this.write(entries, await this.checkpoint(), 'DROP TABLE events')
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

  private addToBlock(b: Block, seq: number, t: number, keys: RowKeys): void {
    if (b.rows === 0) b.firstSeq = seq
    b.lastSeq = seq
    b.rows++
    if (t < b.minT) b.minT = t
    if (t > b.maxT) b.maxT = t
    addKeys(b.bloom, keys)
  }

  private intern(text: string, fresh: [number, string][]): number {
    let id = this.partIds.get(text)
    if (id === undefined) {
      id = this.nextPartId++
      if (this.partIds.size >= MAX_CACHED_PARTS) {
        this.partIds.clear()
        this.partTexts.clear()
      }
      this.partIds.set(text, id)
      this.partTexts.set(id, text)
      fresh.push([id, text])
    }
    return id
  }

  write(entries: LogEntry[], upTo: number, extraSql?: string): Promise<void> {
    const run = this.writing.then(() => this.writeNow(entries, upTo, extraSql))
    this.writing = run.catch(() => undefined)
    return run
  }

  private async writeNow(entries: LogEntry[], upTo: number, extraSql?: string): Promise<void> {
    const fresh: [number, string][] = []
    const rows: Row[] = []
    const completed: Block[] = []
    const savedBlocks = this.blocks.slice(0, -1)
    const savedOpen = this.blocks[this.blocks.length - 1]!
    const savedNextPart = this.nextPartId
    let open: Block = {
      ...savedOpen,
      bloom: new Bloom(new Uint8Array(savedOpen.bloom.bits)),
    }
    for (const { seq, record: r, text } of entries) {
      const t = Date.parse(r.eventTime)
      if (Number.isNaN(t)) continue
      const account = accountOf(r)
      const region = r.awsRegion ?? ''
      const category = r.eventType === 'AwsCloudTrailInsight' ? 'insight' : 'management'
      const enc = encodeRecord(r, text ?? JSON.stringify(r), t, account)
      const username = usernameOf(r)
      const keyId = r.userIdentity?.accessKeyId ?? ''
      const readOnly = r.readOnly === undefined ? '' : String(r.readOnly)
      const res = Array.isArray(r.resources) ? r.resources : []
      const types = res.length ? SEP + res.map((x) => x.type ?? '').join(SEP) + SEP : null
      const names = res.length ? SEP + res.map((x) => x.ARN ?? '').join(SEP) + SEP : null
      const keys: RowKeys = {
        scope: scopeKey(account, region, category),
        attrs: [
          'I',
          r.eventID ?? '',
          'N',
          r.eventName ?? '',
          'S',
          r.eventSource ?? '',
          'U',
          username,
          'K',
          keyId,
          'R',
          readOnly,
        ],
      }
      for (const x of res) keys.attrs.push('T', x.type ?? '', 'A', x.ARN ?? '')
      if (open.rows >= BLOCK_ROWS) {
        completed.push(open)
        open = newBlock(open.id + 1)
      }
      this.addToBlock(open, seq, t, keys)
      const skel = this.intern(enc.skeleton, fresh)
      const who = enc.who === null ? null : this.intern(enc.who, fresh)
      const row: Row = [
        seq,
        t,
        account,
        region,
        category,
        r.eventID ?? '',
        r.eventName ?? '',
        r.eventSource ?? '',
        username,
        keyId,
        readOnly,
        types,
        names,
        enc.requestId,
        enc.sourceIp,
        enc.userAgent,
        enc.eventTime,
        who,
        skel,
      ]
      rows.push(row)
    }
    const csv = `${this.path}.batch.csv`
    let viaCsv = false
    try {
      if (rows.length > 0) {
        const text = rows.map(csvLine).join('\n') + '\n'
        // DuckDB's CSV reader caps line length and NULs are not CSV: such batches use the appender.
        viaCsv = text.indexOf('\u0000') < 0
        if (viaCsv && rows.some((r) => rowChars(r) > 1_000_000)) viaCsv = false
        if (viaCsv) await writeFile(csv, text)
      }
      await this.writer.run('BEGIN TRANSACTION')
      if (viaCsv) {
        await this.writer.run(
          `INSERT INTO history SELECT * FROM read_csv($csv, columns = ${CSV_COLUMNS}, header = false,
            auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`,
          { csv },
        )
      } else if (rows.length > 0) {
        const app = await this.writer.createAppender('history')
        for (const row of rows) {
          for (const v of row) {
            if (v === null) app.appendNull()
            else if (typeof v === 'number') app.appendBigInt(BigInt(v))
            else app.appendVarchar(v)
          }
          app.endRow()
        }
        app.flushSync()
        app.closeSync()
      }
      if (fresh.length > 0) {
        const app = await this.writer.createAppender('parts')
        for (const [id, text] of fresh) {
          app.appendBigInt(BigInt(id))
          app.appendVarchar(text)
          app.endRow()
        }
        app.flushSync()
        app.closeSync()
      }
      if (completed.length > 0) {
        const app = await this.writer.createAppender('blocks')
        for (const b of completed) {
          app.appendBigInt(BigInt(b.id))
          app.appendBigInt(BigInt(b.firstSeq))
          app.appendBigInt(BigInt(b.lastSeq))
          app.appendBigInt(BigInt(b.minT))
          app.appendBigInt(BigInt(b.maxT))
          app.appendBigInt(BigInt(b.rows))
          app.appendBlob(b.bloom.bits)
          app.endRow()
        }
        app.flushSync()
        app.closeSync()
      }
      if (extraSql) await this.writer.run(extraSql)
      await this.writer.run(
        `INSERT INTO sink_checkpoint VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET next_seq = excluded.next_seq`,
        [this.name, upTo],
      )
      await this.writer.run('COMMIT')
    } catch (err) {
      await this.writer.run('ROLLBACK').catch(() => undefined)
      for (const [id, text] of fresh) {
        this.partIds.delete(text)
        this.partTexts.delete(id)
      }
      this.nextPartId = savedNextPart
      this.blocks = [...savedBlocks, savedOpen]
      throw err
    } finally {
      if (viaCsv) await unlink(csv).catch(() => undefined)
    }
    this.blocks = [...savedBlocks, ...completed, open]
  }

  async lookup(q: LookupQuery): Promise<HistoryRow[]> {
    const startMs = q.start.getTime()
    const endMs = q.end.getTime()
    const scope = scopeKey(q.accountId, q.region, q.category)
    const prefixes = prefixesOf(scope)
    const mayHold = (b: Block) =>
      q.attributes.length === 0
        ? b.bloom.has(scope)
        : q.attributes.every((a) => b.bloom.has(prefixes[CODE[a.key]]!, a.value))
    const cands = this.blocks.filter(
      (b) =>
        b.rows > 0 &&
        b.maxT >= startMs &&
        b.minT <= endMs &&
        (!q.after || b.minT <= q.after.timeMs) &&
        mayHold(b),
    )
    cands.sort((a, b) => b.maxT - a.maxT || b.id - a.id)

    const where = [
      'account = $account',
      'region = $region',
      'category = $category',
      't >= $start',
      't <= $end',
    ]
    const params: Record<string, string | number> = {
      account: q.accountId,
      region: q.region,
      category: q.category,
      start: startMs,
      end: endMs,
    }
    q.attributes.forEach((a, i) => {
      const col = COLUMN[a.key]
      if (col.startsWith('resource_')) {
        params[`a${i}`] = SEP + a.value + SEP
        where.push(`contains(${col}, $a${i})`)
      } else {
        params[`a${i}`] = a.value
        where.push(`${col} = $a${i}`)
      }
    })
    if (q.after) {
      params['at'] = q.after.timeMs
      params['aseq'] = q.after.seq
      where.push('(t < $at OR (t = $at AND seq < $aseq))')
    }
    const filter = where.join(' AND ')

    let found: { seq: number; t: number }[] = []
    let i = 0
    let group = 1
    while (i < cands.length) {
      const nth = found[q.limit - 1]
      if (nth && cands[i]!.maxT < nth.t) break
      const take = cands.slice(i, i + group)
      i += take.length
      group = Math.min(group * 2, 32)
      const ranges = seqRanges(take)
      const lo = Math.min(...ranges.map((r) => r[0]))
      const hi = Math.max(...ranges.map((r) => r[1]))
      const inRanges =
        ranges.length === 1
          ? ''
          : ` AND (${ranges.map(([a, b]) => `seq BETWEEN ${a} AND ${b}`).join(' OR ')})`
      const r = await this.reader.runAndReadAll(
        `SELECT seq, t FROM history WHERE seq BETWEEN ${lo} AND ${hi}${inRanges} AND ${filter}
          ORDER BY t DESC, seq DESC LIMIT ${q.limit}`,
        params,
      )
      for (const row of r.getRows()) found.push({ seq: Number(row[0]), t: Number(row[1]) })
      found.sort((a, b) => b.t - a.t || b.seq - a.seq)
      if (found.length > q.limit) found = found.slice(0, q.limit)
    }
    if (found.length === 0) return []
    return this.fetch(found)
  }

  /** Rebuilds the record JSON of the given rows (newest first, as given). */
  private async fetch(found: { seq: number; t: number }[]): Promise<HistoryRow[]> {
    const seqs = found.map((f) => f.seq)
    const r = await this.reader.runAndReadAll(
      `SELECT seq, t, account, region, event_id, request_id, source_ip, user_agent, event_time, who, skel
        FROM history WHERE seq BETWEEN ${Math.min(...seqs)} AND ${Math.max(...seqs)}
        AND seq IN (${seqs.join(',')})`,
    )
    const rows = r.getRows()
    const missing = new Set<number>()
    for (const row of rows) {
      for (const i of [9, 10]) {
        const id = row[i]
        if (id !== null && !this.partTexts.has(Number(id))) missing.add(Number(id))
      }
    }
    if (missing.size > 0) {
      const ids = [...missing]
      const p = await this.reader.runAndReadAll(
        `SELECT id, text FROM parts WHERE id BETWEEN ${Math.min(...ids)} AND ${Math.max(...ids)}
          AND id IN (${ids.join(',')})`,
      )
      for (const [id, text] of p.getRows()) this.partTexts.set(Number(id), String(text))
    }
    const bySeq = new Map<number, HistoryRow>()
    for (const row of rows) {
      const s = (i: number) => (row[i] === null ? null : String(row[i]))
      const seq = Number(row[0])
      const timeMs = Number(row[1])
      const who = row[9] === null ? null : (this.partTexts.get(Number(row[9])) ?? null)
      const skel = this.partTexts.get(Number(row[10]))
      if (skel === undefined)
        throw new Error(`ERR_HISTORY_PART: record fragment ${String(row[10])} is missing`)
      const body = decodeRecord(skel, {
        timeMs,
        account: s(2)!,
        region: s(3)!,
        eventId: s(4),
        requestId: s(5),
        sourceIp: s(6),
        userAgent: s(7),
        eventTime: s(8),
        who,
      })
      bySeq.set(seq, { seq, timeMs, body })
    }
    return found.map((f) => bySeq.get(f.seq)).filter((x): x is HistoryRow => x !== undefined)
  }

  async expire(before: Date): Promise<number> {
    const cutoff = before.getTime()
    const run = this.writing.then(async () => {
      const r = await this.writer.run(`DELETE FROM history WHERE t < $1`, [cutoff])
      if (r.rowsChanged > 0) {
        await this.writer.run(`DELETE FROM blocks WHERE max_t < $1`, [cutoff])
        // Fragments no remaining row uses; the write cache is dropped so no new row reuses one.
        await this.writer.run(`DELETE FROM parts WHERE id NOT IN
          (SELECT skel FROM history UNION ALL SELECT who FROM history WHERE who IS NOT NULL)`)
        this.partIds.clear()
        this.partTexts.clear()
        const open = this.blocks[this.blocks.length - 1]!
        this.blocks = [...this.blocks.slice(0, -1).filter((b) => b.maxT >= cutoff), open]
      }
      return r.rowsChanged
    })
    this.writing = run.catch(() => undefined)
    return run
  }

  async count(): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT count(*) FROM history')
    return Number(r.getRows()[0]?.[0] ?? 0)
  }

  async close(): Promise<void> {
    await this.writing
    await this.writer.run('CHECKPOINT').catch(() => undefined)
    this.writer.closeSync()
    this.reader.closeSync()
    this.instance.closeSync()
  }
}

/** Sequence ranges of blocks, adjacent blocks merged. */
function seqRanges(blocks: Block[]): [number, number][] {
  const sorted = [...blocks].sort((a, b) => a.firstSeq - b.firstSeq)
  const out: [number, number][] = []
  for (const b of sorted) {
    const last = out[out.length - 1]
    const prevBlockEnd = last ? blocks.find((x) => x.lastSeq === last[1]) : undefined
    if (last && prevBlockEnd && b.id === prevBlockEnd.id + 1) last[1] = b.lastSeq
    else out.push([b.firstSeq, b.lastSeq])
  }
  return out
}
