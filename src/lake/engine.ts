/**
 * @module lake/engine
 * The Lake's DuckDB database (`<dataDir>/lake.duckdb`, separate from the Event History): one table
 * `eds_<32 hex>` per event data store with the Lake schema (`lake/rows.ts`), the sinks that fill
 * them (CloudTrail records from the pipeline; application events from the audit-event log that
 * PutAuditEvents acknowledges from), each with its rows and checkpoint in one transaction (exactly
 * once), group-committed appends (imports), retention, and sandboxed query execution. The instance
 * is opened locked down: no file or network access (`enable_external_access` false) except its work
 * directory (batches being loaded, Parquet exports), no extension auto-install/auto-load,
 * configuration locked, bounded memory and threads. Rows are loaded by DuckDB's JSON reader
 * (`lake/load.ts`).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { CloudTrailRecord } from '../events/record.js'
import type { LogEntry } from '../pipeline/event-log.js'
import type { Sink } from '../pipeline/sink.js'
import { loadLines, type LineKind } from './load.js'
import { LAKE_COLUMNS, type Obj } from './rows.js'
import {
  executeQuery,
  type QueryOutcome,
  type QuerySignal,
  type ResultRow,
  type RowSink,
  type StoreSizes,
} from './query-exec.js'
import { bindStoreNames, checkAst, parserError, tableOf } from './sql.js'

/** What the sink needs to know about a store to route events to it. */
export interface RoutedStore {
  id: string
  accountId: string
  matches(record: CloudTrailRecord): boolean
}

export { QueryTimeout, type QueryOutcome, type ResultRow, type RowSink } from './query-exec.js'

export interface LakeEngineOptions {
  memoryLimit?: string
  threads?: number
  /** Concurrent query connections (queries beyond this wait, QUEUED). */
  queryConnections?: number
  /**
   * The one directory the engine may read and write: batches being loaded and Parquet exports
   * (lake/export.ts). Default: `<database path>.work`.
   */
  workDir?: string
}

/**
 * Sinks load in large batches: a load of at least one DuckDB row group (122,880 rows) is written
 * straight to the database file at commit, a smaller one goes through the WAL and checkpoints, at
 * two to three times the CPU per row (docs/decisions/0023). CloudTrail records wait at most 2
 * seconds (so a Lake query sees an event about 2 seconds after it happened). Audit lines are small,
 * so their batches are two row groups, and they may wait longer: a query drains the audit sink
 * first, so that wait never hides an acknowledged PutAuditEvents event from a query.
 */
const RECORD_BATCHING = { min: 122_880, max: 150_000, lingerMs: 2_000 }
const AUDIT_BATCHING = { min: 245_760, max: 300_000, lingerMs: 10_000 }

/** Checkpoint rows: the pipeline sink's and the audit-event sink's. */
const PIPELINE = 1
const AUDIT = 2

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`

export class LakeEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly ddl: DuckDBConnection,
    private readonly idle: DuckDBConnection[],
    private readonly appender: DuckDBConnection,
    private readonly parser: DuckDBConnection,
    private readonly auditWriter: DuckDBConnection,
    private readonly workDir: string,
  ) {}

  /** Record lines waiting for the next group commit of `append`, by store. */
  private pending = new Map<string, string[]>()
  private pendingWaiters: { ok: () => void; fail: (e: unknown) => void }[] = []
  private flushing: Promise<void> | undefined

  private readonly waiting: ((c: DuckDBConnection) => void)[] = []

  static async open(path: string, opts: LakeEngineOptions = {}): Promise<LakeEngine> {
    const instance = await DuckDBInstance.create(path, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      allow_community_extensions: 'false',
      memory_limit: opts.memoryLimit ?? '512MB',
      threads: String(opts.threads ?? 2),
    })
    const ddl = await instance.connect()
    // The only directory the instance may touch besides its own database: where batches are loaded
    // from and Parquet exports written (queries cannot name files anyway: lake/sql.ts allows store
    // tables only). Then file and network access off, and the configuration locked before any query
    // connection exists.
    const workDir = opts.workDir ?? `${path}.work`
    await rm(workDir, { recursive: true, force: true })
    await mkdir(workDir, { recursive: true })
    const dir = workDir.endsWith('/') ? workDir : workDir + '/'
    await ddl.run(`SET allowed_directories = [${sqlString(dir)}]`)
    // Lake times are UTC whatever the host's zone (TIMESTAMP WITH TIME ZONE comparisons).
    await ddl.run(`SET GLOBAL TimeZone = 'UTC'`)
    await ddl.run(`SET enable_external_access = false`)
    await ddl.run(`SET lock_configuration = true`)
    await ddl.run(
      `CREATE TABLE IF NOT EXISTS lake_checkpoint (id INTEGER PRIMARY KEY, next BIGINT)`,
    )
    await ddl.run(
      `INSERT INTO lake_checkpoint VALUES (${PIPELINE}, 0), (${AUDIT}, 0) ON CONFLICT DO NOTHING`,
    )
    const writer = await instance.connect()
    const idle: DuckDBConnection[] = []
    for (let i = 0; i < (opts.queryConnections ?? 4); i++) idle.push(await instance.connect())
    const engine = new LakeEngine(
      instance,
      writer,
      ddl,
      idle,
      await instance.connect(),
      await instance.connect(),
      await instance.connect(),
      workDir,
    )
    return engine
  }

  /** Events per UTC day in a store (what an export compares with what it wrote last). */
  async dayCounts(storeId: string): Promise<Map<string, number>> {
    const r = await this.ddl.runAndReadAll(
      `SELECT strftime(CAST(eventTime AS DATE), '%Y-%m-%d') AS d, count(*) FROM ${tableOf(storeId)}
       WHERE eventTime IS NOT NULL GROUP BY d`,
    )
    return new Map(r.getRows().map(([d, n]) => [String(d), Number(n)]))
  }

  /**
   * Writes one UTC day of a store as a zstd Parquet file in the export directory and returns its
   * bytes (the file is removed). Columns and types are the Lake schema.
   */
  async exportDay(storeId: string, day: string): Promise<Buffer> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`Not a day: ${day}`)
    const file = join(this.workDir, `${tableOf(storeId)}-${day}-${process.pid}.parquet`)
    try {
      await this.ddl.run(
        `COPY (SELECT * FROM ${tableOf(storeId)}
               WHERE eventTime >= DATE '${day}' AND eventTime < DATE '${day}' + INTERVAL 1 DAY
               ORDER BY eventTime)
         TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
      )
      return await readFile(file)
    } finally {
      await rm(file, { force: true })
    }
  }

  async ensureTable(storeId: string): Promise<void> {
    // Once per table and process: appends call this on every group commit.
    if (this.tables.has(storeId)) return
    await this.ddl.run(`CREATE TABLE IF NOT EXISTS ${tableOf(storeId)} (${LAKE_COLUMNS})`)
    this.tables.add(storeId)
  }

  /** Stores whose table this engine created or found. */
  private readonly tables = new Set<string>()

  async dropTable(storeId: string): Promise<void> {
    this.tables.delete(storeId)
    this.sizes.delete(tableOf(storeId))
    await this.ddl.run(`DROP TABLE IF EXISTS ${tableOf(storeId)}`)
  }

  /**
   * Appends CloudTrail records (their JSON, one line each) to stores directly (Lake imports):
   * concurrent calls are group-committed in one transaction; the promise resolves once their rows
   * are committed.
   */
  append(rows: { storeId: string; line: string }[]): Promise<void> {
    for (const { storeId, line } of rows) {
      let list = this.pending.get(storeId)
      if (!list) this.pending.set(storeId, (list = []))
      list.push(line)
    }
    return new Promise((ok, fail) => {
      this.pendingWaiters.push({ ok, fail })
      if (!this.flushing) this.flushing = this.flushLoop()
    })
  }

  private async flushLoop(): Promise<void> {
    while (this.pendingWaiters.length > 0) {
      const batch = this.pending
      const waiters = this.pendingWaiters
      this.pending = new Map()
      this.pendingWaiters = []
      try {
        for (const id of batch.keys()) await this.ensureTable(id)
        await this.appender.run('BEGIN TRANSACTION')
        try {
          for (const [id, list] of batch) await this.load(this.appender, id, 'record', list)
          await this.appender.run('COMMIT')
        } catch (err) {
          await this.appender.run('ROLLBACK').catch(() => undefined)
          throw err
        }
        for (const w of waiters) w.ok()
      } catch (err) {
        for (const w of waiters) w.fail(err)
      }
    }
    this.flushing = undefined
  }

  /** Loads lines into a store's table on `conn`, inside its open transaction. */
  private async load(
    conn: DuckDBConnection,
    storeId: string,
    kind: LineKind,
    lines: string[],
  ): Promise<void> {
    const n = await loadLines(conn, this.workDir, tableOf(storeId), kind, lines)
    if (n !== lines.length) {
      // Only an audit line DuckDB cannot read at all is dropped (a record line keeps its row).
      throw new Error(`ERR_LAKE_LOAD: ${lines.length - n} of ${lines.length} lines unreadable`)
    }
  }

  /** Deletes a store's events older than `cutoff`. */
  async expire(storeId: string, cutoff: Date): Promise<void> {
    await this.ddl.run(`DELETE FROM ${tableOf(storeId)} WHERE eventTime < $1::TIMESTAMP`, [
      cutoff.toISOString(),
    ])
  }

  /** Every eventID in a store (a Lake import's dedupe set). */
  async eventIds(storeId: string): Promise<string[]> {
    await this.ensureTable(storeId)
    const r = await this.ddl.runAndReadAll(
      `SELECT eventID FROM ${tableOf(storeId)} WHERE eventID IS NOT NULL`,
    )
    return r.getRows().map(([id]) => String(id))
  }

  async count(storeId: string): Promise<number> {
    const r = await this.ddl.runAndReadAll(`SELECT count(*) FROM ${tableOf(storeId)}`)
    return Number(r.getRows()[0]![0])
  }

  /** A pipeline sink that feeds every store `stores()` returns (the ENABLED ones) through its selectors. */
  sink(stores: () => RoutedStore[]): Sink {
    return {
      name: 'lake',
      batching: RECORD_BATCHING,
      accepts: (record) => stores().some((st) => st.matches(record)),
      checkpoint: () => this.checkpoint(this.writer, PIPELINE),
      write: async (entries: LogEntry[], upTo: number) => {
        const byStore = new Map<string, string[]>()
        const current = stores()
        for (const e of entries) {
          let text: string | undefined
          for (const st of current) {
            if (!st.matches(e.record)) continue
            let list = byStore.get(st.id)
            if (!list) byStore.set(st.id, (list = []))
            list.push((text ??= e.text ?? JSON.stringify(e.record)))
          }
        }
        await this.commit(this.writer, PIPELINE, 'record', byStore, upTo)
      },
    }
  }

  /**
   * The sink behind PutAuditEvents: reads the audit-event log (lines `<store IDs>\t<line>`, the
   * line from `auditLines` in `lake/load.ts`) and loads each store's lines in one transaction with
   * its checkpoint. Stores `exists` no longer knows (deleted since the call was acknowledged) are
   * skipped.
   */
  auditSink(exists: (storeId: string) => boolean): Sink<string> {
    return {
      name: 'lake-audit',
      batching: AUDIT_BATCHING,
      accepts: () => true,
      checkpoint: () => this.checkpoint(this.auditWriter, AUDIT),
      write: async (entries: LogEntry<string>[], upTo: number) => {
        const byStore = new Map<string, string[]>()
        for (const { record } of entries) {
          const tab = record.indexOf('\t')
          const line = record.slice(tab + 1)
          for (const id of record.slice(0, tab).split(',')) {
            if (!exists(id)) continue
            let list = byStore.get(id)
            if (!list) byStore.set(id, (list = []))
            list.push(line)
          }
        }
        await this.commit(this.auditWriter, AUDIT, 'audit', byStore, upTo)
      },
    }
  }

  private async checkpoint(conn: DuckDBConnection, id: number): Promise<number> {
    const r = await conn.runAndReadAll(`SELECT next FROM lake_checkpoint WHERE id = ${id}`)
    return Number(r.getRows()[0]![0])
  }

  /** Loads each store's lines and moves checkpoint `id` to `upTo`, in one transaction on `conn`. */
  private async commit(
    conn: DuckDBConnection,
    id: number,
    kind: LineKind,
    byStore: Map<string, string[]>,
    upTo: number,
  ): Promise<void> {
    for (const storeId of byStore.keys()) await this.ensureTable(storeId)
    await conn.run('BEGIN TRANSACTION')
    try {
      for (const [storeId, lines] of byStore) await this.load(conn, storeId, kind, lines)
      await conn.run(`UPDATE lake_checkpoint SET next = $1 WHERE id = ${id}`, [upTo])
      await conn.run('COMMIT')
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  /**
   * Parses, checks and rewrites a Lake statement. `resolve` maps each internal table name (with the
   * ID or ARN the user wrote) to whether the caller may read it; it throws the AWS error otherwise.
   */
  async prepare(
    statement: string,
    resolve: (table: string, ref: { id: string; arn?: string }) => void,
  ): Promise<{ sql: string; tables: string[] }> {
    const bound = bindStoreNames(statement)
    // Parsing has its own connection (one statement at a time), so StartQuery answers at once even
    // when every query connection is busy.
    const turn = this.parsing.then(() => undefined)
    let done!: () => void
    this.parsing = new Promise<void>((ok) => (done = ok))
    await turn
    const conn = this.parser
    try {
      const r = await conn.runAndReadAll(`SELECT json_serialize_sql($1::VARCHAR)`, [bound.sql])
      const parsed = JSON.parse(String(r.getRows()[0]![0])) as Obj
      const err = parserError(parsed)
      if (err) throw err
      for (const [table, ref] of bound.refs) resolve(table, ref)
      const used = checkAst(parsed, (t) => bound.refs.has(t))
      const d = await conn.runAndReadAll(`SELECT json_deserialize_sql($1::JSON)`, [
        // JSON.parse turned the parser's "no location" (2^64 - 1) into a float; restore it.
        JSON.stringify(parsed).replace(/18446744073709552000/g, '18446744073709551615'),
      ])
      return { sql: String(d.getRows()[0]![0]), tables: [...used] }
    } finally {
      done()
    }
  }

  private parsing: Promise<void> = Promise.resolve()

  /**
   * Runs checked SQL with a timeout (lake/query-exec.ts); `onStart` is called when it leaves the
   * queue. Cancelling (`signal.cancel`) and the timeout interrupt the statement; the connection
   * returns to the pool as soon as it has stopped.
   */
  async execute(
    sql: string,
    tables: string[],
    opts: { timeoutMs: number; onStart?: () => void; signal?: QuerySignal },
    onRows: RowSink,
  ): Promise<QueryOutcome> {
    // Every event acknowledged before the query sees it (PutAuditEvents answers before its events
    // are loaded: they are durable in the audit-event log).
    await this.barrier()
    const conn = await this.acquire()
    try {
      // onStart may refuse to run (a query cancelled while it was queued).
      opts.onStart?.()
      return await executeQuery(conn, sql, tables, opts, onRows, this.sizes)
    } finally {
      this.release(conn)
    }
  }

  /** `execute` with the rows collected in memory (small results: benchmarks, tests). */
  async executeAll(
    sql: string,
    tables: string[],
    opts: { timeoutMs: number },
  ): Promise<QueryOutcome & { rows: ResultRow[] }> {
    const rows: ResultRow[] = []
    const out = await this.execute(sql, tables, opts, (_c, chunk) => {
      for (const r of chunk) rows.push(r)
    })
    return { ...out, rows }
  }

  /** Stores' sizes on disk for BytesScanned (counted again when a store's row count changes). */
  private readonly sizes: StoreSizes = new Map()

  private barrier: () => Promise<void> = () => Promise.resolve()

  /** What a query waits for before it runs (the audit-event loader catching up). */
  beforeQuery(barrier: () => Promise<void>): void {
    this.barrier = barrier
  }

  private acquire(): Promise<DuckDBConnection> {
    const c = this.idle.pop()
    if (c) return Promise.resolve(c)
    return new Promise((ok) => this.waiting.push(ok))
  }

  private release(c: DuckDBConnection): void {
    const next = this.waiting.shift()
    if (next) next(c)
    else this.idle.push(c)
  }

  async close(): Promise<void> {
    await this.flushing
    this.writer.closeSync()
    this.appender.closeSync()
    this.auditWriter.closeSync()
    this.parser.closeSync()
    this.ddl.closeSync()
    for (const c of this.idle) c.closeSync()
    this.instance.closeSync()
  }
}
