/**
 * @module insights/model
 * Insights' domain types: what is counted (a series key), the detector's parameters and their
 * defaults, per-API tuning rules, and the anomaly record the API, CLI and event builder share.
 */

export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight'
export const INSIGHT_TYPES: readonly InsightType[] = ['ApiCallRateInsight', 'ApiErrorRateInsight']

/** One counted series: an API of an account and region, per insight type (and error code). */
export interface SeriesKey {
  accountId: string
  region: string
  eventSource: string
  eventName: string
  insightType: InsightType
  /** ApiErrorRateInsight: the error code counted; '' for ApiCallRateInsight. */
  errorCode: string
  /** The category of the calls counted (data-event Insights: trails only). Default Management. */
  eventCategory?: InsightEventCategory
  /**
   * Whose view of the calls is counted: '' (or absent) for the account's, which trails' Insights
   * use; an event data store's ARN for the calls routed to that store (its own baselines).
   */
  source?: string
}

export type InsightEventCategory = 'Management' | 'Data'

export const categoryOfKey = (k: SeriesKey): InsightEventCategory => k.eventCategory ?? 'Management'
export const sourceOfKey = (k: SeriesKey): string => k.source ?? ''

/** Tab-joined key; the category and source are appended only when not the defaults (older snapshots parse). */
export function keyString(k: SeriesKey): string {
  const base = [k.accountId, k.region, k.eventSource, k.eventName, k.insightType, k.errorCode]
  const category = categoryOfKey(k)
  const source = sourceOfKey(k)
  if (category !== 'Management' || source !== '') base.push(category, source)
  return base.join('\t')
}

export function parseKey(s: string): SeriesKey {
  const [accountId, region, eventSource, eventName, insightType, errorCode, category, source] =
    s.split('\t')
  return {
    accountId: accountId ?? '',
    region: region ?? '',
    eventSource: eventSource ?? '',
    eventName: eventName ?? '',
    insightType: (insightType ?? 'ApiCallRateInsight') as InsightType,
    errorCode: errorCode ?? '',
    ...(category && category !== 'Management'
      ? { eventCategory: category as InsightEventCategory }
      : {}),
    ...(source ? { source } : {}),
  }
}

/** The knobs of the detector (docs/insights.md explains each). */
export interface DetectorParams {
  /** Length of the sliding test window, minutes. */
  windowMinutes: number
  /** Trailing baseline window, days (AWS: 7). */
  baselineDays: number
  /** Sensitivity: a window starts an anomaly when -log10 P(X ≥ count) reaches this. */
  score: number
  /** Hysteresis: an open anomaly ends at the first closed window whose score is below this. */
  endScore: number
  /** Fewest calls (or errors) in the window that can start an anomaly. */
  minCount: number
  /** Lowest expected rate per minute a baseline may have. */
  floorPerMinute: number
  /** Gamma prior of every rate: shape and exposure (minutes); its mean is shape / minutes. */
  priorShape: number
  priorMinutes: number
  /** Pseudo-exposure (minutes) that shrinks an hour-of-day rate towards the all-day rate. */
  shrinkMinutes: number
  /** Minutes of history an account and region needs before anomalies are raised. */
  warmupMinutes: number
  /** Windows further than this behind the newest event of their account and region only feed baselines. */
  detectionHorizonMinutes: number
  /** Minutes a window stays open for late events before End is decided. */
  latenessMinutes: number
  /** An anomaly longer than this ends, and its level becomes part of the baseline. */
  maxDurationMinutes: number
}

export const DEFAULT_PARAMS: DetectorParams = {
  windowMinutes: 5,
  baselineDays: 7,
  score: 7,
  endScore: 2,
  minCount: 10,
  floorPerMinute: 1 / 1440,
  priorShape: 0.5,
  priorMinutes: 60,
  shrinkMinutes: 120,
  warmupMinutes: 1440,
  detectionHorizonMinutes: 60,
  latenessMinutes: 1,
  maxDurationMinutes: 360,
}

/** Per-API tuning: the most specific matching rule wins (fields left out match anything). */
export interface TuningRule {
  accountId?: string
  eventSource?: string
  eventName?: string
  insightType?: InsightType
  errorCode?: string
  /** No anomalies for matching series (they are still counted). */
  excluded?: boolean
  score?: number
  minCount?: number
}

export interface InsightsSettings {
  /** Overrides of the defaults for every series. */
  params: Partial<Pick<DetectorParams, 'score' | 'endScore' | 'minCount' | 'warmupMinutes'>>
  rules: TuningRule[]
}

export function ruleFor(rules: readonly TuningRule[], k: SeriesKey): TuningRule | undefined {
  let best: TuningRule | undefined
  let bestSpecificity = -1
  for (const r of rules) {
    if (r.accountId !== undefined && r.accountId !== k.accountId) continue
    if (r.eventSource !== undefined && r.eventSource !== k.eventSource) continue
    if (r.eventName !== undefined && r.eventName !== k.eventName) continue
    if (r.insightType !== undefined && r.insightType !== k.insightType) continue
    if (r.errorCode !== undefined && r.errorCode !== k.errorCode) continue
    const s =
      Number(r.accountId !== undefined) +
      Number(r.eventSource !== undefined) * 2 +
      Number(r.eventName !== undefined) * 4 +
      Number(r.insightType !== undefined) +
      Number(r.errorCode !== undefined)
    if (s >= bestSpecificity) {
      best = r
      bestSpecificity = s
    }
  }
  return best
}

export interface AttributionValue {
  value: string
  average: number
}

export interface Attribution {
  attribute: 'userIdentityArn' | 'userAgent' | 'errorCode'
  insight: AttributionValue[]
  baseline: AttributionValue[]
}

/** One point of an anomaly's chart: the minute's count and the baseline band. */
export interface SeriesPoint {
  minute: string
  count: number
  /** Expected calls (or errors) per minute. */
  expected: number
  /** Per-minute rate at which a sustained window would start an anomaly. */
  upper: number
}

/** An anomaly as OpenTrail keeps it (the Start/End Insights events are built from it). */
export interface Anomaly {
  /** The sharedEventID of its Start and End events. */
  id: string
  key: SeriesKey
  state: 'open' | 'closed'
  startTime: string
  detectedAt: string
  endTime?: string
  /** Window count and score that started it. */
  windowCount: number
  score: number
  /** Per-minute averages. */
  baselineAverage: number
  startAverage: number
  insightAverage?: number
  /** Minutes. */
  insightDuration: number
  baselineDuration: number
  attributions: Attribution[]
  endAttributions?: Attribution[]
  startEventId: string
  endEventId?: string
  /** Whether a trail or event data store had this Insights type enabled (the events were emitted). */
  emitted: boolean
  series: SeriesPoint[]
}
