/** @module domains/trails/model  A trail's configuration and logging state (domain names, not wire names). */

export interface Tag {
  key: string
  value?: string
}

export interface Trail {
  name: string
  accountId: string
  homeRegion: string
  s3BucketName: string
  s3KeyPrefix?: string
  snsTopicName?: string
  includeGlobalServiceEvents: boolean
  isMultiRegionTrail: boolean
  logFileValidationEnabled: boolean
  cloudWatchLogsLogGroupArn?: string
  cloudWatchLogsRoleArn?: string
  kmsKeyId?: string
  isOrganizationTrail: boolean
  /** Basic event selectors (wire shape kept: they are stored and returned verbatim). */
  eventSelectors?: unknown[]
  advancedEventSelectors?: unknown[]
  insightSelectors?: unknown[]
  tags: Tag[]
  isLogging: boolean
  startLoggingTime?: string
  stopLoggingTime?: string
  createdAt: string
}

export const trailArn = (t: Pick<Trail, 'homeRegion' | 'accountId' | 'name'>): string =>
  `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.name}`
