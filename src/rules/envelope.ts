/**
 * @module rules/envelope
 * A CloudTrail record as EventBridge delivers it: `version`, `id`, `detail-type` (from the record's
 * eventType / eventCategory), `source` (`aws.<service>` from eventSource), `account`, `time`,
 * `region`, `resources` and `detail` (the record itself).
 */
import type { CloudTrailRecord } from '../events/record.js'

export interface EventBridgeEvent {
  version: '0'
  id: string
  'detail-type': string
  source: string
  account: string
  time: string
  region: string
  resources: string[]
  detail: CloudTrailRecord
}

export function detailTypeOf(r: CloudTrailRecord): string {
  if (r.eventCategory === 'Insight' || r.eventType === 'AwsCloudTrailInsight') {
    return 'AWS Insight via CloudTrail'
  }
  switch (r.eventType) {
    case 'AwsConsoleSignIn':
      return 'AWS Console Signin via CloudTrail'
    case 'AwsServiceEvent':
      return 'AWS Service Event via CloudTrail'
    case 'AwsConsoleAction':
      return 'AWS Console Action via CloudTrail'
    default:
      return 'AWS API Call via CloudTrail'
  }
}

/** `s3.amazonaws.com` → `aws.s3`; `signin.amazonaws.com` → `aws.signin`. */
export function sourceOf(eventSource: string): string {
  const svc = eventSource.endsWith('.amazonaws.com')
    ? eventSource.slice(0, -'.amazonaws.com'.length)
    : eventSource
  return `aws.${svc}`
}

/**
 * The envelope for matching. `id` is the record's eventID until delivery gives the envelope its own
 * (EventBridge ids are per delivery; reusing eventID keeps a redelivery recognisable).
 */
export function envelopeOf(r: CloudTrailRecord): EventBridgeEvent {
  return {
    version: '0',
    id: r.eventID,
    'detail-type': detailTypeOf(r),
    source: sourceOf(r.eventSource ?? ''),
    account: r.recipientAccountId || r.userIdentity?.accountId || '',
    time: r.eventTime,
    region: r.awsRegion,
    resources: [],
    detail: r,
  }
}
