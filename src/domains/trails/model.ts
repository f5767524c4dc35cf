/** @module domains/trails/model  A trail's configuration and logging state (domain names, not wire names). */

export interface Tag {
  key: string
  value?: string
}

export type ReadWriteType = 'ReadOnly' | 'WriteOnly' | 'All'

/** A basic event selector's data resource: a resource type and ARNs or ARN prefixes. */
export interface DataResource {
  type: string
  values: string[]
}

/** A basic event selector, with AWS's defaults filled in. */
export interface BasicEventSelector {
  readWriteType: ReadWriteType
  includeManagementEvents: boolean
  dataResources: DataResource[]
  excludeManagementEventSources: string[]
}

export const FIELD_OPERATORS = [
  'equals',
  'startsWith',
  'endsWith',
  'notEquals',
  'notStartsWith',
  'notEndsWith',
] as const
export type FieldOperator = (typeof FIELD_OPERATORS)[number]

/** One condition of an advanced event selector: a record field and one or more operators. */
export type FieldSelector = { field: string } & Partial<Record<FieldOperator, string[]>>

export interface AdvancedEventSelector {
  name?: string
  fieldSelectors: FieldSelector[]
}

/** A trail uses basic or advanced event selectors, never both. */
export type EventSelectorConfig =
  | { kind: 'basic'; selectors: BasicEventSelector[] }
  | { kind: 'advanced'; selectors: AdvancedEventSelector[] }

export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight'
export type InsightEventCategory = 'Management' | 'Data'

export interface InsightSelector {
  insightType: InsightType
  /** As given; absent means management events. */
  eventCategories?: InsightEventCategory[]
}

export interface Trail {
  name: string
  accountId: string
  homeRegion: string
  s3BucketName: string
  s3KeyPrefix?: string
  /** As given: a topic name or a topic ARN. */
  snsTopicName?: string
  includeGlobalServiceEvents: boolean
  isMultiRegionTrail: boolean
  logFileValidationEnabled: boolean
  cloudWatchLogsLogGroupArn?: string
  cloudWatchLogsRoleArn?: string
  /** Always a full KMS ARN (key or alias). */
  kmsKeyId?: string
  isOrganizationTrail: boolean
  eventSelectors: EventSelectorConfig
  /** Whether PutEventSelectors has been called on the trail (AWS's HasCustomEventSelectors). */
  hasCustomEventSelectors: boolean
  insightSelectors: InsightSelector[]
  tags: Tag[]
  isLogging: boolean
  startLoggingTime?: string
  stopLoggingTime?: string
  createdAt: string
}

/** What a new trail logs: all read and write management events, no data events. */
export function defaultEventSelectors(): EventSelectorConfig {
  return {
    kind: 'basic',
    selectors: [
      {
        readWriteType: 'All',
        includeManagementEvents: true,
        dataResources: [],
        excludeManagementEventSources: [],
      },
    ],
  }
}

export const trailArn = (t: Pick<Trail, 'homeRegion' | 'accountId' | 'name'>): string =>
  `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.name}`

/** The SNS topic ARN of a trail's notifications (the topic may be given by name or ARN). */
export function snsTopicArn(t: Pick<Trail, 'homeRegion' | 'accountId' | 'snsTopicName'>) {
  if (!t.snsTopicName) return undefined
  if (t.snsTopicName.startsWith('arn:')) return t.snsTopicName
  return `arn:aws:sns:${t.homeRegion}:${t.accountId}:${t.snsTopicName}`
}
