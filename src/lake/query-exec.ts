/**
 * @module lake/query-exec
 * Running one checked Lake query on a query connection so that it can really be stopped.
 *
 * `runAndReadAll` would hold one of libuv's 4 pool threads for the whole query: four long queries
 * then starve every file operation of the process (the event log's fdatasync, the parser
 * connection), so the server stops answering, CancelQuery included. Here a statement is started as
 * a pending result and its state is polled (`duckdb_pending_execute_check_state`) while DuckDB's
 * own worker threads execute it; no pool thread and no JS time is spent while it runs. Cancelling
 * and timing out both interrupt the connection (`DuckDBConnection.interrupt()`), again on every
 * poll until the statement has stopped, so an interrupt cannot be lost between two statements;
 * the connection is free as soon as the promise settles.
 */
import duckdb from '@duckdb/node-bindings'
import type { DuckDBConnection, DuckDBPendingResult, DuckDBResultReader } from '@duckdb/node-api'

/** One result row as AWS returns it: a string or null per column. */
export type ResultRow = (string | null)[]

export class QueryTimeout extends Error {}

export class QueryCancelled extends Error {
  constructor() {
    super('The query was cancelled.')
  }
}

/** What a finished query returns (its rows went to `onRows` as they came). */
export interface QueryOutcome {
  columns: string[]
  /** Rows handed to `onRows`. */
  rowCount: number
  bytesScanned: number
  /** Events in the stores the query read. */
  eventsScanned: number
}

/** A store's size on disk when it last had `rows` rows, by table (kept by the engine). */
export type StoreSizes = Map<string, { rows: number; bytes: number }>

/** Takes a query's rows, a chunk (up to 2,048) at a time, in order. */
export type RowSink = (columns: string[], rows: ResultRow[]) => void | Promise<void>

/** DuckDB's storage block size (BytesScanned counts the blocks of the stores read). */
const BLOCK_BYTES = 262_144
/** Polling backs off from 1 ms to this. */
const MAX_POLL_MS = 16

/** Lets the caller stop a running query: `cancel` is set while it holds a connection. */
export interface QuerySignal {
  cancel?: () => void
}

/** The native handle inside node-api's pending result (its `runTask` would run on the JS thread). */
function nativePending(p: DuckDBPendingResult): duckdb.PendingResult {
  const raw = (p as unknown as { pending_result?: duckdb.PendingResult }).pending_result
  if (!raw) throw new Error('Unsupported @duckdb/node-api: no pending result handle.')
  return raw
}

/**
 * Runs one statement without holding a libuv thread. `halted()` is checked before it starts and
 * on every poll; once true the connection is interrupted until DuckDB reports the statement over,
 * and `stop()` is thrown.
 */
export async function runInterruptible(
  conn: DuckDBConnection,
  sql: string,
  halted: () => boolean,
  stop: () => Error,
): Promise<DuckDBResultReader> {
  if (halted()) throw stop()
  return (await whenReady(await conn.start(sql), conn, halted, stop)).readAll()
}

/**
 * Polls a pending result until it can be read (see runInterruptible). A statement halted while it
 * was being started is interrupted here like any other: DuckDB may already be running it, and the
 * connection must not be given back before it has stopped.
 */
async function whenReady(
  pending: DuckDBPendingResult,
  conn: DuckDBConnection,
  halted: () => boolean,
  stop: () => Error,
): Promise<DuckDBPendingResult> {
  const raw = nativePending(pending)
  let wait = 1
  for (;;) {
    if (halted()) conn.interrupt()
    const state = duckdb.pending_execute_check_state(raw)
    if (state === duckdb.PendingState.RESULT_READY) break
    if (state === duckdb.PendingState.ERROR) {
      // The C API also reports "execution finished" as ERROR, with no message.
      const message = duckdb.pending_error(raw)
      if (halted()) throw stop()
      if (message) throw new Error(message)
      break
    }
    await new Promise((ok) => setTimeout(ok, wait))
    wait = Math.min(wait * 2, MAX_POLL_MS)
  }
  if (halted()) throw stop()
  return pending
}

/**
 * Runs checked SQL on `conn` (already acquired) with a timeout and a cancel signal. Both stop the
 * statement through the connection's interrupt. The result is streamed: each chunk of rows goes to
 * `onRows` as DuckDB produces it, so a large result is never held in memory whole.
 */
export async function executeQuery(
  conn: DuckDBConnection,
  sql: string,
  tables: string[],
  opts: { timeoutMs: number; signal?: QuerySignal },
  onRows: RowSink,
  storeSizes: StoreSizes = new Map(),
): Promise<QueryOutcome> {
  let timedOut = false
  let cancelled = false
  const halted = () => timedOut || cancelled
  const stop = () => (timedOut ? new QueryTimeout() : new QueryCancelled())
  const timer = setTimeout(() => {
    timedOut = true
    conn.interrupt()
  }, opts.timeoutMs)
  if (opts.signal) {
    opts.signal.cancel = () => {
      cancelled = true
      conn.interrupt()
    }
  }
  const run = (q: string) => runInterruptible(conn, q, halted, stop)
  try {
    // Statistics of the stores read: their events, and their size on disk (DuckDB's blocks,
    // counted again only when a store's row count has changed since the last query).
    let bytesScanned = 0
    let eventsScanned = 0
    if (tables.length > 0) {
      const counts = (
        await run(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t})`).join(', ')}`)
      )
        .getRows()[0]!
        .map(Number)
      for (let i = 0; i < tables.length; i++) {
        const t = tables[i]!
        const n = counts[i]!
        let known = storeSizes.get(t)
        if (known?.rows !== n) {
          const b = await run(
            `SELECT count(DISTINCT block_id) FROM pragma_storage_info('${t}') WHERE block_id >= 0`,
          )
          const blocks = Number(b.getRows()[0]![0])
          // Rows not yet checkpointed to blocks are counted at a nominal 128 bytes each.
          known = { rows: n, bytes: blocks > 0 ? blocks * BLOCK_BYTES : n * 128 }
          storeSizes.set(t, known)
        }
        eventsScanned += n
        bytesScanned += known.bytes
      }
    }
    if (halted()) throw stop()
    const pending = await whenReady(await conn.startStream(sql), conn, halted, stop)
    const result = await pending.getResult()
    const columns = result.columnNames()
    let rowCount = 0
    for await (const rows of result.yieldRowsJson()) {
      if (halted()) throw stop()
      rowCount += rows.length
      await onRows(
        columns,
        rows.map((row) => row.map(cell)),
      )
    }
    if (halted()) throw stop()
    return { columns, rowCount, bytesScanned, eventsScanned }
  } catch (err) {
    if (halted()) throw stop()
    throw err
  } finally {
    clearTimeout(timer)
    if (opts.signal) delete opts.signal.cancel
  }
}

/** A result cell as the string AWS returns (JSON text for nested values; null stays null). */
export function cell(v: unknown): string | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  return JSON.stringify(v)
}
