/**
 * @module delivery/route
 * Which trails receive a record in their log files. Selector matching (management and data events,
 * read/write type, regions, global service events) is the trail domain's `trailMatches`; this
 * module adds the logging window (a trail receives the records whose eventTime falls while it was
 * logging) and keeps Insights events out of the CloudTrail log folder.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { Trail } from '../domains/trails/model.js'
import { trailMatches } from '../domains/trails/selectors.js'

/** Whether the trail was logging at `eventTime` (second precision, as in records). */
export function loggingAt(trail: Trail, eventTime: string): boolean {
  const t = Date.parse(eventTime)
  if (Number.isNaN(t)) return trail.isLogging
  const started = trail.startLoggingTime
    ? Math.floor(Date.parse(trail.startLoggingTime) / 1000) * 1000
    : 0
  if (trail.isLogging) return t >= started
  if (!trail.stopLoggingTime || !trail.startLoggingTime) return false
  return t >= started && t <= Date.parse(trail.stopLoggingTime)
}

const isInsight = (r: CloudTrailRecord) =>
  r.eventCategory === 'Insight' || r.eventType === 'AwsCloudTrailInsight'

/** Log-file routing: the trail's selectors, Insights events excluded. */
export function logFileMatches(trail: Trail, record: CloudTrailRecord): boolean {
  return !isInsight(record) && trailMatches(trail, record)
}

/**
 * Insights routing: an Insights event goes to the `CloudTrail-Insight` folder of each logging
 * trail of its account that covers its region and selects its Insights type.
 */
export function insightTrails(trails: readonly Trail[], record: CloudTrailRecord): Trail[] {
  if (!isInsight(record)) return []
  const type = (record['insightDetails'] as { insightType?: string } | undefined)?.insightType
  return trails.filter(
    (t) =>
      t.isLogging &&
      t.accountId === record.recipientAccountId &&
      (t.isMultiRegionTrail || t.homeRegion === record.awsRegion) &&
      t.insightSelectors.some((s) => s.insightType === type),
  )
}

/** The trails that receive `record`. */
export function routeRecord(
  trails: readonly Trail[],
  record: CloudTrailRecord,
  matches: (trail: Trail, record: CloudTrailRecord) => boolean = logFileMatches,
): Trail[] {
  return trails.filter((t) => loggingAt(t, record.eventTime) && matches(t, record))
}
