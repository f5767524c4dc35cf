/**
 * @module domains/trails/settings
 * The settings CreateTrail and UpdateTrail share, validated and applied to a trail. In an update an
 * absent member leaves the setting as it is and an empty string clears an optional one (prefix, SNS
 * topic, KMS key, CloudWatch Logs).
 */
import * as E from './errors.js'
import type { Trail } from './model.js'
import {
  normalizeKmsKeyId,
  validateBucketName,
  validateLogGroupArn,
  validateLogsRoleArn,
  validateS3Prefix,
  validateSnsTopic,
} from './validation.js'

export interface TrailSettings {
  s3BucketName?: string
  s3KeyPrefix?: string
  snsTopicName?: string
  includeGlobalServiceEvents?: boolean
  isMultiRegionTrail?: boolean
  enableLogFileValidation?: boolean
  cloudWatchLogsLogGroupArn?: string
  cloudWatchLogsRoleArn?: string
  kmsKeyId?: string
  isOrganizationTrail?: boolean
}

type Optional =
  | 's3KeyPrefix'
  | 'snsTopicName'
  | 'cloudWatchLogsLogGroupArn'
  | 'cloudWatchLogsRoleArn'
  | 'kmsKeyId'

function setOptional(t: Trail, key: Optional, value: string | undefined): void {
  if (value === undefined) return
  if (value === '') delete t[key]
  else t[key] = value
}

/** Returns `base` with `s` applied, after AWS's checks; `base` itself is not changed. */
export function applySettings(base: Trail, s: TrailSettings): Trail {
  const t: Trail = { ...base }
  if (s.s3BucketName !== undefined) {
    validateBucketName(s.s3BucketName)
    t.s3BucketName = s.s3BucketName
  }
  if (s.s3KeyPrefix !== undefined) validateS3Prefix(s.s3KeyPrefix)
  setOptional(t, 's3KeyPrefix', s.s3KeyPrefix)
  if (s.snsTopicName) validateSnsTopic(s.snsTopicName)
  setOptional(t, 'snsTopicName', s.snsTopicName)
  setOptional(
    t,
    'kmsKeyId',
    s.kmsKeyId ? normalizeKmsKeyId(s.kmsKeyId, t.homeRegion, t.accountId) : s.kmsKeyId,
  )
  if (s.cloudWatchLogsLogGroupArn) validateLogGroupArn(s.cloudWatchLogsLogGroupArn, t.accountId)
  if (s.cloudWatchLogsRoleArn) validateLogsRoleArn(s.cloudWatchLogsRoleArn, t.accountId)
  setOptional(t, 'cloudWatchLogsLogGroupArn', s.cloudWatchLogsLogGroupArn)
  setOptional(t, 'cloudWatchLogsRoleArn', s.cloudWatchLogsRoleArn)
  if (Boolean(t.cloudWatchLogsLogGroupArn) !== Boolean(t.cloudWatchLogsRoleArn)) {
    throw E.InvalidParameterCombinationException(
      t.cloudWatchLogsLogGroupArn
        ? 'A CloudWatch Logs log group ARN was specified without a role ARN; specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.'
        : 'A CloudWatch Logs role ARN was specified without a log group ARN; specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.',
    )
  }
  if (s.includeGlobalServiceEvents !== undefined) {
    t.includeGlobalServiceEvents = s.includeGlobalServiceEvents
  }
  if (s.isMultiRegionTrail !== undefined) t.isMultiRegionTrail = s.isMultiRegionTrail
  if (t.isMultiRegionTrail && !t.includeGlobalServiceEvents) {
    throw E.InvalidParameterCombinationException(
      'Multi-Region trail must include global service events.',
    )
  }
  if (s.enableLogFileValidation !== undefined) {
    t.logFileValidationEnabled = s.enableLogFileValidation
  }
  if (s.isOrganizationTrail) {
    throw E.OrganizationsNotInUseException(
      `Account ${t.accountId} is not a member of an organization in AWS Organizations, so the trail cannot be an organization trail.`,
    )
  }
  if (s.isOrganizationTrail !== undefined) t.isOrganizationTrail = s.isOrganizationTrail
  return t
}
