/** @module insights/counted  Which records Insights count, and as which insight types. */
import type { CloudTrailRecord } from '../events/record.js'
import type { InsightEventCategory, InsightType } from './model.js'

/**
 * What Insights count: API calls, not Insights events themselves. Management events:
 * ApiCallRateInsight counts write calls, ApiErrorRateInsight calls with an error code. Data events
 * (data-event Insights, trails only): ApiCallRateInsight counts read and write calls,
 * ApiErrorRateInsight calls with an error code.
 */
export function insightTypesOf(
  r: CloudTrailRecord,
): { type: InsightType; errorCode: string; category: InsightEventCategory }[] {
  if (r.eventType !== 'AwsApiCall') return []
  const category = r.eventCategory ?? (r.managementEvent === false ? 'Data' : 'Management')
  if (category === 'Management') {
    if (r.managementEvent === false) return []
  } else if (category !== 'Data') {
    return []
  }
  const out: { type: InsightType; errorCode: string; category: InsightEventCategory }[] = []
  if (category === 'Data' || r.readOnly === false)
    out.push({ type: 'ApiCallRateInsight', errorCode: '', category })
  if (r.errorCode) out.push({ type: 'ApiErrorRateInsight', errorCode: r.errorCode, category })
  return out
}
