/**
 * @module domains/lake/service
 * CloudTrail Lake: event data stores (AWS's lifecycle: ENABLED, STOPPED_INGESTION,
 * PENDING_DELETION for 7 days, termination protection, retention) persisted in a JSON file, and
 * queries (QUEUED → RUNNING → FINISHED | FAILED | CANCELLED | TIMED_OUT, at most 10 concurrent per
 * account, results kept 7 days) executed by lake/engine.ts in its sandbox.
 */
import { randomUUID } from 'node:crypto'
import type { CloudTrailRecord } from '../../events/record.js'
import { LakeEngine, QueryTimeout, type QueryOutcome, type RoutedStore } from '../../lake/engine.js'
import type { ParquetExporter } from '../../lake/export.js'
import { tableOf } from '../../lake/sql.js'
import type { Clock } from '../../shared/clock.js'
import { ServiceError, awsError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import type { AdvancedEventSelector, Tag } from '../trails/model.js'
import { normalizeAdvancedSelectors } from '../trails/selector-rules.js'
import { trailMatches } from '../trails/selectors.js'
import { validateTags } from '../trails/tags.js'

export const EventDataStoreNotFoundException = awsError('EventDataStoreNotFoundException')
export const EventDataStoreAlreadyExistsException = awsError('EventDataStoreAlreadyExistsException')
export const EventDataStoreMaxLimitExceededException = awsError(
  'EventDataStoreMaxLimitExceededException',
)
export const EventDataStoreTerminationProtectedException = awsError(
  'EventDataStoreTerminationProtectedException',
)
export const EventDataStoreARNInvalidException = awsError('EventDataStoreARNInvalidException')
export const InactiveEventDataStoreException = awsError('InactiveEventDataStoreException')
export const InvalidParameterException = awsError('InvalidParameterException')
export const InvalidEventSelectorsException = awsError('InvalidEventSelectorsException')
export const MaxConcurrentQueriesException = awsError('MaxConcurrentQueriesException')
export const QueryIdNotFoundException = awsError('QueryIdNotFoundException')
export const InactiveQueryException = awsError('InactiveQueryException')
export const InvalidMaxResultsException = awsError('InvalidMaxResultsException')
export const InvalidNextTokenException = awsError('InvalidNextTokenException')

export const MAX_STORES_PER_REGION = 10
export const MAX_CONCURRENT_QUERIES = 10
const DAY = 86_400_000
const PENDING_DELETION_MS = 7 * DAY
const RESULTS_KEPT_MS = 7 * DAY

export type StoreStatus =
  | 'CREATED'
  | 'ENABLED'
  | 'PENDING_DELETION'
  | 'STARTING_INGESTION'
  | 'STOPPING_INGESTION'
  | 'STOPPED_INGESTION'

export type BillingMode = 'EXTENDABLE_RETENTION_PRICING' | 'FIXED_RETENTION_PRICING'

export interface EventDataStore {
  id: string
  arn: string
  accountId: string
  region: string
  name: string
  status: StoreStatus
  advancedEventSelectors: AdvancedEventSelector[]
  multiRegionEnabled: boolean
  organizationEnabled: boolean
  retentionPeriod: number
  terminationProtectionEnabled: boolean
  kmsKeyId?: string
  billingMode: BillingMode
  tags: Tag[]
  createdTimestamp: string
  updatedTimestamp: string
  /** When DeleteEventDataStore was called (PENDING_DELETION until 7 days later). */
  deletedAt?: string
}

export interface Scope {
  accountId: string
  region: string
}

export interface StoreSettings {
  advancedEventSelectors?: AdvancedEventSelector[]
  multiRegionEnabled?: boolean
  organizationEnabled?: boolean
  retentionPeriod?: number
  terminationProtectionEnabled?: boolean
  kmsKeyId?: string
  billingMode?: BillingMode
}

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

const DEFAULT_SELECTORS: AdvancedEventSelector[] = [
  {
    name: 'Default management events',
    fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }],
  },
]

/** Event categories of non-AWS and other sources: their selectors name only eventCategory. */
const CATEGORY_ONLY = ['ActivityAuditLog', 'ConfigurationItem', 'Insight']
/** Fields event data stores allow on management events beyond trails'. */
const EDS_MANAGEMENT_FIELDS = [
  'eventName',
  'eventType',
  'sessionCredentialFromConsole',
  'userIdentity.arn',
]

/** Validates advanced selectors for an event data store, reusing the trails' rules. */
export function normalizeStoreSelectors(input: AdvancedEventSelector[]): AdvancedEventSelector[] {
  if (input.length === 0) return DEFAULT_SELECTORS
  return input.map((sel) => {
    const cat = sel.fieldSelectors.find((f) => f.field === 'eventCategory')
    const value = cat?.equals?.[0]
    if (value !== undefined && CATEGORY_ONLY.includes(value)) {
      if (sel.fieldSelectors.length !== 1 || cat!.equals!.length !== 1) {
        throw InvalidEventSelectorsException(
          `Selectors for ${value} events support only the eventCategory field with one Equals value.`,
        )
      }
      return { ...sel, fieldSelectors: [{ field: 'eventCategory', equals: [value] }] }
    }
    const extra =
      value === 'Management'
        ? sel.fieldSelectors.filter((f) => EDS_MANAGEMENT_FIELDS.includes(f.field))
        : []
    const rest = sel.fieldSelectors.filter((f) => !extra.includes(f))
    const [checked] = normalizeAdvancedSelectors([{ ...sel, fieldSelectors: rest }])
    for (const f of extra) {
      if (!Object.values(f).some((v) => Array.isArray(v) && v.length > 0)) {
        throw InvalidEventSelectorsException(`Field ${f.field} must have at least one operator.`)
      }
    }
    return { ...checked!, fieldSelectors: [...checked!.fieldSelectors, ...extra] }
  })
}

const ARN_RE =
  /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):eventdatastore\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class LakeService {
  private readonly queries = new Map<string, LakeQuery>()

  private constructor(
    private readonly file: string,
    private stores: EventDataStore[],
    readonly engine: LakeEngine,
    private readonly clock: Clock,
    private readonly queryTimeoutMs: number,
  ) {}

  /** The Parquet copy in the object store (lake/export.ts), when configured. */
  exporter: ParquetExporter | undefined

  static async open(opts: {
    file: string
    engine: LakeEngine
    clock: Clock
    queryTimeoutMs?: number
    exporter?: ParquetExporter
  }): Promise<LakeService> {
    const stores = (await readJsonFile<EventDataStore[]>(opts.file)) ?? []
    const svc = new LakeService(
      opts.file,
      stores,
      opts.engine,
      opts.clock,
      opts.queryTimeoutMs ?? 60 * 60 * 1000,
    )
    for (const st of stores) await opts.engine.ensureTable(st.id)
    svc.exporter = opts.exporter
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
    for (const [id, q] of this.queries) {
      if (now - q.createdAt.getTime() >= RESULTS_KEPT_MS) this.queries.delete(id)
    }
    await this.exportParquet()
  }

  /** Writes the changed days of every store to the object store as Parquet (if configured). */
  async exportParquet(): Promise<{ written: number; deleted: number }> {
    if (!this.exporter) return { written: 0, deleted: 0 }
    return this.exporter.run(this.stores)
  }

  // ---- queries ----

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

  tableOf(st: EventDataStore): string {
    return tableOf(st.id)
  }
}

function validateName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/.test(name)) {
    throw InvalidParameterException(
      'Event data store names are 3-128 characters of letters, digits, periods, underscores and hyphens, starting and ending with a letter or digit.',
    )
  }
}

function validateRetention(days: number, mode: BillingMode): void {
  const max = mode === 'FIXED_RETENTION_PRICING' ? 2557 : 3653
  if (!Number.isInteger(days) || days < 7 || days > max) {
    throw InvalidParameterException(
      `RetentionPeriod must be between 7 and ${max} days for billing mode ${mode}.`,
    )
  }
}
