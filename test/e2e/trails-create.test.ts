/**
 * The trail control plane end to end through the real AWS SDK against a started server, with AWS's
 * error names and messages: CreateTrail: every member, names, buckets, regions and AWS's errors. Shared setup: test/helpers/trails.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  type Tag,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { HOME, OTHER, trailsContext } from '../helpers/trails.js'

describe('e2e trails: create', () => {
  let home: CloudTrailClient
  let account: string
  const { arn, create } = trailsContext((c) => ({ home, account } = c))

  describe('CreateTrail', () => {
    it('creates a trail with every member and returns the CreateTrail shape', async () => {
      const r = await create({
        Name: 'full.trail_1',
        S3BucketName: 'my-bucket.logs',
        S3KeyPrefix: 'prefix/x',
        SnsTopicName: 'topic-1',
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: true,
        EnableLogFileValidation: true,
        CloudWatchLogsLogGroupArn: `arn:aws:logs:${HOME}:${account}:log-group:ct:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${account}:role/ct-to-cwl`,
        KmsKeyId: 'alias/trail-key',
        TagsList: [{ Key: 'team', Value: 'sec' }, { Key: 'flag' }],
      })
      assert.deepEqual(
        { ...r, $metadata: undefined },
        {
          $metadata: undefined,
          Name: 'full.trail_1',
          S3BucketName: 'my-bucket.logs',
          S3KeyPrefix: 'prefix/x',
          SnsTopicName: 'topic-1',
          SnsTopicARN: `arn:aws:sns:${HOME}:${account}:topic-1`,
          IncludeGlobalServiceEvents: true,
          IsMultiRegionTrail: true,
          TrailARN: arn('full.trail_1'),
          LogFileValidationEnabled: true,
          CloudWatchLogsLogGroupArn: `arn:aws:logs:${HOME}:${account}:log-group:ct:*`,
          CloudWatchLogsRoleArn: `arn:aws:iam::${account}:role/ct-to-cwl`,
          KmsKeyId: `arn:aws:kms:${HOME}:${account}:alias/trail-key`,
          IsOrganizationTrail: false,
        },
      )
      const tags = await home.send(new ListTagsCommand({ ResourceIdList: [r.TrailARN!] }))
      assert.deepEqual(tags.ResourceTagList, [
        { ResourceId: r.TrailARN, TagsList: [{ Key: 'team', Value: 'sec' }, { Key: 'flag' }] },
      ])
    })

    it('applies defaults: single-region, global service events, not logging', async () => {
      await create({ Name: 'plain' })
      const { Trail } = await home.send(new GetTrailCommand({ Name: 'plain' }))
      assert.deepEqual(Trail, {
        Name: 'plain',
        S3BucketName: 'audit-bucket',
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: false,
        HomeRegion: HOME,
        TrailARN: arn('plain'),
        LogFileValidationEnabled: false,
        HasCustomEventSelectors: false,
        HasInsightSelectors: false,
        IsOrganizationTrail: false,
      })
      const status = await home.send(new GetTrailStatusCommand({ Name: 'plain' }))
      assert.equal(status.IsLogging, false)
    })

    it('rejects names that break AWS trail name rules', async () => {
      const cases: [string, string][] = [
        [
          'ab',
          'Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.',
        ],
        [
          'a'.repeat(129),
          'Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters.',
        ],
        ['-abc', 'Trail name must starts with a letter or number.'],
        ['abc_', 'Trail name must ends with a letter or number.'],
        [
          'ab c',
          'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).',
        ],
        [
          'my-_trail',
          'Trail name cannot contain adjacent periods (.), hyphens (-) or underscores (_).',
        ],
        ['192.168.5.4', 'Trail name cannot be formatted as an IP address.'],
      ]
      for (const [name, message] of cases) {
        await assert.rejects(create({ Name: name }), { name: 'InvalidTrailNameException', message })
      }
    })

    it('rejects bad buckets, prefixes, SNS topics, KMS keys and CloudWatch Logs ARNs', async () => {
      await assert.rejects(create({ Name: 'trail', S3BucketName: 'Bad_Bucket' }), {
        name: 'InvalidS3BucketNameException',
        message:
          'Bucket name is not valid: Bad_Bucket. A bucket name can contain only lowercase letters, numbers, periods and hyphens.',
      })
      await assert.rejects(create({ Name: 'trail', S3BucketName: 'ab' }), {
        name: 'InvalidS3BucketNameException',
        message: /between 3 and 63 characters/,
      })
      await assert.rejects(create({ Name: 'trail', S3BucketName: 'a..b' }), {
        name: 'InvalidS3BucketNameException',
        message: /two adjacent periods/,
      })
      await assert.rejects(create({ Name: 'trail', S3KeyPrefix: 'p'.repeat(201) }), {
        name: 'InvalidS3PrefixException',
        message:
          'S3 key prefix is too long. Maximum allowed length: 200 characters. Specified prefix length: 201 characters.',
      })
      await assert.rejects(create({ Name: 'trail', SnsTopicName: 'bad topic' }), {
        name: 'InvalidSnsTopicNameException',
        message: /^SNS topic name or ARN is not valid: bad topic\./,
      })
      await assert.rejects(create({ Name: 'trail', KmsKeyId: 'not-a-key' }), {
        name: 'InvalidKmsKeyIdException',
        message: /^Invalid KmsKeyId not-a-key\./,
      })
      const group = `arn:aws:logs:${HOME}:${account}:log-group:ct:*`
      const role = `arn:aws:iam::${account}:role/r`
      await assert.rejects(
        create({
          Name: 'trail',
          CloudWatchLogsLogGroupArn: 'log-group',
          CloudWatchLogsRoleArn: role,
        }),
        {
          name: 'InvalidCloudWatchLogsLogGroupArnException',
          message: /^CloudWatch Logs log group ARN is not valid: log-group\./,
        },
      )
      await assert.rejects(
        create({ Name: 'trail', CloudWatchLogsLogGroupArn: group, CloudWatchLogsRoleArn: 'role' }),
        {
          name: 'InvalidCloudWatchLogsRoleArnException',
          message: /^CloudWatch Logs role ARN is not valid: role\./,
        },
      )
      await assert.rejects(
        create({
          Name: 'trail',
          CloudWatchLogsLogGroupArn: group,
          CloudWatchLogsRoleArn: 'arn:aws:iam::999988887777:role/r',
        }),
        {
          name: 'InvalidCloudWatchLogsRoleArnException',
          message: `The CloudWatch Logs role arn:aws:iam::999988887777:role/r must belong to account ${account}.`,
        },
      )
      await assert.rejects(create({ Name: 'trail', CloudWatchLogsLogGroupArn: group }), {
        name: 'InvalidParameterCombinationException',
        message: /log group ARN was specified without a role ARN/,
      })
      await assert.rejects(create({ Name: 'trail', CloudWatchLogsRoleArn: role }), {
        name: 'InvalidParameterCombinationException',
        message: /role ARN was specified without a log group ARN/,
      })
      await assert.rejects(
        create({ Name: 'trail', IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false }),
        {
          name: 'InvalidParameterCombinationException',
          message: 'Multi-Region trail must include global service events.',
        },
      )
      await assert.rejects(create({ Name: 'trail', IsOrganizationTrail: true }), {
        name: 'OrganizationsNotInUseException',
      })
      const listed = await home.send(new ListTrailsCommand({}))
      assert.deepEqual(listed.Trails, [], 'no failed call created a trail')
    })

    it('rejects bad tags', async () => {
      const many: Tag[] = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))
      await assert.rejects(create({ Name: 'trail', TagsList: many }), {
        name: 'TagsLimitExceededException',
        message: `The number of tags on resource ${arn('trail')} would be 51, which exceeds the limit of 50 tags per resource.`,
      })
      await assert.rejects(create({ Name: 'trail', TagsList: [{ Key: 'aws:x', Value: 'v' }] }), {
        name: 'InvalidTagParameterException',
        message: 'Tag key "aws:x" uses the reserved prefix "aws:".',
      })
      await assert.rejects(create({ Name: 'trail', TagsList: [{ Key: 'a' }, { Key: 'a' }] }), {
        name: 'InvalidTagParameterException',
        message: 'Duplicate tag key in the request: "a".',
      })
      await assert.rejects(create({ Name: 'trail', TagsList: [{ Key: 'k', Value: '' }] }), {
        name: 'ValidationException',
      })
    })

    it('refuses a duplicate name and a sixth trail in a region', async () => {
      await create({ Name: 'dup' })
      await assert.rejects(create({ Name: 'dup' }), {
        name: 'TrailAlreadyExistsException',
        message: `Trail dup already exists for customer: ${account}`,
      })
      // The same name in another region is another trail.
      await create({ Name: 'dup' }, OTHER)
      for (let i = 2; i <= 5; i++) await create({ Name: `trail-${i}` })
      await assert.rejects(create({ Name: 'trail-6' }), {
        name: 'MaximumNumberOfTrailsExceededException',
        message: `User: ${account} already has 5 trails in ${HOME}.`,
      })
      // A multi-region trail would also land in the full region.
      await assert.rejects(create({ Name: 'everywhere', IsMultiRegionTrail: true }, OTHER), {
        name: 'MaximumNumberOfTrailsExceededException',
        message: `User: ${account} already has 5 trails in ${HOME}.`,
      })
    })

    it('refuses a multi-region trail whose name a trail in another region has', async () => {
      await create({ Name: 'shared' }, OTHER)
      await assert.rejects(create({ Name: 'shared', IsMultiRegionTrail: true }), {
        name: 'TrailAlreadyExistsException',
        message: `Trail shared already exists for customer: ${account}`,
      })
    })
  })
})
