/**
 * @module domains/posture/model
 * The inputs and the report of the security posture check: trails (as DescribeTrails,
 * GetTrailStatus, GetEventSelectors and ListTags describe them) and the settings of their buckets
 * (bucket policy, public access block, ACL grants, server access logging), in camelCase domain
 * shapes. Whoever gathers them (the CLI over the public APIs, the server from its own stores, the
 * console) maps wire names to these; the evaluator never sees wire names.
 */

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'

/** PASSED / FAILED as Security Hub reports; UNKNOWN: the settings could not be read. */
export type ComplianceStatus = 'PASSED' | 'FAILED' | 'UNKNOWN' | 'NOT_APPLICABLE'

export interface PostureEventSelector {
  readWriteType?: 'ReadOnly' | 'WriteOnly' | 'All'
  includeManagementEvents?: boolean
  dataResources?: { type: string; values: string[] }[]
  excludeManagementEventSources?: string[]
}

export interface PostureFieldSelector {
  field: string
  equals?: string[]
  startsWith?: string[]
  endsWith?: string[]
  notEquals?: string[]
  notStartsWith?: string[]
  notEndsWith?: string[]
}

export interface PostureAdvancedSelector {
  name?: string
  fieldSelectors: PostureFieldSelector[]
}

export interface PostureTrail {
  name: string
  arn: string
  homeRegion: string
  isMultiRegionTrail: boolean
  isOrganizationTrail?: boolean
  s3BucketName: string
  kmsKeyId?: string
  logFileValidationEnabled: boolean
  cloudWatchLogsLogGroupArn?: string
  /** GetTrailStatus IsLogging. */
  isLogging: boolean
  /** GetEventSelectors: basic selectors, or undefined when the trail uses advanced ones. */
  eventSelectors?: PostureEventSelector[]
  advancedEventSelectors?: PostureAdvancedSelector[]
  tags: { key: string; value?: string }[]
}

export interface PublicAccessBlock {
  blockPublicAcls: boolean
  ignorePublicAcls: boolean
  blockPublicPolicy: boolean
  restrictPublicBuckets: boolean
}

export interface AclGrant {
  /** Group grantee URI (e.g. http://acs.amazonaws.com/groups/global/AllUsers), when a group. */
  uri?: string
  permission: string
}

/** A bucket's settings; an absent member means "not configured". */
export interface PostureBucket {
  name: string
  /** Set when the settings could not be read (no such bucket, access denied, ...): why. */
  error?: string
  /** The bucket policy document as JSON text. */
  policy?: string
  publicAccessBlock?: PublicAccessBlock
  aclGrants?: AclGrant[]
  logging?: { targetBucket: string; targetPrefix?: string }
}

export interface PostureInput {
  trails: PostureTrail[]
  /** By bucket name: every trail's bucket that was looked at. */
  buckets: Record<string, PostureBucket>
}

export interface PostureOptions {
  /** CloudTrail.9: tag keys every trail must have (default: any one tag that is not `aws:`). */
  requiredTagKeys?: string[]
  /** Only these controls (IDs such as `CloudTrail.6`); default all. */
  controls?: string[]
  /** Written into the remediation commands (`aws --endpoint-url ...`). */
  endpointUrl?: string
  s3EndpointUrl?: string
}

export interface ResourceFinding {
  /** A trail ARN, an `arn:aws:s3:::bucket`, or `account` for account-level controls. */
  resource: string
  status: ComplianceStatus
  reason: string
}

export interface ControlResult {
  /** Security Hub control ID, e.g. `CloudTrail.1`. */
  id: string
  title: string
  severity: Severity
  /** The CIS AWS Foundations Benchmark requirements it maps to, e.g. `CIS 1.4.0 3.1`. */
  cis: string[]
  /** FAILED when any finding failed; UNKNOWN when none failed but some could not be evaluated. */
  status: ComplianceStatus
  findings: ResourceFinding[]
  /** Steps that fix the failed findings (empty when it passed). */
  remediation: string[]
}

export interface PostureReport {
  controls: ControlResult[]
  summary: { passed: number; failed: number; unknown: number; notApplicable: number }
}
