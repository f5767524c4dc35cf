/**
 * @module storage/duckdb/history-store
 * Event history in DuckDB. It is both a HistoryStore (LookupEvents) and a pipeline Sink: a batch,
 * the dictionary fragments it introduces, the skip-index blocks it completes and the sink's
 * checkpoint commit in one transaction, so a crash never loses or duplicates a row.
 *
 * Layout (see docs/decisions/0001-event-history-store.md for the measurements behind it):
 * - DuckDB `history`: one narrow row per event: seq, time, scope (account, region, category) and
 *   the lookup attribute columns. DuckDB's dictionary/FSST/bit-packing compress the columns; rows
 *   arrive in seq (~time) order.
 * - DuckDB `parts`: interned fragments (record skeletons, userIdentity objects, user agents),
 *   all held in memory for reads.
 * - LMDB `<path>.rows` (a B-tree keyed by seq): the packed per-event values (row-payload.ts) that
 *   rebuild a record with its fragments (record-codec.ts). DuckDB finds the page of seqs; LMDB
 *   fetches them in microseconds each, which DuckDB cannot do for scattered rows. LMDB writes are
 *   idempotent puts keyed by seq, committed before the DuckDB transaction: a crash in between is
 *   replayed from the sink checkpoint and overwrites the same keys.
 * - `blocks`: per 8,192 rows the seq range, time range and a Bloom filter of lookup keys
 *   (block-index.ts). A lookup scans only candidate blocks, newest first, and stops as soon as no
 *   further block can hold a row newer than the page it has.
 * Batches reach DuckDB as one CSV file read by `read_csv` (parsed in DuckDB's threads, not ours).
 *
 * This module holds the schema, the state (blocks, interned fragments) and the writes; a row's
 * columns and keys are in history-rows.ts, lookups in history-query.ts.
 */
import { unlink, writeFile } from 'node:fs/promises'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { open as openLmdb, type Database } from 'lmdb'
import { accountOf, type CloudTrailRecord } from '../../events/record.js'
import type { LogEntry } from '../../pipeline/event-log.js'
import type { Sink } from '../../pipeline/sink.js'
import type { HistoryRow, HistoryStore, LookupQuery } from '../history-port.js'
import { Bloom, BLOCK_ROWS, newBlock, scopeKey, type Block } from './block-index.js'
import { findPage, ReaderPool, rebuildRows } from './history-query.js'
import {
  addKeys,
  csvLine,
  CSV_COLUMNS,
  HISTORY_COLUMNS,
  isHistoryEvent,
  rowChars,
  SEP,
  usernameOf,
  type Row,
  type RowKeys,
} from './history-rows.js'
import { encodeRecord } from './record-codec.js'
import { encodePayload } from './row-payload.js'

const ROW_GROUP_ROWS = 16_384

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`

/** DuckDB connections for lookups (each with its own prepared statements). */
const READERS = 3

/** Interned fragments kept in memory (both directions) before the cache is dropped and refilled. */
const MAX_CACHED_PARTS = 200_000

export class DuckDbHistoryStore implements HistoryStore, Sink {
  readonly name = 'event-history'
  private blocks: Block[] = []
  private nextPartId = 1
  private partIds = new Map<string, number>()
  private partTexts = new Map<number, string>()
  private writing: Promise<unknown> = Promise.resolve()

  private readonly pool = new ReaderPool()

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly rowsDb: Database<Buffer, number>,
  ) {}

  static async open(path: string): Promise<DuckDbHistoryStore> {
    // The file is attached (not opened directly) to set its row-group size: 16,384-row groups
    // (DuckDB's default is 122,880) let a lookup of one 8,192-row block scan ~8x fewer rows, for
    // ~20 more bytes per event. ZSTD/dictionary-FSST string compression need storage >= v1.2.
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' })
    const connect = async () => {
      const c = await instance.connect()
      await c.run('USE history_db')
      return c
    }
    const boot = await instance.connect()
    await boot.run(
      `ATTACH ${sqlString(path)} AS history_db (STORAGE_VERSION 'v1.4.0', ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
    )
    boot.closeSync()
    const writer = await connect()
    await writer.run(`
      CREATE TABLE IF NOT EXISTS history (${HISTORY_COLUMNS});
      CREATE TABLE IF NOT EXISTS parts (id BIGINT NOT NULL, text VARCHAR NOT NULL USING COMPRESSION zstd);
      CREATE TABLE IF NOT EXISTS blocks (id BIGINT NOT NULL, first_seq BIGINT, last_seq BIGINT,
        min_t BIGINT, max_t BIGINT, rows BIGINT, bloom BLOB);
      CREATE TABLE IF NOT EXISTS sink_checkpoint (name VARCHAR PRIMARY KEY, next_seq BIGINT NOT NULL);
    `)
    const rowsDb = openLmdb<Buffer, number>({
      path: `${path}.rows`,
      encoding: 'binary',
      // 10M rows of ~45 bytes need ~1 GiB of map at most; the map is virtual address space.
      mapSize: 64 * 1024 ** 3,
    })
    const store = new DuckDbHistoryStore(path, instance, writer, rowsDb)
    for (let i = 0; i < READERS; i++)
      store.pool.idle.push({ conn: await connect(), stmts: new Map() })
    await store.loadState()
    await store.migrateV0()
    return store
  }

  /** Blocks from the `blocks` table plus the open block rebuilt from the rows after them. */
  private async loadState(): Promise<void> {
    const parts = await this.writer.runAndReadAll('SELECT coalesce(max(id), 0) FROM parts')
    this.nextPartId = Number(parts.getRows()[0]?.[0] ?? 0) + 1
    // The dictionary is the hot set of every lookup: held in memory (the newest, up to the cap).
    const texts = await this.writer.runAndReadAll(
      `SELECT id, text FROM parts ORDER BY id DESC LIMIT ${MAX_CACHED_PARTS}`,
    )
    for (const [id, text] of texts.getRows()) {
      this.partIds.set(String(text), Number(id))
      this.partTexts.set(Number(id), String(text))
    }
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
    // The seq range of the block (sequence numbers normally only grow; min/max keeps it right if not).
    if (b.rows === 0 || seq < b.firstSeq) b.firstSeq = seq
    if (b.rows === 0 || seq > b.lastSeq) b.lastSeq = seq
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
    const payloads: [number, Buffer][] = []
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
      const skelId = this.intern(enc.skeleton, fresh)
      const whoId = enc.who === null ? 0 : this.intern(enc.who, fresh)
      const uaId = enc.userAgent === null ? 0 : this.intern(enc.userAgent, fresh)
      payloads.push([
        seq,
        encodePayload({
          eventId: enc.eventId,
          requestId: enc.requestId,
          sourceIp: enc.sourceIp,
          eventTime: enc.eventTime,
          uaId,
          whoId,
          skelId,
        }),
      ])
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
      if (payloads.length > 0) {
        await this.rowsDb.transaction(() => {
          for (const [seq, p] of payloads) void this.rowsDb.put(seq, p)
        })
        await this.rowsDb.flushed
      }
      await this.writer.run('BEGIN TRANSACTION')
      if (viaCsv) {
        await this.writer.run(
          `INSERT INTO history SELECT * FROM read_csv($csv, columns = ${CSV_COLUMNS}, header = false,
            auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`,
          { csv },
        )
      } else if (rows.length > 0) {
        await appendRows(this.writer, 'history', rows)
      }
      if (fresh.length > 0) await appendRows(this.writer, 'parts', fresh)
      if (completed.length > 0) {
        await appendRows(
          this.writer,
          'blocks',
          completed.map((b) => [b.id, b.firstSeq, b.lastSeq, b.minT, b.maxT, b.rows, b.bloom.bits]),
        )
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
    const found = await findPage(this.blocks, this.pool, q)
    if (found.length === 0) return []
    return rebuildRows(this.rowsDb, this.partTexts, this.pool, found, q.accountId, q.region)
  }

  async expire(before: Date): Promise<number> {
    const cutoff = before.getTime()
    const run = this.writing.then(async () => {
      const gone = await this.writer.runAndReadAll(`SELECT seq FROM history WHERE t < $1`, [cutoff])
      const r = await this.writer.run(`DELETE FROM history WHERE t < $1`, [cutoff])
      if (r.rowsChanged > 0) {
        await this.writer.run(`DELETE FROM blocks WHERE max_t < $1`, [cutoff])
        const open = this.blocks[this.blocks.length - 1]!
        this.blocks = [...this.blocks.slice(0, -1).filter((b) => b.maxT >= cutoff), open]
        // After DuckDB: a crash in between leaves only unreachable LMDB rows behind.
        await this.rowsDb.transaction(() => {
          for (const [seq] of gone.getRows()) void this.rowsDb.remove(Number(seq))
        })
      }
      return r.rowsChanged
    })
    this.writing = run.catch(() => undefined)
    return run
  }

  async count(): Promise<number> {
    const r = await this.writer.runAndReadAll('SELECT count(*) FROM history')
    return Number(r.getRows()[0]?.[0] ?? 0)
  }

  async close(): Promise<void> {
    await this.writing
    await this.writer.run('CHECKPOINT history_db').catch(() => undefined)
    for (const r of this.pool.idle) r.conn.closeSync()
    this.writer.closeSync()
    this.instance.closeSync()
    await this.rowsDb.close()
  }
}

/** Appends rows through a DuckDB appender: numbers as BIGINT, strings as VARCHAR, bytes as BLOB. */
async function appendRows(
  conn: DuckDBConnection,
  table: string,
  rows: readonly (readonly (string | number | Uint8Array | null)[])[],
): Promise<void> {
  const app = await conn.createAppender(table)
  for (const row of rows) {
    for (const v of row) {
      if (v === null) app.appendNull()
      else if (typeof v === 'number') app.appendBigInt(BigInt(v))
      else if (typeof v === 'string') app.appendVarchar(v)
      else app.appendBlob(v)
    }
    app.endRow()
  }
  app.flushSync()
  app.closeSync()
}
