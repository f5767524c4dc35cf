/**
 * @module domains/trails/selectors
 * Routing: whether a trail logs a CloudTrail record, by the trail's account, regions (home region or
 * all regions), IncludeGlobalServiceEvents, and its basic or advanced event selectors. Insights
 * events go to trails whose Insights selectors name their type. Pure functions, no I/O.
 */
import { accountOf, type CloudTrailRecord } from '../../events/record.js'
import type {
  AdvancedEventSelector,
  BasicEventSelector,
  FieldSelector,
  InsightSelector,
  Trail,
} from './model.js'
import { isAllResourcesValue } from './selector-rules.js'

/** The region where CloudTrail records events of global services. */
export const GLOBAL_EVENTS_REGION = 'us-east-1'

/** Services whose events are global (recorded in us-east-1 and logged by every trail that includes global service events). */
const GLOBAL_SOURCES = new Set([
  'iam.amazonaws.com',
  'cloudfront.amazonaws.com',
  'route53.amazonaws.com',
  'globalaccelerator.amazonaws.com',
  'organizations.amazonaws.com',
  'waf.amazonaws.com',
  'shield.amazonaws.com',
])

/** Whether a record is a global service event (STS calls to its global endpoint are recorded in us-east-1). */
export function isGlobalServiceEvent(r: Pick<CloudTrailRecord, 'eventSource' | 'awsRegion'>) {
  if (r.awsRegion !== GLOBAL_EVENTS_REGION) return false
  return GLOBAL_SOURCES.has(r.eventSource) || r.eventSource === 'sts.amazonaws.com'
}

type TrailRouting = Pick<
  Trail,
  | 'accountId'
  | 'homeRegion'
  | 'isMultiRegionTrail'
  | 'includeGlobalServiceEvents'
  | 'eventSelectors'
  | 'insightSelectors'
>

/** Whether `trail` logs `record`. */
export function trailMatches(trail: TrailRouting, record: CloudTrailRecord): boolean {
  if (accountOf(record) !== trail.accountId) return false
  if (isGlobalServiceEvent(record)) {
    if (!trail.includeGlobalServiceEvents) return false
  } else if (!trail.isMultiRegionTrail && record.awsRegion !== trail.homeRegion) {
    return false
  }
  const category = categoryOf(record)
  // Insights of an event data store (`insightSource`) go to its InsightsDestination, not to trails.
  if (category === 'Insight')
    return record['insightSource'] === undefined && insightMatches(trail.insightSelectors, record)
  const config = trail.eventSelectors
  if (config.kind === 'basic')
    return config.selectors.some((s) => basicMatches(s, record, category))
  return config.selectors.some((s) => advancedMatches(s, record))
}

function categoryOf(r: CloudTrailRecord): string {
  if (r.eventCategory) return r.eventCategory
  return r.managementEvent === false ? 'Data' : 'Management'
}

function readWriteMatches(type: BasicEventSelector['readWriteType'], readOnly: boolean): boolean {
  return type === 'All' || (type === 'ReadOnly') === readOnly
}

function basicMatches(s: BasicEventSelector, r: CloudTrailRecord, category: string): boolean {
  if (!readWriteMatches(s.readWriteType, r.readOnly === true)) return false
  if (category === 'Management') {
    return s.includeManagementEvents && !s.excludeManagementEventSources.includes(r.eventSource)
  }
  if (category !== 'Data') return false
  return s.dataResources.some((d) =>
    (r.resources ?? []).some(
      (res) =>
        res.type === d.type &&
        d.values.some((v) => dataResourceValueMatches(d.type, v, res.ARN ?? '')),
    ),
  )
}

function dataResourceValueMatches(type: string, value: string, arn: string): boolean {
  if (isAllResourcesValue(type, value)) return true
  // S3 object values are a bucket and key prefix; Lambda functions and DynamoDB tables are exact.
  if (type === 'AWS::S3::Object') return arn.startsWith(value)
  return arn === value
}

function advancedMatches(s: AdvancedEventSelector, r: CloudTrailRecord): boolean {
  const typeSel = s.fieldSelectors.find((f) => f.field === 'resources.type')
  const resources = (r.resources ?? []).filter(
    (res) => !typeSel || conditionHolds(typeSel, res.type),
  )
  for (const f of s.fieldSelectors) {
    if (f.field === 'resources.type') {
      if (resources.length === 0) return false
    } else if (f.field === 'resources.ARN') {
      if (!resources.some((res) => conditionHolds(f, res.ARN))) return false
    } else if (!conditionHolds(f, fieldValue(r, f.field))) {
      return false
    }
  }
  return true
}

function fieldValue(r: CloudTrailRecord, field: string): string | undefined {
  switch (field) {
    case 'readOnly':
      return r.readOnly === undefined ? undefined : String(r.readOnly)
    case 'eventCategory':
      return categoryOf(r)
    case 'userIdentity.arn':
      return r.userIdentity?.arn
    case 'sessionCredentialFromConsole': {
      const v = r.sessionCredentialFromConsole
      return v === undefined ? undefined : String(v)
    }
    default: {
      const v = r[field]
      return typeof v === 'string' || typeof v === 'boolean' ? String(v) : undefined
    }
  }
}

/**
 * A field condition: each operator present must hold. Equals/StartsWith/EndsWith hold when any value
 * matches; NotEquals/NotStartsWith/NotEndsWith hold when no value matches. A missing field matches
 * no positive operator and every negative one.
 */
export function conditionHolds(f: FieldSelector, value: string | undefined): boolean {
  const any = (list: string[] | undefined, test: (x: string, v: string) => boolean) =>
    list === undefined || (value !== undefined && list.some((x) => test(x, value)))
  const none = (list: string[] | undefined, test: (x: string, v: string) => boolean) =>
    list === undefined || value === undefined || !list.some((x) => test(x, value))
  const eq = (x: string, v: string) => v === x
  const starts = (x: string, v: string) => v.startsWith(x)
  const ends = (x: string, v: string) => v.endsWith(x)
  return (
    any(f.equals, eq) &&
    any(f.startsWith, starts) &&
    any(f.endsWith, ends) &&
    none(f.notEquals, eq) &&
    none(f.notStartsWith, starts) &&
    none(f.notEndsWith, ends)
  )
}

function insightMatches(selectors: InsightSelector[], r: CloudTrailRecord): boolean {
  const details = r['insightDetails'] as
    { insightType?: string; eventCategory?: string } | undefined
  return selectors.some(
    (s) =>
      (details?.insightType === undefined || s.insightType === details.insightType) &&
      (details?.eventCategory === undefined ||
        (s.eventCategories ?? ['Management']).some((c) => c === details.eventCategory)),
  )
}
