/**
 * @module domains/lake/queries
 * Lake queries: QUEUED → RUNNING → FINISHED | FAILED | CANCELLED | TIMED_OUT, at most 10 concurrent
 * per account, results kept 7 days; executed by lake/engine.ts in its sandbox.
 */
import { randomUUID } from 'node:crypto'
import { QueryTimeout, type LakeEngine, type QueryOutcome } from '../../lake/engine.js'
import type { Clock } from '../../shared/clock.js'
import { awsError, type ServiceError } from '../../shared/errors.js'
import { InactiveEventDataStoreException, type EventDataStore, type Scope } from './store-rules.js'

export const MaxConcurrentQueriesException = awsError('MaxConcurrentQueriesException')
export const QueryIdNotFoundException = awsError('QueryIdNotFoundException')
export const InactiveQueryException = awsError('InactiveQueryException')
export const InvalidMaxResultsException = awsError('InvalidMaxResultsException')
export const InvalidNextTokenException = awsError('InvalidNextTokenException')

export const MAX_CONCURRENT_QUERIES = 10
const RESULTS_KEPT_MS = 7 * 86_400_000

export type QueryStatus = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT'

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
  result?: QueryOutcome
  cancel?: { cancel?: () => void }
  cancelled?: boolean
}

/** Queries of every account, in memory. */
export class LakeQueries {
  private readonly queries = new Map<string, LakeQuery>()

  constructor(
    private readonly engine: LakeEngine,
    private readonly clock: Clock,
    private readonly queryTimeoutMs: number,
    /** The store an ID or ARN names in the caller's account (LakeService.find). */
    private readonly find: (scope: Scope, ref: string) => EventDataStore,
  ) {}

  /** Forgets queries older than 7 days. */
  sweep(now: number): void {
    for (const [id, q] of this.queries) {
      if (now - q.createdAt.getTime() >= RESULTS_KEPT_MS) this.queries.delete(id)
    }
  }

  /**
   * Starts a query. `mayRead(arn)` is the IAM check (cloudtrail:StartQuery on each store's ARN);
   * it returns the AccessDeniedException to throw, if any.
   */
  async startQuery(
    scope: Scope,
    statement: string,
    mayRead: (arn: string) => ServiceError | undefined,
  ): Promise<LakeQuery> {
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
    const q: LakeQuery = {
      id: randomUUID(),
      accountId: scope.accountId,
      statement,
      storeIds,
      status: 'QUEUED',
      createdAt: this.clock.now(),
      cancel: {},
    }
    this.queries.set(q.id, q)
    void this.engine
      .execute(prepared.sql, prepared.tables, {
        timeoutMs: this.queryTimeoutMs,
        signal: q.cancel!,
        onStart: () => {
          if (q.status === 'QUEUED') q.status = 'RUNNING'
          q.startedAt = this.clock.now()
          if (q.cancelled) throw new Error('cancelled while queued')
        },
      })
      .then(
        (result) => {
          if (q.cancelled) return
          q.result = result
          q.status = 'FINISHED'
        },
        (err: unknown) => {
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
        },
      )
      .finally(() => {
        q.endedAt = this.clock.now()
      })
    return q
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

  cancelQuery(scope: Scope, id: string): LakeQuery {
    const q = this.query(scope, id)
    if (q.status !== 'QUEUED' && q.status !== 'RUNNING') {
      throw InactiveQueryException(`The query ${id} is not running (status ${q.status}).`)
    }
    q.cancelled = true
    q.status = 'CANCELLED'
    q.cancel?.cancel?.()
    return q
  }

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
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
  }
}
