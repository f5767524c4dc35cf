/**
 * @module events/record
 * The CloudTrail event record (eventVersion 1.11) as it is written to log files and returned in
 * LookupEvents' CloudTrailEvent string. Every source produces these; every sink consumes them.
 */

export interface UserIdentity {
  type: string
  principalId?: string
  arn?: string
  accountId?: string
  accessKeyId?: string
  userName?: string
  invokedBy?: string
  sessionContext?: {
    sessionIssuer?: Record<string, string>
    webIdFederationData?: Record<string, unknown>
    attributes?: { creationDate?: string; mfaAuthenticated?: string }
    sourceIdentity?: string
  }
  [k: string]: unknown
}

export interface EventResource {
  ARN?: string
  accountId?: string
  type?: string
}

export interface CloudTrailRecord {
  eventVersion: string
  userIdentity: UserIdentity
  eventTime: string
  eventSource: string
  eventName: string
  awsRegion: string
  sourceIPAddress: string
  userAgent?: string
  errorCode?: string
  errorMessage?: string
  requestParameters: unknown
  responseElements: unknown
  additionalEventData?: unknown
  requestID?: string
  eventID: string
  readOnly?: boolean
  resources?: EventResource[]
  eventType: string
  managementEvent?: boolean
  recipientAccountId: string
  eventCategory: string
  sessionCredentialFromConsole?: string
  tlsDetails?: { tlsVersion?: string; cipherSuite?: string; clientProvidedHostHeader?: string }
  [k: string]: unknown
}

/** CloudTrail's timestamp format: ISO-8601 UTC to the second (`2024-01-02T03:04:05Z`). */
export function eventTimeString(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * The account an event belongs to for lookups: the recipient account, falling back to the caller's.
 */
export function accountOf(r: CloudTrailRecord): string {
  return r.recipientAccountId || r.userIdentity?.accountId || ''
}
