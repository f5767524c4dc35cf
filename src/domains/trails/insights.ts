/**
 * @module domains/trails/insights
 * Insights selectors of a trail: valid types, no duplicates, and the event selectors they need
 * (call-rate Insights on management events need write management events; error-rate Insights need
 * read or write management events; data-event Insights need data events).
 */
import * as E from './errors.js'
import type {
  EventSelectorConfig,
  InsightEventCategory,
  InsightSelector,
  InsightType,
} from './model.js'

export const INSIGHT_TYPES: InsightType[] = ['ApiCallRateInsight', 'ApiErrorRateInsight']

export interface InsightSelectorInput {
  insightType?: string
  eventCategories?: string[]
}

/** What a trail's event selectors log, as far as Insights care. */
interface Coverage {
  managementRead: boolean
  managementWrite: boolean
  data: boolean
}

export function coverageOf(config: EventSelectorConfig): Coverage {
  const c: Coverage = { managementRead: false, managementWrite: false, data: false }
  if (config.kind === 'basic') {
    for (const s of config.selectors) {
      if (s.includeManagementEvents) {
        if (s.readWriteType !== 'WriteOnly') c.managementRead = true
        if (s.readWriteType !== 'ReadOnly') c.managementWrite = true
      }
      if (s.dataResources.length > 0) c.data = true
    }
    return c
  }
  for (const s of config.selectors) {
    const category = s.fieldSelectors.find((f) => f.field === 'eventCategory')?.equals?.[0]
    const readOnly = s.fieldSelectors.find((f) => f.field === 'readOnly')?.equals?.[0]
    if (category === 'Management') {
      if (readOnly !== 'false') c.managementRead = true
      if (readOnly !== 'true') c.managementWrite = true
    } else if (category === 'Data') {
      c.data = true
    }
  }
  return c
}

export function normalizeInsightSelectors(
  input: InsightSelectorInput[],
  config: EventSelectorConfig,
): InsightSelector[] {
  const seen = new Set<string>()
  const coverage = coverageOf(config)
  return input.map((s) => {
    if (s.insightType === undefined) {
      throw E.InvalidInsightSelectorsException(
        `InsightType must be specified. Valid values are ${INSIGHT_TYPES.join(' and ')}.`,
      )
    }
    const type = s.insightType as InsightType
    if (!INSIGHT_TYPES.includes(type)) {
      throw E.InvalidInsightSelectorsException(
        `Value ${s.insightType} for InsightType is invalid. Valid values are ${INSIGHT_TYPES.join(' and ')}.`,
      )
    }
    if (seen.has(type)) {
      throw E.InvalidInsightSelectorsException(`InsightType ${type} is given more than once.`)
    }
    seen.add(type)
    const categories = s.eventCategories as InsightEventCategory[] | undefined
    if (categories && new Set(categories).size !== categories.length) {
      throw E.InvalidInsightSelectorsException(
        `EventCategories of ${type} contains a category more than once.`,
      )
    }
    for (const c of categories ?? ['Management']) {
      if (c === 'Management') {
        const ok =
          type === 'ApiCallRateInsight'
            ? coverage.managementWrite
            : coverage.managementWrite || coverage.managementRead
        if (!ok) {
          throw E.InvalidInsightSelectorsException(
            type === 'ApiCallRateInsight'
              ? 'ApiCallRateInsight on management events requires the trail to log write management events.'
              : 'ApiErrorRateInsight on management events requires the trail to log read or write management events.',
          )
        }
      } else if (!coverage.data) {
        throw E.InvalidInsightSelectorsException(
          `${type} on data events requires the trail to log read or write data events.`,
        )
      }
    }
    return { insightType: type, ...(categories ? { eventCategories: [...categories] } : {}) }
  })
}

const EDS_ARN = /^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore\/[A-Za-z0-9-]{3,}$/
const EDS_ID = /^[A-Za-z0-9-]{3,}$/

function eventDataStoreNotFound(ref: string): Error {
  if (!EDS_ARN.test(ref) && !EDS_ID.test(ref)) {
    return E.EventDataStoreARNInvalidException(
      `The event data store ARN ${ref} is not valid. The format is arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>, or the ID alone.`,
    )
  }
  return E.EventDataStoreNotFoundException(`Event data store ${ref} was not found.`)
}

/**
 * Put/GetInsightSelectors name a trail or an event data store, never both. Requests naming only an
 * event data store are answered by insights/eds-handlers.ts, which wraps these operations; what
 * reaches here with one is refused with AWS's errors. Returns the trail name or ARN.
 */
export function insightTarget(
  input: { trailName?: string; eventDataStore?: string; insightsDestination?: string },
  op: 'put' | 'get',
): string {
  if (input.trailName !== undefined) {
    if (input.eventDataStore !== undefined || input.insightsDestination !== undefined) {
      throw E.InvalidParameterCombinationException(
        'TrailName cannot be combined with EventDataStore or InsightsDestination.',
      )
    }
    return input.trailName
  }
  if (input.eventDataStore === undefined) {
    throw E.InvalidParameterCombinationException(
      op === 'put' && input.insightsDestination !== undefined
        ? 'InsightsDestination requires EventDataStore.'
        : 'Specify either TrailName or EventDataStore.',
    )
  }
  if (op === 'put' && input.insightsDestination === undefined) {
    throw E.InvalidParameterCombinationException(
      'To enable Insights on an event data store, specify both EventDataStore and InsightsDestination.',
    )
  }
  throw eventDataStoreNotFound(input.eventDataStore)
}

/** GetInsightSelectors: a trail without Insights selectors has Insights off. */
export function enabledInsights(selectors: InsightSelector[], arn: string): InsightSelector[] {
  if (selectors.length === 0) {
    throw E.InsightNotEnabledException(`Trail ${arn} does not have Insights enabled.`)
  }
  return selectors
}
