/**
 * @module insights/event-data-stores
 * Insights on CloudTrail Lake event data stores (PutInsightSelectors / GetInsightSelectors with
 * `EventDataStore`): a source store that logs management events, the Insights types on it, and an
 * `InsightsDestination` store that collects Insights events (`eventCategory = Insight`).
 *
 * As an owner of Insights configurations (`InsightsScopes`) it tells the sink which records count in
 * a source store's own view (the records the Lake routes to that store, by its advanced selectors)
 * and whether a series' anomalies are emitted. Their Insights events carry `insightSource` (the
 * source store's ARN, AWS's field) and go through the pipeline like any other; `routeInsights` lets
 * the Lake sink deliver them to the source's destination store when that store's selectors collect
 * Insights events. The configurations are kept here, keyed by the source store's ARN, in a JSON file
 * (written atomically), so they survive restarts.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { RoutedStore } from '../lake/engine.js'
import type { EventDataStore } from '../domains/lake/service.js'
import { InactiveEventDataStoreException } from '../domains/lake/service.js'
import * as E from '../domains/trails/errors.js'
import { coverageOf, type InsightSelectorInput } from '../domains/trails/insights.js'
import type { Clock } from '../shared/clock.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { insightSourceOf, isInsightRecord } from './event-builder.js'
import {
  categoryOfKey,
  INSIGHT_TYPES,
  sourceOfKey,
  type InsightType,
  type SeriesKey,
} from './model.js'
import type { InsightsScopes } from './sink.js'

/** The part of the Lake service this module reads (it owns no store data). */
export interface LakeStores {
  find(scope: { accountId: string; region: string }, ref: string): EventDataStore
  routed(): RoutedStore[]
}

export interface StoreInsightSelector {
  insightType: InsightType
  /** As given; only `Management` is allowed on event data stores. */
  eventCategories?: 'Management'[]
}

/** Insights on one source event data store. */
export interface StoreInsights {
  sourceArn: string
  sourceId: string
  accountId: string
  destinationArn: string
  destinationId: string
  insightSelectors: StoreInsightSelector[]
  updatedAt: string
}

export interface PutStoreInsights {
  eventDataStore: string
  /** Required (InvalidParameterCombinationException); optional here to answer that error. */
  insightsDestination?: string
  insightSelectors: InsightSelectorInput[]
}

/** What PutInsightSelectors answers for an event data store. */
export interface PutStoreInsightsResult {
  sourceArn: string
  destinationArn: string
  insightSelectors: StoreInsightSelector[]
}

type Scope = { accountId: string; region: string }

/** Well-formed event data store references (AWS's examples use IDs like `EXAMPLE-f852-...`). */
const EDS_ARN = /^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore\/[A-Za-z0-9-]{3,}$/
const EDS_ID = /^[A-Za-z0-9-]{3,}$/

/**
 * The store a reference names in the caller's account. A well-formed reference to no store is
 * EventDataStoreNotFoundException (also when the Lake would call its ID malformed); a malformed
 * one is the Lake's EventDataStoreARNInvalidException.
 */
function findStore(lake: LakeStores, scope: Scope, ref: string): EventDataStore {
  try {
    return lake.find(scope, ref)
  } catch (err) {
    const code = (err as { code?: string }).code
    const wellFormed = EDS_ARN.test(ref) || EDS_ID.test(ref)
    if (
      code === 'EventDataStoreNotFoundException' ||
      (code === 'EventDataStoreARNInvalidException' && wellFormed)
    )
      throw E.EventDataStoreNotFoundException(`Event data store ${ref} was not found.`)
    throw err
  }
}

/** Whether a store's advanced selectors collect Insights events. */
export const logsInsights = (st: EventDataStore): boolean =>
  st.advancedEventSelectors.some((s) =>
    s.fieldSelectors.some((f) => f.field === 'eventCategory' && f.equals?.includes('Insight')),
  )

/** Checks the InsightSelectors of an event data store: known types, once each, management events only. */
export function normalizeStoreSelectors(input: InsightSelectorInput[]): StoreInsightSelector[] {
  const seen = new Set<string>()
  return input.map((s) => {
    const type = s.insightType as InsightType | undefined
    if (type === undefined || !INSIGHT_TYPES.includes(type)) {
      throw E.InvalidInsightSelectorsException(
        type === undefined
          ? `InsightType must be specified. Valid values are ${INSIGHT_TYPES.join(' and ')}.`
          : `Value ${type} for InsightType is invalid. Valid values are ${INSIGHT_TYPES.join(' and ')}.`,
      )
    }
    if (seen.has(type)) {
      throw E.InvalidInsightSelectorsException(`InsightType ${type} is given more than once.`)
    }
    seen.add(type)
    const categories = s.eventCategories
    if (categories?.some((c) => c !== 'Management')) {
      throw E.InvalidInsightSelectorsException(
        'Insights on data events are not supported on event data stores; EventCategories can only be Management.',
      )
    }
    if (categories && categories.length > 1) {
      throw E.InvalidInsightSelectorsException(
        `EventCategories of ${type} contains a category more than once.`,
      )
    }
    return {
      insightType: type,
      ...(categories ? { eventCategories: categories as 'Management'[] } : {}),
    }
  })
}

export class EventDataStoreInsights implements InsightsScopes {
  private version = 0
  private chain: Promise<unknown> = Promise.resolve()
  private routedIndex: { input: RoutedStore[]; byId: Map<string, RoutedStore> } | undefined
  private routeCache: { input: RoutedStore[]; version: number; output: RoutedStore[] } | undefined

  private constructor(
    private readonly o: {
      file: string
      lake: LakeStores
      clock: Clock
      /** Called when a store's Insights are turned off: its series and open anomalies go. */
      forget(sourceArn: string): Promise<void>
    },
    private readonly configs: Map<string, StoreInsights>,
  ) {}

  static async open(o: {
    file: string
    lake: LakeStores
    clock: Clock
    forget(sourceArn: string): Promise<void>
  }): Promise<EventDataStoreInsights> {
    const list = (await readJsonFile<StoreInsights[]>(o.file)) ?? []
    return new EventDataStoreInsights(o, new Map(list.map((c) => [c.sourceArn, c])))
  }

  // ---- the API ----

  /**
   * PutInsightSelectors on an event data store. Non-empty selectors need a destination that collects
   * Insights events and a source that logs the management events the types analyse (write events
   * for ApiCallRateInsight; read or write for ApiErrorRateInsight). Empty selectors turn Insights off.
   */
  put(scope: Scope, input: PutStoreInsights): Promise<PutStoreInsightsResult> {
    return this.serial(async () => {
      // Both stores, even to turn Insights off (as the trail operations have always answered).
      if (input.insightsDestination === undefined) {
        throw E.InvalidParameterCombinationException(
          'To enable Insights on an event data store, specify both EventDataStore and InsightsDestination.',
        )
      }
      const selectors = normalizeStoreSelectors(input.insightSelectors)
      const source = this.active(findStore(this.o.lake, scope, input.eventDataStore))
      const destination = this.active(findStore(this.o.lake, scope, input.insightsDestination))
      if (selectors.length === 0) {
        if (this.configs.delete(source.arn)) {
          await this.save()
          await this.o.forget(source.arn)
        }
        return { sourceArn: source.arn, destinationArn: destination.arn, insightSelectors: [] }
      }
      if (destination.id === source.id) {
        throw E.InvalidParameterCombinationException(
          'The InsightsDestination must be a different event data store from the source EventDataStore.',
        )
      }
      if (!logsInsights(destination)) {
        throw E.InvalidInsightSelectorsException(
          `The destination event data store ${destination.arn} does not log Insights events; its advanced event selectors must select eventCategory Insight.`,
        )
      }
      const coverage = coverageOf({ kind: 'advanced', selectors: source.advancedEventSelectors })
      for (const s of selectors) {
        const ok =
          s.insightType === 'ApiCallRateInsight'
            ? coverage.managementWrite
            : coverage.managementWrite || coverage.managementRead
        if (!ok) {
          throw E.InvalidInsightSelectorsException(
            s.insightType === 'ApiCallRateInsight'
              ? `ApiCallRateInsight requires the source event data store ${source.arn} to log write management events.`
              : `ApiErrorRateInsight requires the source event data store ${source.arn} to log read or write management events.`,
          )
        }
      }
      const previous = this.configs.get(source.arn)
      this.configs.set(source.arn, {
        sourceArn: source.arn,
        sourceId: source.id,
        accountId: source.accountId,
        destinationArn: destination.arn,
        destinationId: destination.id,
        insightSelectors: selectors,
        updatedAt: this.o.clock.now().toISOString(),
      })
      await this.save()
      // Types turned off stop at once: their series go (a new destination keeps the baselines).
      if (
        previous &&
        previous.insightSelectors.some(
          (p) => !selectors.some((s) => s.insightType === p.insightType),
        )
      )
        await this.o.forget(source.arn)
      return {
        sourceArn: source.arn,
        destinationArn: destination.arn,
        insightSelectors: selectors,
      }
    })
  }

  /** GetInsightSelectors on an event data store: InsightNotEnabledException when it has none. */
  get(scope: Scope, ref: string): StoreInsights {
    const source = findStore(this.o.lake, scope, ref)
    const c = this.configs.get(source.arn)
    if (!c) {
      throw E.InsightNotEnabledException(
        `Event data store ${source.arn} does not have Insights enabled.`,
      )
    }
    return structuredClone(c)
  }

  private active(st: EventDataStore): EventDataStore {
    if (st.status === 'PENDING_DELETION') {
      throw InactiveEventDataStoreException(`The event data store ${st.arn} is pending deletion.`)
    }
    return st
  }

  // ---- InsightsScopes: what counts, what is emitted ----

  sourcesOf(r: CloudTrailRecord): readonly string[] {
    if (this.configs.size === 0) return []
    const byId = this.routedById()
    const out: string[] = []
    for (const c of this.configs.values()) {
      // The records the Lake routes to the source store (ENABLED, by its advanced selectors).
      if (byId.get(c.sourceId)?.matches(r)) out.push(c.sourceArn)
    }
    return out
  }

  enabled(key: SeriesKey): boolean {
    const c = this.configs.get(sourceOfKey(key))
    return (
      c !== undefined &&
      categoryOfKey(key) === 'Management' &&
      c.insightSelectors.some((s) => s.insightType === key.insightType)
    )
  }

  private routedById(): Map<string, RoutedStore> {
    const input = this.o.lake.routed()
    if (this.routedIndex?.input !== input)
      this.routedIndex = { input, byId: new Map(input.map((st) => [st.id, st])) }
    return this.routedIndex.byId
  }

  // ---- delivery to the destination ----

  /**
   * The Lake's routed stores with Insights delivery: an Insights event raised for a source store
   * goes to that source's destination, while the destination's selectors collect Insights events
   * and the source still has the event's type on. Other records route as the stores say.
   */
  routeInsights(stores: RoutedStore[]): RoutedStore[] {
    const c = this.routeCache
    if (c?.input === stores && c.version === this.version) return c.output
    const output = stores.map((st) => ({
      ...st,
      matches: (r: CloudTrailRecord) =>
        isInsightRecord(r) ? this.deliversTo(st, r) : st.matches(r),
    }))
    this.routeCache = { input: stores, version: this.version, output }
    return output
  }

  private deliversTo(st: RoutedStore, r: CloudTrailRecord): boolean {
    const source = insightSourceOf(r)
    if (source === undefined) return false
    const c = this.configs.get(source)
    if (!c || c.destinationId !== st.id || c.accountId !== st.accountId) return false
    const type = (r['insightDetails'] as { insightType?: string } | undefined)?.insightType
    if (!c.insightSelectors.some((s) => s.insightType === type)) return false
    try {
      return logsInsights(this.o.lake.find({ accountId: st.accountId, region: '' }, st.id))
    } catch {
      return false
    }
  }

  // ---- persistence ----

  private async save(): Promise<void> {
    this.version++
    await writeJsonFileAtomic(this.o.file, [...this.configs.values()], 0o600)
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }
}
