/** Event selector settings as the wizard and the trail page edit them. */

export interface LogEventSettings {
  management: boolean
  read: boolean
  write: boolean
  excludeKms: boolean
  excludeRdsData: boolean
  data: boolean
  /** Data events: S3 object-level events for all buckets (basic), or advanced JSON. */
  dataRead: boolean
  dataWrite: boolean
  advanced: boolean
  advancedJson: string
  insightsCallRate: boolean
  insightsErrorRate: boolean
}

export const DEFAULT_LOG_EVENTS: LogEventSettings = {
  management: true,
  read: true,
  write: true,
  excludeKms: false,
  excludeRdsData: false,
  data: false,
  dataRead: true,
  dataWrite: true,
  advanced: false,
  advancedJson: '',
  insightsCallRate: false,
  insightsErrorRate: false,
}

type Selector = Record<string, unknown>

/** Advanced event selectors equivalent to the basic settings (a starting point to edit). */
export function advancedFrom(s: LogEventSettings): Selector[] {
  const out: Selector[] = []
  if (s.management) {
    const fields: Selector[] = [{ Field: 'eventCategory', Equals: ['Management'] }]
    if (s.read !== s.write) fields.push({ Field: 'readOnly', Equals: [String(s.read)] })
    const excluded = [
      ...(s.excludeKms ? ['kms.amazonaws.com'] : []),
      ...(s.excludeRdsData ? ['rdsdata.amazonaws.com'] : []),
    ]
    if (excluded.length) fields.push({ Field: 'eventSource', NotEquals: excluded })
    out.push({ Name: 'Management events', FieldSelectors: fields })
  }
  if (s.data) {
    const fields: Selector[] = [
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
    ]
    if (s.dataRead !== s.dataWrite) fields.push({ Field: 'readOnly', Equals: [String(s.dataRead)] })
    out.push({ Name: 'S3 data events', FieldSelectors: fields })
  }
  return out
}

/** The PutEventSelectors input for the settings. Throws on bad advanced JSON. */
export function eventSelectorsInput(trailName: string, s: LogEventSettings): Selector {
  if (s.advanced) {
    const parsed: unknown = JSON.parse(s.advancedJson || '[]')
    if (!Array.isArray(parsed)) throw new Error('Advanced event selectors must be a JSON array.')
    return { TrailName: trailName, AdvancedEventSelectors: parsed }
  }
  const readWrite = s.read && s.write ? 'All' : s.read ? 'ReadOnly' : s.write ? 'WriteOnly' : 'All'
  const excluded = [
    ...(s.excludeKms ? ['kms.amazonaws.com'] : []),
    ...(s.excludeRdsData ? ['rdsdata.amazonaws.com'] : []),
  ]
  return {
    TrailName: trailName,
    EventSelectors: [
      {
        ReadWriteType: readWrite,
        IncludeManagementEvents: s.management,
        ...(excluded.length ? { ExcludeManagementEventSources: excluded } : {}),
        DataResources: s.data ? [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] : [],
      },
    ],
  }
}

export function insightSelectors(s: LogEventSettings): { InsightType: string }[] {
  return [
    ...(s.insightsCallRate ? [{ InsightType: 'ApiCallRateInsight' }] : []),
    ...(s.insightsErrorRate ? [{ InsightType: 'ApiErrorRateInsight' }] : []),
  ]
}
