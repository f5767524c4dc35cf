/**
 * @module iam/managed-policies
 * OpenTrail's equivalents of the AWS managed policies, by name. Attach them to users or roles in the
 * config file (`policies: [AWSCloudTrail_ReadOnlyAccess]`).
 */
import type { PolicyDocument } from './policy.js'

export const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  AdministratorAccess: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  },
  AWSCloudTrail_FullAccess: {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'CloudTrail', Effect: 'Allow', Action: 'cloudtrail:*', Resource: '*' },
      {
        Sid: 'TrailBuckets',
        Effect: 'Allow',
        Action: [
          's3:CreateBucket',
          's3:DeleteBucket',
          's3:ListAllMyBuckets',
          's3:ListBucket',
          's3:GetObject',
          's3:GetBucketLocation',
          's3:GetBucketPolicy',
          's3:PutBucketPolicy',
          's3:PutBucketPublicAccessBlock',
          's3:PutEncryptionConfiguration',
        ],
        Resource: '*',
      },
      {
        Sid: 'LogsAndTopics',
        Effect: 'Allow',
        Action: [
          'logs:*',
          'sns:*',
          'kms:ListKeys',
          'kms:ListAliases',
          'iam:ListRoles',
          'iam:GetRole',
        ],
        Resource: '*',
      },
    ],
  },
  AWSCloudTrail_ReadOnlyAccess: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'cloudtrail:Get*',
          'cloudtrail:Describe*',
          'cloudtrail:List*',
          'cloudtrail:LookupEvents',
          's3:ListAllMyBuckets',
          's3:GetBucketLocation',
        ],
        Resource: '*',
      },
    ],
  },
}
