/**
 * @module domains/lake/queries
 * Lake queries: QUEUED → RUNNING → FINISHED | FAILED | CANCELLED | TIMED_OUT, at most 10 queued
 * or running per account, executed by lake/engine.ts in its sandbox.
 *
 * Each query is kept on disk for 7 days, so a restart forgets nothing: `<dir>/<id>.json` is its
 * record (statement, status, times, statistics), rewritten atomically at each final status, and a
 * finished query's rows are `<dir>/<id>.jsonl` (one JSON array of cells per line) with the byte
 * offset of every 1000th row in the record, so that a page of GetQueryResults reads at most 2000
 * rows from the file. Queries that were queued or running when the server stopped are FAILED when
 * it starts again. The hourly sweep deletes records and rows older than 7 days.
 *
 * StartQuery's QueryParameters are bound to the statement's `?` placeholders as string literals
 * (lake/sql-params). With a DeliveryS3Uri, a finished query's rows are also written to S3 with a
 * signed sign file (query-delivery.ts); DescribeQuery reports the DeliveryStatus (PENDING while
 * writing). A delivery cut short by a restart is written again from the rows on disk.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { QueryTimeout, type LakeEngine, type QueryOutcome } from '../../lake/engine.js'
import { bindParameters } from '../../lake/sql-params.js'
import { readAllRows, readPage, ResultWriter } from './result-file.js'
import type { Clock } from '../../shared/clock.js'
import { awsError, type ServiceError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import {
  parseDeliveryUri,
  resultFolder,
  type DeliveryStatus,
  type QueryResultDelivery,
} from './query-delivery.js'
import { InactiveEventDataStoreException, type EventDataStore, type Scope } from './store-rules.js'

export const MaxConcurrentQueriesException = awsError('MaxConcurrentQueriesException')
export const QueryIdNotFoundException = awsError('QueryIdNotFoundException')
export const InactiveQueryException = awsError('InactiveQueryException')
export const InvalidMaxResultsException = awsError('InvalidMaxResultsException')
export const InvalidNextTokenException = awsError('InvalidNextTokenException')
const UnsupportedOperationException = awsError('UnsupportedOperationException')

export const MAX_CONCURRENT_QUERIES = 10
export const RESULTS_KEPT_MS = 7 * 86_400_000
/** Rows between two byte offsets kept in a query's record. */

export type QueryStatus = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT'

/** A finished query's result shape and statistics (its rows are on disk: `LakeQueries.results`). */
export interface QueryStats {
  columns: string[]
  /** Result rows (EventsMatched, TotalResultsCount). */
  resultsCount: number
  bytesScanned: number
  /** Events in the stores the query read. */
  eventsScanned: number
}

export interface LakeQuery {
  id: string
  accountId: string
  statement: string
  /** Store IDs the query reads. */
  storeIds: string[]
  status: QueryStatus
  createdAt: Date
  startedAt?: Date
  endedAt?: Date
  error?: string
  /** A dashboard widget's query alias and the refresh that started it (DescribeQuery by alias). */
  alias?: string
  refreshId?: string
  /** Set once FINISHED. */
  stats?: QueryStats
  /** StartQuery's DeliveryS3Uri, the region whose key signs the sign file, and how it went. */
  delivery?: QueryDelivery
  cancel?: { cancel?: () => void }
  cancelled?: boolean
}

export interface QueryDelivery {
  uri: string
  region: string
  status: DeliveryStatus
}

/** What StartQuery (or a dashboard refresh) asks for besides the statement. */
export interface StartQueryOptions {
  /** A dashboard widget's query alias and the refresh that started it. */
  alias?: string
  refreshId?: string
  /** Values bound, in order, to the statement's `?` placeholders. */
  parameters?: readonly string[]
  /** `s3://bucket/prefix` to write the results to once the query finishes. */
  deliveryS3Uri?: string
}

/** A page of a finished query's rows. */
export interface QueryResultsPage {
  query: LakeQuery
  columns: string[]
  rows: (string | null)[][]
  /** Rows in the whole result. */
  total: number
}

/** What `<dir>/<id>.json` holds. */
interface QueryRecord {
  id: string
  accountId: string
  statement: string
  storeIds: string[]
  status: QueryStatus
  createdAt: string
  startedAt?: string
  endedAt?: string
  error?: string
  alias?: string
  refreshId?: string
  stats?: QueryStats
  delivery?: QueryDelivery
  /** Byte offset of rows 0, 1000, 2000, ... in `<id>.jsonl`, then its size. */
  offsets?: number[]
}

const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Queries of every account: records in memory and on disk, rows on disk. */
export class LakeQueries {
  private readonly queries = new Map<string, LakeQuery>()
  private readonly offsets = new Map<string, number[]>()
  /** Each query's writes, in order (QUEUED, then its final status). */
  private readonly saving = new Map<string, Promise<void>>()

  private constructor(
    private readonly dir: string,
    private readonly engine: LakeEngine,
    private readonly clock: Clock,
    private readonly queryTimeoutMs: number,
    /** The store an ID or ARN names in the caller's account (LakeService.find). */
    private readonly find: (scope: Scope, ref: string) => EventDataStore,
    /** Writes results to S3 for DeliveryS3Uri (absent: DeliveryS3Uri is refused). */
    private readonly delivery: QueryResultDelivery | undefined,
  ) {}

  /** Loads the queries kept in `dir`; those the last run left queued or running become FAILED. */
  static async open(opts: {
    dir: string
    engine: LakeEngine
    clock: Clock
    queryTimeoutMs: number
    find: (scope: Scope, ref: string) => EventDataStore
    delivery?: QueryResultDelivery
  }): Promise<LakeQueries> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 })
    const qs = new LakeQueries(
      opts.dir,
      opts.engine,
      opts.clock,
      opts.queryTimeoutMs,
      opts.find,
      opts.delivery,
    )
    for (const name of await readdir(opts.dir)) {
      if (!name.endsWith('.json') || !ID_RE.test(name.slice(0, -5))) continue
      const r = await readJsonFile<QueryRecord>(join(opts.dir, name))
      if (!r) continue
      const q: LakeQuery = {
        id: r.id,
        accountId: r.accountId,
        statement: r.statement,
        storeIds: r.storeIds,
        status: r.status,
        createdAt: new Date(r.createdAt),
        ...(r.startedAt ? { startedAt: new Date(r.startedAt) } : {}),
        ...(r.endedAt ? { endedAt: new Date(r.endedAt) } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.alias !== undefined ? { alias: r.alias } : {}),
        ...(r.refreshId !== undefined ? { refreshId: r.refreshId } : {}),
        ...(r.stats ? { stats: r.stats } : {}),
        ...(r.delivery ? { delivery: r.delivery } : {}),
      }
      qs.queries.set(q.id, q)
      if (r.offsets) qs.offsets.set(q.id, r.offsets)
      if (q.status === 'QUEUED' || q.status === 'RUNNING') {
        q.status = 'FAILED'
        q.error = 'The server stopped before the query finished.'
        q.endedAt = opts.clock.now()
        if (q.delivery) q.delivery.status = 'FAILED'
        void qs.save(q)
      } else if (q.status === 'FINISHED' && q.delivery?.status === 'PENDING' && q.stats) {
        // The server stopped while writing the results to S3: write them again from disk.
        const stats = q.stats
        void readAllRows(qs.rowsFile(q.id))
          .then((rows) => qs.deliver(q, stats.columns, rows))
          .catch(() => qs.deliverFailed(q))
      }
    }
    await qs.flush()
    return qs
  }

  private recordFile(id: string): string {
    return join(this.dir, `${id}.json`)
  }

  private rowsFile(id: string): string {
    return join(this.dir, `${id}.jsonl`)
  }

  /** Queues an atomic rewrite of the query's record (after its earlier writes). */
  private save(q: LakeQuery): Promise<void> {
    const offsets = this.offsets.get(q.id)
    const record: QueryRecord = {
      id: q.id,
      accountId: q.accountId,
      statement: q.statement,
      storeIds: q.storeIds,
      status: q.status,
      createdAt: q.createdAt.toISOString(),
      ...(q.startedAt ? { startedAt: q.startedAt.toISOString() } : {}),
      ...(q.endedAt ? { endedAt: q.endedAt.toISOString() } : {}),
      ...(q.error !== undefined ? { error: q.error } : {}),
      ...(q.alias !== undefined ? { alias: q.alias } : {}),
      ...(q.refreshId !== undefined ? { refreshId: q.refreshId } : {}),
      ...(q.stats ? { stats: q.stats } : {}),
      ...(q.delivery ? { delivery: { ...q.delivery } } : {}),
      ...(offsets ? { offsets } : {}),
    }
    const next = (this.saving.get(q.id) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => writeJsonFileAtomic(this.recordFile(q.id), record, 0o600))
    this.saving.set(q.id, next)
    void next.then(
      () => this.saving.get(q.id) === next && this.saving.delete(q.id),
      () => undefined,
    )
    return next
  }

  /** Waits for every queued record write. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.saving.values()])
  }

  /** Forgets queries older than 7 days, with their records and rows. */
  async sweep(now: number): Promise<void> {
    for (const [id, q] of this.queries) {
      if (now - q.createdAt.getTime() < RESULTS_KEPT_MS) continue
      if (q.status === 'QUEUED' || q.status === 'RUNNING') continue
      this.queries.delete(id)
      this.offsets.delete(id)
      await this.saving.get(id)?.catch(() => undefined)
      await rm(this.recordFile(id), { force: true })
      await rm(this.rowsFile(id), { force: true })
    }
  }

  /**
   * Starts a query. `mayRead(arn)` is the IAM check (cloudtrail:StartQuery on each store's ARN);
   * it returns the AccessDeniedException to throw, if any. `alias`/`refreshId` tag a dashboard
   * widget's query (DescribeQuery finds it by them); `parameters` fill the `?` placeholders;
   * `deliveryS3Uri` asks for the results in S3 (the bucket must exist).
   */
  async startQuery(
    scope: Scope,
    template: string,
    mayRead: (arn: string) => ServiceError | undefined,
    tags: StartQueryOptions = {},
  ): Promise<LakeQuery> {
    const statement = bindParameters(template, tags.parameters ?? [])
    const target =
      tags.deliveryS3Uri !== undefined ? parseDeliveryUri(tags.deliveryS3Uri) : undefined
    if (target && !this.delivery) {
      throw UnsupportedOperationException('Query result delivery to S3 is not configured.')
    }
    const running = [...this.queries.values()].filter(
      (q) => q.accountId === scope.accountId && (q.status === 'QUEUED' || q.status === 'RUNNING'),
    )
    if (running.length >= MAX_CONCURRENT_QUERIES) {
      throw MaxConcurrentQueriesException(
        `You have reached the maximum number of concurrent queries (${MAX_CONCURRENT_QUERIES}).`,
      )
    }
    const storeIds: string[] = []
    const prepared = await this.engine.prepare(statement, (_table, ref) => {
      const st = this.find(scope, ref.arn ?? ref.id)
      if (st.status === 'PENDING_DELETION') {
        throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
      }
      const denied = mayRead(st.arn)
      if (denied) throw denied
      storeIds.push(st.id)
    })
    // Checked again: other queries of the account may have started while this one was parsed.
    const now = [...this.queries.values()].filter(
      (q) => q.accountId === scope.accountId && (q.status === 'QUEUED' || q.status === 'RUNNING'),
    )
    if (now.length >= MAX_CONCURRENT_QUERIES) {
      throw MaxConcurrentQueriesException(
        `You have reached the maximum number of concurrent queries (${MAX_CONCURRENT_QUERIES}).`,
      )
    }
    const id = randomUUID()
    if (target) {
      const probe = resultFolder(target, scope.accountId, id, this.clock.now()) + 'result_1.csv.gz'
      await this.delivery!.check(target, probe, scope.accountId)
    }
    const q: LakeQuery = {
      id,
      accountId: scope.accountId,
      statement,
      storeIds,
      status: 'QUEUED',
      createdAt: this.clock.now(),
      ...(tags.alias !== undefined ? { alias: tags.alias } : {}),
      ...(tags.refreshId !== undefined ? { refreshId: tags.refreshId } : {}),
      ...(target
        ? {
            delivery: {
              uri: tags.deliveryS3Uri!,
              region: scope.region,
              status: 'PENDING' as const,
            },
          }
        : {}),
      cancel: {},
    }
    this.queries.set(q.id, q)
    await this.save(q)
    // Rows go to disk as the query streams them.
    const writer = new ResultWriter(this.rowsFile(q.id))
    void this.engine
      .execute(
        prepared.sql,
        prepared.tables,
        {
          timeoutMs: this.queryTimeoutMs,
          signal: q.cancel!,
          onStart: () => {
            if (q.status === 'QUEUED') q.status = 'RUNNING'
            q.startedAt = this.clock.now()
            if (q.cancelled) throw new Error('cancelled while queued')
          },
        },
        (_columns, rows) => writer.write(rows),
      )
      .then(
        (result) => this.finished(q, result, writer),
        async (err: unknown) => {
          writer.abort()
          await rm(this.rowsFile(q.id), { force: true })
          if (q.cancelled) return
          if (err instanceof QueryTimeout) {
            q.status = 'TIMED_OUT'
            q.error = 'The query timed out.'
          } else {
            q.status = 'FAILED'
            q.error = String((err as Error).message ?? err).replace(
              /eds_([0-9a-f]{32})/g,
              (_m, h: string) => h.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
            )
          }
          q.endedAt = this.clock.now()
          // AWS keeps partial results of failed queries but does not deliver them.
          if (q.delivery) q.delivery.status = 'FAILED'
          return this.save(q)
        },
      )
      .catch(() => undefined)
    return q
  }

  /** Closes a finished query's rows file, then writes its record: FINISHED once both are on disk. */
  private async finished(q: LakeQuery, result: QueryOutcome, writer: ResultWriter): Promise<void> {
    const endedAt = this.clock.now()
    try {
      this.offsets.set(q.id, await writer.close())
    } catch (err) {
      if (q.cancelled) return
      q.status = 'FAILED'
      q.error = `The results could not be stored: ${(err as Error).message}`
      q.endedAt = endedAt
      if (q.delivery) q.delivery.status = 'FAILED'
      await this.save(q)
      return
    }
    if (q.cancelled) {
      this.offsets.delete(q.id)
      await rm(this.rowsFile(q.id), { force: true })
      return
    }
    q.stats = {
      columns: result.columns,
      resultsCount: result.rowCount,
      bytesScanned: result.bytesScanned,
      eventsScanned: result.eventsScanned,
    }
    q.endedAt = endedAt
    q.status = 'FINISHED'
    await this.save(q)
    if (q.delivery) {
      await this.deliver(q, result.columns, await readAllRows(this.rowsFile(q.id)))
    }
  }

  /** Writes a finished query's rows to its DeliveryS3Uri and records the DeliveryStatus. */
  private async deliver(q: LakeQuery, columns: string[], rows: (string | null)[][]): Promise<void> {
    const d = q.delivery
    if (!d || !this.delivery) return this.deliverFailed(q)
    let status: DeliveryStatus
    try {
      status = await this.delivery.deliver({
        target: parseDeliveryUri(d.uri),
        accountId: q.accountId,
        region: d.region,
        queryId: q.id,
        completedAt: q.endedAt ?? this.clock.now(),
        columns,
        rows,
      })
    } catch {
      status = 'FAILED'
    }
    d.status = status
    await this.save(q)
  }

  private async deliverFailed(q: LakeQuery): Promise<void> {
    if (q.delivery) q.delivery.status = 'FAILED'
    await this.save(q)
  }

  query(scope: Scope, id: string): LakeQuery {
    const q = this.queries.get(id)
    if (!q || q.accountId !== scope.accountId) {
      throw QueryIdNotFoundException(
        `The query ID ${id} does not exist or does not belong to your account.`,
      )
    }
    return q
  }

  /** The account's query started for a dashboard widget (`alias`) by the refresh `refreshId`. */
  queryByAlias(scope: Scope, alias: string, refreshId: string): LakeQuery {
    const q = [...this.queries.values()].find(
      (x) => x.accountId === scope.accountId && x.alias === alias && x.refreshId === refreshId,
    )
    if (!q) {
      throw QueryIdNotFoundException(
        `No query with the alias ${alias} and refresh ID ${refreshId} belongs to your account.`,
      )
    }
    return q
  }

  /**
   * Rows `start` to `start + limit - 1` of a query's result, read from disk (none unless
   * FINISHED).
   */
  async results(scope: Scope, id: string, start = 0, limit = 1000): Promise<QueryResultsPage> {
    const q = this.query(scope, id)
    const offsets = this.offsets.get(q.id)
    if (q.status !== 'FINISHED' || !q.stats || !offsets) {
      return { query: q, columns: q.stats?.columns ?? [], rows: [], total: 0 }
    }
    const total = q.stats.resultsCount
    const first = Math.max(0, Math.min(start, total))
    const count = Math.max(0, Math.min(limit, total - first))
    if (count === 0) return { query: q, columns: q.stats.columns, rows: [], total }
    const rows = await readPage(this.rowsFile(q.id), offsets, first, count)
    return { query: q, columns: q.stats.columns, rows, total }
  }

  cancelQuery(scope: Scope, id: string): LakeQuery {
    const q = this.query(scope, id)
    if (q.status !== 'QUEUED' && q.status !== 'RUNNING') {
      throw InactiveQueryException(`The query ${id} is not running (status ${q.status}).`)
    }
    q.cancelled = true
    q.status = 'CANCELLED'
    q.endedAt = this.clock.now()
    if (q.delivery) q.delivery.status = 'CANCELLED'
    q.cancel?.cancel?.()
    void this.save(q).catch(() => undefined)
    return q
  }

  /** The account's queries of the last 7 days that read the store, newest first (then by ID). */
  listQueries(scope: Scope, storeRef: string): LakeQuery[] {
    const st = this.find(scope, storeRef)
    const cutoff = this.clock.now().getTime() - RESULTS_KEPT_MS
    return [...this.queries.values()]
      .filter(
        (q) =>
          q.accountId === scope.accountId &&
          q.storeIds.includes(st.id) &&
          q.createdAt.getTime() >= cutoff,
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : 1))
  }
}
