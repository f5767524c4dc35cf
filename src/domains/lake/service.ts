/**
 * @module domains/lake/service
 * CloudTrail Lake: event data stores (AWS's lifecycle: ENABLED, STOPPED_INGESTION,
 * PENDING_DELETION for 7 days, termination protection, retention) persisted in a JSON file; the
 * store rules are in store-rules.ts, queries (statuses, limits, results) in queries.ts.
 */
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'
import type { CloudTrailRecord } from '../../events/record.js'
import type { LakeEngine, RoutedStore } from '../../lake/engine.js'
import type { ParquetExporter } from '../../lake/export.js'
import { tableOf } from '../../lake/sql.js'
import type { Clock } from '../../shared/clock.js'
import { ServiceError, awsError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import type { Tag } from '../trails/model.js'
import { trailMatches } from '../trails/selectors.js'
import { validateTags } from '../trails/tags.js'
import {
  LakeQueries,
  type LakeQuery,
  type QueryResultsPage,
  type StartQueryOptions,
} from './queries.js'
import type { QueryResultDelivery } from './query-delivery.js'
import {
  ARN_RE,
  EventDataStoreAlreadyExistsException,
  EventDataStoreARNInvalidException,
  EventDataStoreMaxLimitExceededException,
  EventDataStoreNotFoundException,
  EventDataStoreTerminationProtectedException,
  ID_RE,
  InactiveEventDataStoreException,
  InvalidParameterException,
  MAX_STORES_PER_REGION,
  normalizeStoreSelectors,
  validateName,
  validateRetention,
  type EventDataStore,
  type Scope,
  type StoreSettings,
} from './store-rules.js'

export * from './store-rules.js'
export {
  InactiveQueryException,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  MAX_CONCURRENT_QUERIES,
  MaxConcurrentQueriesException,
  QueryIdNotFoundException,
  type LakeQuery,
  type QueryResultsPage,
  type QueryStats,
  type QueryStatus,
  type StartQueryOptions,
} from './queries.js'

const DAY = 86_400_000
const PENDING_DELETION_MS = 7 * DAY

export class LakeService {
  private queries!: LakeQueries

  private constructor(
    private readonly file: string,
    private stores: EventDataStore[],
    readonly engine: LakeEngine,
    private readonly clock: Clock,
  ) {}

  /** The Parquet copy in the object store (lake/export.ts), when configured. */
  exporter: ParquetExporter | undefined

  static async open(opts: {
    file: string
    engine: LakeEngine
    clock: Clock
    queryTimeoutMs?: number
    exporter?: ParquetExporter
    /** Where query records and results are kept (default: `lake-queries` beside `file`). */
    queriesDir?: string
    /** Writes query results to S3 for StartQuery's DeliveryS3Uri (query-delivery.ts). */
    delivery?: QueryResultDelivery
  }): Promise<LakeService> {
    const stores = (await readJsonFile<EventDataStore[]>(opts.file)) ?? []
    const svc = new LakeService(opts.file, stores, opts.engine, opts.clock)
    for (const st of stores) await opts.engine.ensureTable(st.id)
    svc.exporter = opts.exporter
    svc.queries = await LakeQueries.open({
      dir: opts.queriesDir ?? join(dirname(opts.file), 'lake-queries'),
      engine: opts.engine,
      clock: opts.clock,
      queryTimeoutMs: opts.queryTimeoutMs ?? 60 * 60 * 1000,
      find: (scope, ref) => svc.find(scope, ref),
      ...(opts.delivery ? { delivery: opts.delivery } : {}),
    })
    return svc
  }

  private async save(): Promise<void> {
    this.routedCache = undefined
    await writeJsonFileAtomic(this.file, this.stores, 0o600)
  }

  private routedCache: RoutedStore[] | undefined

  private now(): string {
    return this.clock.now().toISOString()
  }

  /** Stores that receive events (status ENABLED), for the pipeline sink. */
  routed(): RoutedStore[] {
    return (this.routedCache ??= this.computeRouted())
  }

  private computeRouted(): RoutedStore[] {
    return this.stores
      .filter((st) => st.status === 'ENABLED')
      .map((st) => ({
        id: st.id,
        accountId: st.accountId,
        matches: (r: CloudTrailRecord) =>
          trailMatches(
            {
              accountId: st.accountId,
              homeRegion: st.region,
              isMultiRegionTrail: st.multiRegionEnabled,
              includeGlobalServiceEvents: true,
              eventSelectors: { kind: 'advanced', selectors: st.advancedEventSelectors },
              insightSelectors: [],
            },
            r,
          ),
      }))
  }

  /** Whether a store exists (in any status: its table is still there). */
  has(id: string): boolean {
    return this.stores.some((st) => st.id === id)
  }

  /** The store an ID or ARN names, in the caller's account (another account's is not found). */
  find(scope: Scope, ref: string): EventDataStore {
    const m = ARN_RE.exec(ref)
    const id = m ? m[3]! : ref
    if (!m && !ID_RE.test(ref)) {
      throw EventDataStoreARNInvalidException(
        `The specified event data store ARN is not valid: ${ref}`,
      )
    }
    const st = this.stores.find((x) => x.id === id && x.accountId === scope.accountId)
    if (!st || (m && (m[2] !== scope.accountId || m[1] !== st.region))) {
      throw EventDataStoreNotFoundException(`The specified event data store ${ref} was not found.`)
    }
    return st
  }

  list(scope: Scope): EventDataStore[] {
    return this.stores.filter((x) => x.accountId === scope.accountId && x.region === scope.region)
  }

  async create(
    scope: Scope,
    input: StoreSettings & { name: string; tags: Tag[]; startIngestion?: boolean },
  ): Promise<EventDataStore> {
    validateName(input.name)
    const mine = this.list(scope)
    if (mine.some((x) => x.name === input.name)) {
      throw EventDataStoreAlreadyExistsException(
        `An event data store with the name ${input.name} already exists.`,
      )
    }
    if (mine.length >= MAX_STORES_PER_REGION) {
      throw EventDataStoreMaxLimitExceededException(
        `Your account has the maximum number of event data stores (${MAX_STORES_PER_REGION}) in this region.`,
      )
    }
    validateTags(input.tags, { checkValues: true })
    const billingMode = input.billingMode ?? 'EXTENDABLE_RETENTION_PRICING'
    const retentionPeriod =
      input.retentionPeriod ?? (billingMode === 'FIXED_RETENTION_PRICING' ? 2557 : 366)
    validateRetention(retentionPeriod, billingMode)
    if (input.organizationEnabled) {
      throw awsError('OrganizationsNotInUseException')(
        'This account is not part of an AWS Organization.',
      )
    }
    const id = randomUUID()
    const now = this.now()
    const st: EventDataStore = {
      id,
      arn: `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:eventdatastore/${id}`,
      accountId: scope.accountId,
      region: scope.region,
      name: input.name,
      status: input.startIngestion === false ? 'STOPPED_INGESTION' : 'ENABLED',
      advancedEventSelectors: normalizeStoreSelectors(input.advancedEventSelectors ?? []),
      multiRegionEnabled: input.multiRegionEnabled ?? true,
      organizationEnabled: false,
      retentionPeriod,
      terminationProtectionEnabled: input.terminationProtectionEnabled ?? true,
      ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
      billingMode,
      tags: input.tags,
      createdTimestamp: now,
      updatedTimestamp: now,
    }
    await this.engine.ensureTable(id)
    this.stores.push(st)
    await this.save()
    return st
  }

  async update(scope: Scope, ref: string, input: StoreSettings & { name?: string }) {
    const st = this.find(scope, ref)
    if (st.status === 'PENDING_DELETION') {
      throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
    }
    if (input.name !== undefined && input.name !== st.name) {
      validateName(input.name)
      if (this.list(scope).some((x) => x.name === input.name)) {
        throw EventDataStoreAlreadyExistsException(
          `An event data store with the name ${input.name} already exists.`,
        )
      }
    }
    const billingMode = input.billingMode ?? st.billingMode
    if (
      st.billingMode === 'EXTENDABLE_RETENTION_PRICING' &&
      billingMode === 'FIXED_RETENTION_PRICING'
    ) {
      throw InvalidParameterException(
        'The billing mode can change only from FIXED_RETENTION_PRICING to EXTENDABLE_RETENTION_PRICING.',
      )
    }
    const retentionPeriod = input.retentionPeriod ?? st.retentionPeriod
    validateRetention(retentionPeriod, billingMode)
    if (input.organizationEnabled) {
      throw awsError('OrganizationsNotInUseException')(
        'This account is not part of an AWS Organization.',
      )
    }
    const selectors =
      input.advancedEventSelectors !== undefined
        ? normalizeStoreSelectors(input.advancedEventSelectors)
        : st.advancedEventSelectors
    Object.assign(st, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      advancedEventSelectors: selectors,
      ...(input.multiRegionEnabled !== undefined
        ? { multiRegionEnabled: input.multiRegionEnabled }
        : {}),
      ...(input.terminationProtectionEnabled !== undefined
        ? { terminationProtectionEnabled: input.terminationProtectionEnabled }
        : {}),
      ...(input.kmsKeyId !== undefined ? { kmsKeyId: input.kmsKeyId } : {}),
      billingMode,
      retentionPeriod,
      updatedTimestamp: this.now(),
    })
    await this.save()
    return st
  }

  async delete(scope: Scope, ref: string): Promise<void> {
    const st = this.find(scope, ref)
    if (st.terminationProtectionEnabled) {
      throw EventDataStoreTerminationProtectedException(
        `Event data store ${st.arn} cannot be deleted because termination protection is enabled.`,
      )
    }
    if (st.status === 'PENDING_DELETION') {
      throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
    }
    st.status = 'PENDING_DELETION'
    st.deletedAt = this.now()
    st.updatedTimestamp = st.deletedAt
    await this.save()
  }

  async restore(scope: Scope, ref: string): Promise<EventDataStore> {
    const st = this.find(scope, ref)
    if (st.status !== 'PENDING_DELETION') {
      throw awsError('InvalidEventDataStoreStatusException')(
        `Event data store ${st.arn} is not pending deletion.`,
      )
    }
    st.status = 'ENABLED'
    delete st.deletedAt
    st.updatedTimestamp = this.now()
    await this.save()
    return st
  }

  async setIngestion(scope: Scope, ref: string, on: boolean): Promise<void> {
    const st = this.find(scope, ref)
    const ok = on ? ['STOPPED_INGESTION', 'ENABLED'] : ['ENABLED', 'STOPPED_INGESTION']
    if (!ok.includes(st.status)) {
      throw awsError('InvalidEventDataStoreStatusException')(
        `Event data store ${st.arn} has status ${st.status}.`,
      )
    }
    st.status = on ? 'ENABLED' : 'STOPPED_INGESTION'
    st.updatedTimestamp = this.now()
    await this.save()
  }

  /** Hourly: retention per store, stores past their 7 days of PENDING_DELETION, old queries. */
  async sweep(): Promise<void> {
    const now = this.clock.now().getTime()
    for (const st of [...this.stores]) {
      if (
        st.status === 'PENDING_DELETION' &&
        now - Date.parse(st.deletedAt!) >= PENDING_DELETION_MS
      ) {
        this.stores = this.stores.filter((x) => x !== st)
        await this.save()
        await this.engine.dropTable(st.id)
        await this.exporter?.remove(st)
        continue
      }
      await this.engine.expire(st.id, new Date(now - st.retentionPeriod * DAY))
    }
    await this.queries.sweep(now)
    await this.exportParquet()
  }

  /** Writes the changed days of every store to the object store as Parquet (if configured). */
  async exportParquet(): Promise<{ written: number; deleted: number }> {
    if (!this.exporter) return { written: 0, deleted: 0 }
    return this.exporter.run(this.stores)
  }

  // ---- queries (queries.ts) ----

  /**
   * Starts a query. `mayRead(arn)` is the IAM check (cloudtrail:StartQuery on each store's ARN);
   * it returns the AccessDeniedException to throw, if any. `tags` carries QueryParameters,
   * DeliveryS3Uri and a dashboard widget's alias and refresh.
   */
  startQuery(
    scope: Scope,
    statement: string,
    mayRead: (arn: string) => ServiceError | undefined,
    tags: StartQueryOptions = {},
  ): Promise<LakeQuery> {
    return this.queries.startQuery(scope, statement, mayRead, tags)
  }

  query(scope: Scope, id: string): LakeQuery {
    return this.queries.query(scope, id)
  }

  /** A dashboard widget's query, by its alias and the refresh that started it. */
  queryByAlias(scope: Scope, alias: string, refreshId: string): LakeQuery {
    return this.queries.queryByAlias(scope, alias, refreshId)
  }

  /** A page of a finished query's rows (read from disk), with the result's columns and size. */
  results(scope: Scope, id: string, start = 0, limit = 1000): Promise<QueryResultsPage> {
    return this.queries.results(scope, id, start, limit)
  }

  /** Waits for queued query record writes (before closing). */
  flush(): Promise<void> {
    return this.queries.flush()
  }

  cancelQuery(scope: Scope, id: string): LakeQuery {
    return this.queries.cancelQuery(scope, id)
  }

  listQueries(scope: Scope, storeRef: string): LakeQuery[] {
    return this.queries.listQueries(scope, storeRef)
  }

  tableOf(st: EventDataStore): string {
    return tableOf(st.id)
  }
}
