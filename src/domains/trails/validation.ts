/**
 * @module domains/trails/validation
 * AWS's format rules for a trail's settings: trail names and ARNs, S3 bucket names and key
 * prefixes, SNS topics, KMS key IDs, CloudWatch Logs log group and role ARNs. Each check throws the
 * CloudTrail exception AWS returns for that member.
 */
import * as E from './errors.js'

export const MAX_S3_PREFIX = 200

/** AWS's trail name rules; returns the violated rule, or undefined when the name is valid. */
export function trailNameProblem(name: string): string | undefined {
  if (name.length < 3) {
    return `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`
  }
  if (name.length > 128) {
    return `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`
  }
  if (!/^[A-Za-z0-9]/.test(name)) return 'Trail name must starts with a letter or number.'
  if (!/[A-Za-z0-9]$/.test(name)) return 'Trail name must ends with a letter or number.'
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    return 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).'
  }
  if (/[._-]{2}/.test(name)) {
    return 'Trail name cannot contain adjacent periods (.), hyphens (-) or underscores (_).'
  }
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) {
    return 'Trail name cannot be formatted as an IP address.'
  }
  return undefined
}

export function validateTrailName(name: string): void {
  const problem = trailNameProblem(name)
  if (problem) throw E.InvalidTrailNameException(problem)
}

export interface ParsedTrailArn {
  region: string
  accountId: string
  name: string
}

const TRAIL_ARN = /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail\/([^/]+)$/

/**
 * A trail reference is a name or an ARN. Returns the parsed ARN, or undefined for a (valid) name.
 * Anything that starts like an ARN must be a well-formed trail ARN.
 */
export function parseTrailRef(nameOrArn: string): ParsedTrailArn | undefined {
  if (!nameOrArn.startsWith('arn:')) {
    validateTrailName(nameOrArn)
    return undefined
  }
  const m = TRAIL_ARN.exec(nameOrArn)
  if (!m) {
    throw E.CloudTrailARNInvalidException(
      `Invalid trail ARN: ${nameOrArn}. The format of a trail ARN is arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.`,
    )
  }
  validateTrailName(m[3]!)
  return { region: m[1]!, accountId: m[2]!, name: m[3]! }
}

/** S3 general purpose bucket naming rules. */
export function validateBucketName(name: string): void {
  const bad = (why: string) =>
    E.InvalidS3BucketNameException(`Bucket name is not valid: ${name}. ${why}`)
  if (name.length < 3 || name.length > 63) {
    throw bad('A bucket name must be between 3 and 63 characters long.')
  }
  if (!/^[a-z0-9.-]+$/.test(name)) {
    throw bad('A bucket name can contain only lowercase letters, numbers, periods and hyphens.')
  }
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) {
    throw bad('A bucket name must begin and end with a letter or number.')
  }
  if (name.includes('..')) throw bad('A bucket name must not contain two adjacent periods.')
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) {
    throw bad('A bucket name must not be formatted as an IP address.')
  }
  if (/^(xn--|sthree-)/.test(name) || /(-s3alias|--ol-s3|--x-s3)$/.test(name)) {
    throw bad('The bucket name uses a prefix or suffix that is reserved by Amazon S3.')
  }
}

export function validateS3Prefix(prefix: string): void {
  if (prefix.length > MAX_S3_PREFIX) {
    throw E.InvalidS3PrefixException(
      `S3 key prefix is too long. Maximum allowed length: ${MAX_S3_PREFIX} characters. Specified prefix length: ${prefix.length} characters.`,
    )
  }
}

const SNS_NAME = /^[A-Za-z0-9_-]{1,256}$/
const SNS_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})$/

/** An SNS topic given by name or by ARN. */
export function validateSnsTopic(topic: string): void {
  if (topic.startsWith('arn:') ? !SNS_ARN.test(topic) : !SNS_NAME.test(topic)) {
    throw E.InvalidSnsTopicNameException(
      `SNS topic name or ARN is not valid: ${topic}. A topic name is 1 to 256 ASCII letters, numbers, underscores and hyphens; a topic ARN is arn:aws:sns:<region>:<account>:<name>.`,
    )
  }
}

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
const MRK = 'mrk-[0-9a-fA-F]{32}'
const KEY_ID = new RegExp(`^(?:${UUID}|${MRK})$`)
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/
const KMS_ARN = new RegExp(
  `^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(?:key/(?:${UUID}|${MRK})|alias/[A-Za-z0-9/_-]{1,250})$`,
)

/**
 * Checks a KMS key reference (key ID, alias name, key ARN or alias ARN) and returns it as a full
 * ARN in the trail's home region and account, as AWS reports KmsKeyId.
 */
export function normalizeKmsKeyId(keyId: string, region: string, accountId: string): string {
  if (KMS_ARN.test(keyId)) return keyId
  if (KEY_ID.test(keyId)) return `arn:aws:kms:${region}:${accountId}:key/${keyId}`
  if (ALIAS.test(keyId) && !keyId.startsWith('alias/aws/')) {
    return `arn:aws:kms:${region}:${accountId}:${keyId}`
  }
  throw E.InvalidKmsKeyIdException(
    `Invalid KmsKeyId ${keyId}. Use a key ID, a key ARN, an alias name prefixed by "alias/" (not an AWS managed alias) or an alias ARN.`,
  )
}

const LOG_GROUP_ARN =
  /^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([\w#./-]{1,512})(:\*)?$/
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/

export function validateLogGroupArn(arn: string, accountId: string): void {
  const m = LOG_GROUP_ARN.exec(arn)
  if (!m) {
    throw E.InvalidCloudWatchLogsLogGroupArnException(
      `CloudWatch Logs log group ARN is not valid: ${arn}. The format is arn:aws:logs:<region>:<account>:log-group:<name>:*.`,
    )
  }
  if (m[2] !== accountId) {
    throw E.InvalidCloudWatchLogsLogGroupArnException(
      `The CloudWatch Logs log group ${arn} must belong to account ${accountId}.`,
    )
  }
}

export function validateLogsRoleArn(arn: string, accountId: string): void {
  const m = ROLE_ARN.exec(arn)
  if (!m) {
    throw E.InvalidCloudWatchLogsRoleArnException(
      `CloudWatch Logs role ARN is not valid: ${arn}. The format is arn:aws:iam::<account>:role/<name>.`,
    )
  }
  if (m[1] !== accountId) {
    throw E.InvalidCloudWatchLogsRoleArnException(
      `The CloudWatch Logs role ${arn} must belong to account ${accountId}.`,
    )
  }
}
