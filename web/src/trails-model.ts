/** Trail shapes (DescribeTrails, GetTrailStatus) and helpers. */
import { call } from './api'

export interface Trail {
  Name: string
  TrailARN: string
  HomeRegion?: string
  S3BucketName?: string
  S3KeyPrefix?: string
  SnsTopicName?: string
  SnsTopicARN?: string
  IncludeGlobalServiceEvents?: boolean
  IsMultiRegionTrail?: boolean
  LogFileValidationEnabled?: boolean
  CloudWatchLogsLogGroupArn?: string
  CloudWatchLogsRoleArn?: string
  KmsKeyId?: string
  HasCustomEventSelectors?: boolean
  HasInsightSelectors?: boolean
  IsOrganizationTrail?: boolean
}

export interface TrailStatus {
  IsLogging?: boolean
  LatestDeliveryError?: string
  LatestNotificationError?: string
  LatestDeliveryTime?: number
  LatestNotificationTime?: number
  StartLoggingTime?: number
  StopLoggingTime?: number
  LatestCloudWatchLogsDeliveryError?: string
  LatestCloudWatchLogsDeliveryTime?: number
  LatestDigestDeliveryTime?: number
  LatestDigestDeliveryError?: string
  LatestDeliveryAttemptTime?: string
  LatestDeliveryAttemptSucceeded?: string
}

export async function describeTrails(): Promise<Trail[]> {
  const r = await call<{ trailList?: Trail[] }>('DescribeTrails', { includeShadowTrails: false })
  return r.trailList ?? []
}

export async function trailStatus(name: string): Promise<TrailStatus> {
  return call<TrailStatus>('GetTrailStatus', { Name: name })
}

/** The log group name of a CloudWatch Logs log group ARN (`...:log-group:NAME:*`). */
export function logGroupName(arn: string | undefined): string {
  if (!arn) return ''
  const m = /:log-group:([^:]+)/.exec(arn)
  return m?.[1] ?? arn
}

export const logGroupArn = (region: string, account: string, name: string) =>
  `arn:aws:logs:${region}:${account}:log-group:${name}:*`
