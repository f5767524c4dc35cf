/**
 * The trail control plane end to end through the real AWS SDK against a started server, with AWS's
 * error names and messages: GetTrail, DescribeTrails, ListTrails (shadow trails from other regions), UpdateTrail, logging state and DeleteTrail. Shared setup: test/helpers/trails.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { HOME, OTHER, trailsContext } from '../helpers/trails.js'

describe('e2e trails: read-update', () => {
  let home: CloudTrailClient
  let other: CloudTrailClient
  let account: string
  const { arn, notFound, create } = trailsContext((c) => ({ home, other, account } = c))

  describe('GetTrail, DescribeTrails, ListTrails and shadow trails', () => {
    it('finds a trail by name or ARN, and says which trail is unknown', async () => {
      await create({ Name: 'get-me' })
      const byName = await home.send(new GetTrailCommand({ Name: 'get-me' }))
      const byArn = await home.send(new GetTrailCommand({ Name: arn('get-me') }))
      assert.deepEqual(byName.Trail, byArn.Trail)
      await assert.rejects(home.send(new GetTrailCommand({ Name: 'missing' })), {
        name: 'TrailNotFoundException',
        message: notFound('missing'),
      })
      await assert.rejects(home.send(new GetTrailCommand({ Name: arn('missing', 'us-west-2') })), {
        name: 'TrailNotFoundException',
        message: notFound('missing', 'us-west-2'),
      })
      await assert.rejects(
        home.send(new GetTrailCommand({ Name: 'arn:aws:cloudtrail:us-east-1:12:trail/x' })),
        {
          name: 'CloudTrailARNInvalidException',
          message:
            'Invalid trail ARN: arn:aws:cloudtrail:us-east-1:12:trail/x. The format of a trail ARN is arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.',
        },
      )
      await assert.rejects(home.send(new GetTrailCommand({ Name: 'x' })), {
        name: 'InvalidTrailNameException',
      })
      // A single-region trail is not visible by name from another region, but is by ARN.
      await assert.rejects(other.send(new GetTrailCommand({ Name: 'get-me' })), {
        name: 'TrailNotFoundException',
        message: notFound('get-me', OTHER),
      })
      const remote = await other.send(new GetTrailCommand({ Name: arn('get-me') }))
      assert.equal(remote.Trail?.HomeRegion, HOME)
    })

    it('shows multi-region trails as shadow trails in every region', async () => {
      await create({ Name: 'global', IsMultiRegionTrail: true })
      await create({ Name: 'local' })
      await create({ Name: 'theirs' }, OTHER)
      await home.send(new StartLoggingCommand({ Name: 'global' }))

      const fromOther = await other.send(new DescribeTrailsCommand({}))
      assert.deepEqual(fromOther.trailList?.map((t) => [t.Name, t.HomeRegion, t.TrailARN]).sort(), [
        ['global', HOME, arn('global')],
        ['theirs', OTHER, arn('theirs', OTHER)],
      ])
      const noShadows = await other.send(new DescribeTrailsCommand({ includeShadowTrails: false }))
      assert.deepEqual(
        noShadows.trailList?.map((t) => t.Name),
        ['theirs'],
      )
      const fromHome = await home.send(new DescribeTrailsCommand({}))
      assert.deepEqual(fromHome.trailList?.map((t) => t.Name).sort(), ['global', 'local'])

      // By name: trails homed in the region; by ARN: any trail of the account.
      const named = await other.send(
        new DescribeTrailsCommand({ trailNameList: ['theirs', 'global', arn('local'), 'nope'] }),
      )
      assert.deepEqual(
        named.trailList?.map((t) => t.Name),
        ['theirs', 'local'],
      )
      await assert.rejects(other.send(new DescribeTrailsCommand({ trailNameList: ['a b'] })), {
        name: 'InvalidTrailNameException',
      })

      // GetTrail and GetTrailStatus of the shadow, by name or ARN, from another region.
      for (const ref of ['global', arn('global')]) {
        const g = await other.send(new GetTrailCommand({ Name: ref }))
        assert.equal(g.Trail?.HomeRegion, HOME)
        assert.equal(g.Trail?.TrailARN, arn('global'))
        const s = await other.send(new GetTrailStatusCommand({ Name: ref }))
        assert.equal(s.IsLogging, true)
      }

      // Shadows are changed only from the home region.
      const homeOnly = {
        name: 'InvalidHomeRegionException',
        message: `The trail ${arn('global')} can only be changed from its home region ${HOME}; this request was made in ${OTHER}.`,
      }
      await assert.rejects(other.send(new StopLoggingCommand({ Name: 'global' })), homeOnly)
      await assert.rejects(other.send(new StartLoggingCommand({ Name: 'global' })), homeOnly)
      await assert.rejects(
        other.send(new UpdateTrailCommand({ Name: 'global', S3KeyPrefix: 'p' })),
        homeOnly,
      )
      await assert.rejects(other.send(new DeleteTrailCommand({ Name: arn('global') })), homeOnly)
      await assert.rejects(
        other.send(
          new PutEventSelectorsCommand({
            TrailName: 'global',
            EventSelectors: [{ ReadWriteType: 'All' }],
          }),
        ),
        homeOnly,
      )
      await assert.rejects(
        other.send(
          new PutInsightSelectorsCommand({
            TrailName: 'global',
            InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }],
          }),
        ),
        homeOnly,
      )
    })

    it('lists every trail of the account with pagination', async () => {
      const regions = [HOME, OTHER, 'us-west-2', 'ap-south-1', 'sa-east-1']
      const expected: string[] = []
      for (const region of regions) {
        for (let i = 0; i < 5; i++) {
          await create({ Name: `lt-${region}-${i}` }, region)
          expected.push(arn(`lt-${region}-${i}`, region))
        }
      }
      const first = await other.send(new ListTrailsCommand({}))
      assert.equal(first.Trails?.length, 20)
      assert.ok(first.NextToken)
      const second = await other.send(new ListTrailsCommand({ NextToken: first.NextToken }))
      assert.equal(second.Trails?.length, 5)
      assert.equal(second.NextToken, undefined)
      const all = [...first.Trails!, ...second.Trails!]
      assert.deepEqual(all.map((t) => t.TrailARN).sort(), expected.sort())
      for (const t of all) {
        assert.deepEqual(Object.keys(t).sort(), ['HomeRegion', 'Name', 'TrailARN'])
        assert.equal(t.TrailARN, arn(t.Name!, t.HomeRegion))
      }
      await assert.rejects(other.send(new ListTrailsCommand({ NextToken: 'garbage' })), {
        name: 'InvalidNextTokenException',
        message: 'The NextToken is not valid for this request.',
      })
    })
  })

  describe('UpdateTrail', () => {
    it('changes every member and clears optional ones with an empty string', async () => {
      await create({ Name: 'upd', S3KeyPrefix: 'old', SnsTopicName: 'topic' })
      const group = `arn:aws:logs:${HOME}:${account}:log-group:ct:*`
      const role = `arn:aws:iam::${account}:role/r`
      const keyId = '12345678-1234-1234-1234-123456789012'
      const r = await home.send(
        new UpdateTrailCommand({
          Name: arn('upd'),
          S3BucketName: 'new-bucket',
          S3KeyPrefix: '',
          SnsTopicName: `arn:aws:sns:${HOME}:${account}:other-topic`,
          IncludeGlobalServiceEvents: true,
          IsMultiRegionTrail: true,
          EnableLogFileValidation: true,
          CloudWatchLogsLogGroupArn: group,
          CloudWatchLogsRoleArn: role,
          KmsKeyId: keyId,
          IsOrganizationTrail: false,
        }),
      )
      assert.deepEqual(
        { ...r, $metadata: undefined },
        {
          $metadata: undefined,
          Name: 'upd',
          S3BucketName: 'new-bucket',
          SnsTopicName: `arn:aws:sns:${HOME}:${account}:other-topic`,
          SnsTopicARN: `arn:aws:sns:${HOME}:${account}:other-topic`,
          IncludeGlobalServiceEvents: true,
          IsMultiRegionTrail: true,
          TrailARN: arn('upd'),
          LogFileValidationEnabled: true,
          CloudWatchLogsLogGroupArn: group,
          CloudWatchLogsRoleArn: role,
          KmsKeyId: `arn:aws:kms:${HOME}:${account}:key/${keyId}`,
          IsOrganizationTrail: false,
        },
      )
      // Now a shadow trail exists in other regions.
      const shadow = await other.send(new GetTrailCommand({ Name: 'upd' }))
      assert.equal(shadow.Trail?.IsMultiRegionTrail, true)

      const cleared = await home.send(
        new UpdateTrailCommand({
          Name: 'upd',
          SnsTopicName: '',
          KmsKeyId: '',
          CloudWatchLogsLogGroupArn: '',
          CloudWatchLogsRoleArn: '',
          IsMultiRegionTrail: false,
        }),
      )
      for (const k of ['SnsTopicName', 'SnsTopicARN', 'KmsKeyId', 'CloudWatchLogsLogGroupArn']) {
        assert.equal(k in cleared, false, k)
      }
      assert.equal(cleared.IsMultiRegionTrail, false)
      assert.equal(cleared.LogFileValidationEnabled, true, 'absent members stay as they were')
      await assert.rejects(other.send(new GetTrailCommand({ Name: 'upd' })), {
        name: 'TrailNotFoundException',
        message: notFound('upd', OTHER),
      })
    })

    it('validates like CreateTrail', async () => {
      await create({ Name: 'upd' })
      await assert.rejects(home.send(new UpdateTrailCommand({ Name: 'missing' })), {
        name: 'TrailNotFoundException',
        message: notFound('missing'),
      })
      await assert.rejects(home.send(new UpdateTrailCommand({ Name: '-bad' })), {
        name: 'InvalidTrailNameException',
        message: 'Trail name must starts with a letter or number.',
      })
      await assert.rejects(home.send(new UpdateTrailCommand({ Name: 'upd', S3BucketName: '' })), {
        name: 'InvalidS3BucketNameException',
      })
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'upd', S3KeyPrefix: 'x'.repeat(201) })),
        { name: 'InvalidS3PrefixException' },
      )
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'upd', SnsTopicName: 'arn:aws:sns:bad' })),
        { name: 'InvalidSnsTopicNameException' },
      )
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'upd', KmsKeyId: 'alias/aws/s3' })),
        {
          name: 'InvalidKmsKeyIdException',
        },
      )
      await assert.rejects(
        home.send(
          new UpdateTrailCommand({
            Name: 'upd',
            CloudWatchLogsLogGroupArn: `arn:aws:logs:${HOME}:${account}:log-group:g:*`,
          }),
        ),
        { name: 'InvalidParameterCombinationException', message: /without a role ARN/ },
      )
      await assert.rejects(
        home.send(
          new UpdateTrailCommand({
            Name: 'upd',
            IsMultiRegionTrail: true,
            IncludeGlobalServiceEvents: false,
          }),
        ),
        {
          name: 'InvalidParameterCombinationException',
          message: 'Multi-Region trail must include global service events.',
        },
      )
      await home.send(new UpdateTrailCommand({ Name: 'upd', IsMultiRegionTrail: true }))
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'upd', IncludeGlobalServiceEvents: false })),
        { name: 'InvalidParameterCombinationException' },
      )
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'upd', IsOrganizationTrail: true })),
        { name: 'OrganizationsNotInUseException' },
      )
      const unchanged = await home.send(new GetTrailCommand({ Name: 'upd' }))
      assert.equal(unchanged.Trail?.S3BucketName, 'audit-bucket')
      assert.equal(unchanged.Trail?.IncludeGlobalServiceEvents, true)
    })

    it('refuses to make a trail multi-region when another region is full or has its name', async () => {
      await create({ Name: 'grow' })
      await create({ Name: 'grow' }, OTHER)
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'grow', IsMultiRegionTrail: true })),
        {
          name: 'TrailAlreadyExistsException',
          message: `Trail grow already exists for customer: ${account}`,
        },
      )
      await other.send(new DeleteTrailCommand({ Name: 'grow' }))
      for (let i = 0; i < 5; i++) await create({ Name: `full-${i}` }, OTHER)
      await assert.rejects(
        home.send(new UpdateTrailCommand({ Name: 'grow', IsMultiRegionTrail: true })),
        {
          name: 'MaximumNumberOfTrailsExceededException',
          message: `User: ${account} already has 5 trails in ${OTHER}.`,
        },
      )
    })
  })

  describe('logging state and DeleteTrail', () => {
    it('starts and stops logging and reports the times', async () => {
      await create({ Name: 'logger' })
      await home.send(new StartLoggingCommand({ Name: 'logger' }))
      const on = await home.send(new GetTrailStatusCommand({ Name: arn('logger') }))
      assert.equal(on.IsLogging, true)
      assert.ok(on.StartLoggingTime instanceof Date)
      await home.send(new StopLoggingCommand({ Name: arn('logger') }))
      const off = await home.send(new GetTrailStatusCommand({ Name: 'logger' }))
      assert.equal(off.IsLogging, false)
      assert.ok(off.StopLoggingTime! >= off.StartLoggingTime!)
      for (const Command of [StartLoggingCommand, StopLoggingCommand, GetTrailStatusCommand]) {
        await assert.rejects(home.send(new Command({ Name: 'ghost' })), {
          name: 'TrailNotFoundException',
          message: notFound('ghost'),
        })
      }
    })

    it('deletes a trail and its tags; a deleted trail is unknown', async () => {
      await create({ Name: 'gone', TagsList: [{ Key: 'k', Value: 'v' }] })
      await assert.rejects(other.send(new DeleteTrailCommand({ Name: 'gone' })), {
        name: 'TrailNotFoundException',
        message: notFound('gone', OTHER),
      })
      await home.send(new DeleteTrailCommand({ Name: 'gone' }))
      await assert.rejects(home.send(new DeleteTrailCommand({ Name: 'gone' })), {
        name: 'TrailNotFoundException',
        message: notFound('gone'),
      })
      await create({ Name: 'gone' })
      const tags = await home.send(new ListTagsCommand({ ResourceIdList: [arn('gone')] }))
      assert.deepEqual(tags.ResourceTagList?.[0]?.TagsList, [])
    })
  })
})
