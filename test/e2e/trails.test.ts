/**
 * The trail control plane end to end: every trail operation through the real AWS SDK against a
 * started server, with AWS's error names and messages, shadow trails seen from other regions, and
 * the CloudTrail record each call leaves (resources, readOnly).
 */
import { after, afterEach, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  AddTagsCommand,
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  LookupEventsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type AdvancedEventSelector,
  type CreateTrailCommandInput,
  type Tag,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

const HOME = 'us-east-1'
const OTHER = 'eu-west-1'

describe('e2e trails: the trail control plane through the AWS SDK', () => {
  let ts: TestServer
  let home: CloudTrailClient
  let other: CloudTrailClient
  let account: string
  const clients = new Map<string, CloudTrailClient>()
  const inRegion = (region: string) => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = ts.client({ region })))
    return c
  }
  const arn = (name: string, region = HOME) =>
    `arn:aws:cloudtrail:${region}:${account}:trail/${name}`
  const notFound = (name: string, region = HOME) =>
    `Unknown trail: ${arn(name, region)} for the user: ${account}`
  const create = (input: Partial<CreateTrailCommandInput> & { Name: string }, region = HOME) =>
    inRegion(region).send(new CreateTrailCommand({ S3BucketName: 'audit-bucket', ...input }))

  /** Deletes every trail of the account, each from its home region. */
  async function deleteAll(): Promise<void> {
    let token: string | undefined
    const all: { Name?: string; HomeRegion?: string }[] = []
    do {
      const page = await home.send(new ListTrailsCommand({ NextToken: token }))
      all.push(...(page.Trails ?? []))
      token = page.NextToken
    } while (token)
    for (const t of all) {
      await inRegion(t.HomeRegion!).send(new DeleteTrailCommand({ Name: t.Name! }))
    }
  }

  /** The CloudTrail record of one call, found through LookupEvents by its request ID. */
  async function recordOf(
    client: CloudTrailClient,
    eventName: string,
    requestId: string,
  ): Promise<Record<string, unknown>> {
    await ts.server.pipeline.drain()
    let token: string | undefined
    do {
      const page = await client.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
          NextToken: token,
        }),
      )
      for (const e of page.Events ?? []) {
        const r = JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>
        if (r['requestID'] === requestId) return r
      }
      token = page.NextToken
    } while (token)
    throw new Error(`no ${eventName} record with request ID ${requestId}`)
  }

  before(async () => {
    ts = await startTestServer()
    home = inRegion(HOME)
    other = inRegion(OTHER)
    const t = await create({ Name: 'probe' })
    account = /:(\d{12}):/.exec(t.TrailARN!)![1]!
    await home.send(new DeleteTrailCommand({ Name: 'probe' }))
  })
  after(async () => {
    await ts.close()
  })
  afterEach(deleteAll)

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

  describe('AddTags, ListTags, RemoveTags', () => {
    it('adds, overwrites, lists and removes tags', async () => {
      await create({ Name: 'tagged', TagsList: [{ Key: 'a', Value: '1' }] })
      await home.send(
        new AddTagsCommand({
          ResourceId: arn('tagged'),
          TagsList: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: 'x y' }, { Key: 'c' }],
        }),
      )
      const listed = await home.send(new ListTagsCommand({ ResourceIdList: [arn('tagged')] }))
      assert.deepEqual(listed.ResourceTagList, [
        {
          ResourceId: arn('tagged'),
          TagsList: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: 'x y' }, { Key: 'c' }],
        },
      ])
      await home.send(
        new RemoveTagsCommand({
          ResourceId: arn('tagged'),
          TagsList: [{ Key: 'a' }, { Key: 'b', Value: 'other' }, { Key: 'zzz' }],
        }),
      )
      const after = await home.send(new ListTagsCommand({ ResourceIdList: [arn('tagged')] }))
      assert.deepEqual(after.ResourceTagList?.[0]?.TagsList, [
        { Key: 'b', Value: 'x y' },
        { Key: 'c' },
      ])
    })

    it('enforces the tag limits', async () => {
      await create({ Name: 'tagged' })
      const tags = (n: number, p = 'k'): Tag[] =>
        Array.from({ length: n }, (_, i) => ({ Key: `${p}${i}`, Value: 'v' }))
      await home.send(new AddTagsCommand({ ResourceId: arn('tagged'), TagsList: tags(50) }))
      await assert.rejects(
        home.send(new AddTagsCommand({ ResourceId: arn('tagged'), TagsList: tags(1, 'x') })),
        {
          name: 'TagsLimitExceededException',
          message: `The number of tags on resource ${arn('tagged')} would be 51, which exceeds the limit of 50 tags per resource.`,
        },
      )
      // Overwriting an existing key does not add a tag.
      await home.send(new AddTagsCommand({ ResourceId: arn('tagged'), TagsList: tags(1) }))
      await assert.rejects(
        home.send(
          new AddTagsCommand({ ResourceId: arn('tagged'), TagsList: [{ Key: 'k'.repeat(129) }] }),
        ),
        { name: 'ValidationException' },
      )
      await assert.rejects(
        home.send(
          new AddTagsCommand({
            ResourceId: arn('tagged'),
            TagsList: [{ Key: 'bad#key', Value: 'v' }],
          }),
        ),
        {
          name: 'InvalidTagParameterException',
          message:
            'Tag key "bad#key" contains characters that are not allowed. Use letters, numbers, spaces and _ . : / = + - @.',
        },
      )
      await assert.rejects(
        home.send(
          new AddTagsCommand({
            ResourceId: arn('tagged'),
            TagsList: [{ Key: 'k0' }, { Key: 'k0' }],
          }),
        ),
        {
          name: 'InvalidTagParameterException',
          message: 'Duplicate tag key in the request: "k0".',
        },
      )
    })

    it('names unknown or malformed resources', async () => {
      await create({ Name: 'tagged' })
      await assert.rejects(
        home.send(new AddTagsCommand({ ResourceId: arn('nope'), TagsList: [{ Key: 'k' }] })),
        {
          name: 'ResourceNotFoundException',
          message: `Resource ${arn('nope')} was not found for the user: ${account} in ${HOME}.`,
        },
      )
      await assert.rejects(
        home.send(new AddTagsCommand({ ResourceId: 'tagged', TagsList: [{ Key: 'k' }] })),
        {
          name: 'CloudTrailARNInvalidException',
          message:
            'Invalid resource ARN: tagged. Specify the ARN of a trail, for example arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.',
        },
      )
      await assert.rejects(
        home.send(
          new RemoveTagsCommand({ ResourceId: 'arn:aws:s3:::bucket', TagsList: [{ Key: 'k' }] }),
        ),
        { name: 'CloudTrailARNInvalidException' },
      )
      const eds = `arn:aws:cloudtrail:${HOME}:${account}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE`
      await assert.rejects(home.send(new ListTagsCommand({ ResourceIdList: [eds] })), {
        name: 'EventDataStoreNotFoundException',
        message: `Event data store ${eds} was not found.`,
      })
      await assert.rejects(
        home.send(new ListTagsCommand({ ResourceIdList: [arn('tagged'), arn('nope')] })),
        { name: 'ResourceNotFoundException' },
      )
      await assert.rejects(
        home.send(
          new ListTagsCommand({ ResourceIdList: Array.from({ length: 21 }, () => arn('tagged')) }),
        ),
        {
          name: 'InvalidParameterException',
          message: 'ResourceIdList has 21 ARNs; the limit is 20.',
        },
      )
      // A single-region trail of another region is not visible here.
      await assert.rejects(other.send(new ListTagsCommand({ ResourceIdList: [arn('tagged')] })), {
        name: 'ResourceNotFoundException',
      })
    })

    it('lists tags of shadow trails anywhere but changes them only in the home region', async () => {
      await create({
        Name: 'multi',
        IsMultiRegionTrail: true,
        TagsList: [{ Key: 'k', Value: 'v' }],
      })
      const listed = await other.send(new ListTagsCommand({ ResourceIdList: [arn('multi')] }))
      assert.deepEqual(listed.ResourceTagList?.[0]?.TagsList, [{ Key: 'k', Value: 'v' }])
      await assert.rejects(
        other.send(new AddTagsCommand({ ResourceId: arn('multi'), TagsList: [{ Key: 'x' }] })),
        {
          name: 'InvalidHomeRegionException',
          message: `The tags of trail ${arn('multi')} can only be changed from its home region ${HOME}; this request was made in ${OTHER}.`,
        },
      )
      await assert.rejects(
        other.send(new RemoveTagsCommand({ ResourceId: arn('multi'), TagsList: [{ Key: 'k' }] })),
        { name: 'InvalidHomeRegionException' },
      )
    })

    it('paginates ListTags', async () => {
      const ids: string[] = []
      for (let t = 0; t < 3; t++) {
        await create({
          Name: `page-${t}`,
          TagsList: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: `t${t}` })),
        })
        ids.push(arn(`page-${t}`))
      }
      const first = await home.send(new ListTagsCommand({ ResourceIdList: ids }))
      assert.deepEqual(
        first.ResourceTagList?.map((r) => r.ResourceId),
        ids.slice(0, 2),
      )
      assert.ok(first.NextToken)
      const second = await home.send(
        new ListTagsCommand({ ResourceIdList: ids, NextToken: first.NextToken }),
      )
      assert.deepEqual(
        second.ResourceTagList?.map((r) => r.ResourceId),
        ids.slice(2),
      )
      assert.equal(second.ResourceTagList?.[0]?.TagsList?.length, 50)
      assert.equal(second.NextToken, undefined)
      await assert.rejects(
        home.send(
          new ListTagsCommand({ ResourceIdList: ids.slice(1), NextToken: first.NextToken }),
        ),
        { name: 'InvalidTokenException', message: 'The NextToken is not valid for this request.' },
      )
    })
  })

  describe('PutEventSelectors and GetEventSelectors', () => {
    it('a new trail logs all management events', async () => {
      await create({ Name: 'sel' })
      const r = await home.send(new GetEventSelectorsCommand({ TrailName: 'sel' }))
      assert.equal(r.TrailARN, arn('sel'))
      assert.deepEqual(r.EventSelectors, [
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: true,
          DataResources: [],
          ExcludeManagementEventSources: [],
        },
      ])
      assert.equal(r.AdvancedEventSelectors, undefined)
    })

    it('puts basic selectors, then advanced ones that replace them', async () => {
      await create({ Name: 'sel', IsMultiRegionTrail: true })
      const put = await home.send(
        new PutEventSelectorsCommand({
          TrailName: 'sel',
          EventSelectors: [
            { ReadWriteType: 'WriteOnly', ExcludeManagementEventSources: ['kms.amazonaws.com'] },
            {
              IncludeManagementEvents: false,
              DataResources: [
                {
                  Type: 'AWS::S3::Object',
                  Values: ['arn:aws:s3:::logs-bucket/', 'arn:aws:s3:::bb2/pre'],
                },
                { Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] },
              ],
            },
          ],
        }),
      )
      const expected = [
        {
          ReadWriteType: 'WriteOnly',
          IncludeManagementEvents: true,
          DataResources: [],
          ExcludeManagementEventSources: ['kms.amazonaws.com'],
        },
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: false,
          DataResources: [
            {
              Type: 'AWS::S3::Object',
              Values: ['arn:aws:s3:::logs-bucket/', 'arn:aws:s3:::bb2/pre'],
            },
            { Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] },
          ],
          ExcludeManagementEventSources: [],
        },
      ]
      assert.equal(put.TrailARN, arn('sel'))
      assert.deepEqual(put.EventSelectors, expected)
      const got = await other.send(new GetEventSelectorsCommand({ TrailName: arn('sel') }))
      assert.deepEqual(got.EventSelectors, expected, 'readable from a shadow region')
      const t = await home.send(new GetTrailCommand({ Name: 'sel' }))
      assert.equal(t.Trail?.HasCustomEventSelectors, true)

      const advanced: AdvancedEventSelector[] = [
        {
          Name: 'Management writes',
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Management'] },
            { Field: 'readOnly', Equals: ['false'] },
          ],
        },
        {
          Name: 'S3 except secrets',
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            {
              Field: 'resources.ARN',
              StartsWith: ['arn:aws:s3:::b/'],
              NotStartsWith: ['arn:aws:s3:::b/secret/'],
            },
            {
              Field: 'eventName',
              NotEquals: ['HeadObject'],
              EndsWith: ['Object'],
              NotEndsWith: ['Acl'],
            },
          ],
        },
      ]
      const putAdv = await home.send(
        new PutEventSelectorsCommand({ TrailName: arn('sel'), AdvancedEventSelectors: advanced }),
      )
      assert.deepEqual(putAdv.AdvancedEventSelectors, advanced)
      assert.equal(putAdv.EventSelectors, undefined)
      const gotAdv = await home.send(new GetEventSelectorsCommand({ TrailName: 'sel' }))
      assert.deepEqual(gotAdv.AdvancedEventSelectors, advanced)
      assert.equal(gotAdv.EventSelectors, undefined)
    })

    it('rejects invalid selectors with InvalidEventSelectorsException', async () => {
      await create({ Name: 'sel' })
      const put = (
        input: Omit<ConstructorParameters<typeof PutEventSelectorsCommand>[0], 'TrailName'>,
      ) => home.send(new PutEventSelectorsCommand({ TrailName: 'sel', ...input }))
      await assert.rejects(
        put({
          EventSelectors: [{}],
          AdvancedEventSelectors: [
            { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          ],
        }),
        {
          name: 'InvalidParameterCombinationException',
          message:
            'You can use either EventSelectors or AdvancedEventSelectors in a PutEventSelectors request, but not both.',
        },
      )
      await assert.rejects(put({}), {
        name: 'InvalidParameterCombinationException',
        message:
          'A PutEventSelectors request must specify EventSelectors or AdvancedEventSelectors.',
      })
      await assert.rejects(put({ EventSelectors: Array.from({ length: 6 }, () => ({})) }), {
        name: 'InvalidEventSelectorsException',
        message: 'Specify a valid number of event selectors (1 to 5) for your trail; 6 were given.',
      })
      await assert.rejects(
        put({
          EventSelectors: [
            { DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::*'] }] },
          ],
        }),
        {
          name: 'InvalidEventSelectorsException',
          message: 'Value arn:aws:s3:::* for DataResources.Values is invalid.',
        },
      )
      await assert.rejects(
        put({
          EventSelectors: [
            { DataResources: [{ Type: 'AWS::SNS::Topic', Values: ['arn:aws:sns'] }] },
          ],
        }),
        {
          name: 'InvalidEventSelectorsException',
          message: /^Value AWS::SNS::Topic for DataResources.Type is invalid\./,
        },
      )
      const values = Array.from({ length: 251 }, (_, i) => `arn:aws:s3:::bucket/${i}`)
      await assert.rejects(
        put({ EventSelectors: [{ DataResources: [{ Type: 'AWS::S3::Object', Values: values }] }] }),
        {
          name: 'InvalidEventSelectorsException',
          message:
            'Specify a valid number of DataResources.Values (0 to 250) for all your selectors; 251 were given.',
        },
      )
      await assert.rejects(put({ EventSelectors: [{ IncludeManagementEvents: false }] }), {
        name: 'InvalidEventSelectorsException',
        message:
          'Invalid combination of parameters in EventSelectors. When includeManagementEvents is false, DataResources must not be empty.',
      })
      await assert.rejects(
        put({ EventSelectors: [{ ExcludeManagementEventSources: ['s3.amazonaws.com'] }] }),
        {
          name: 'InvalidEventSelectorsException',
          message:
            'Value s3.amazonaws.com for ExcludeManagementEventSources is invalid. Valid values are kms.amazonaws.com and rdsdata.amazonaws.com.',
        },
      )
      await assert.rejects(put({ EventSelectors: [{ ReadWriteType: 'Sometimes' as 'All' }] }), {
        name: 'ValidationException',
      })

      const adv = (Name: string, FieldSelectors: AdvancedEventSelector['FieldSelectors']) =>
        put({ AdvancedEventSelectors: [{ Name, FieldSelectors }] })
      await assert.rejects(adv('s', [{ Field: 'readOnly', Equals: ['true'] }]), {
        name: 'InvalidEventSelectorsException',
        message: 'Invalid advanced event selector 1 (s): the eventCategory field is required.',
      })
      for (const op of ['StartsWith', 'EndsWith', 'NotEquals', 'NotStartsWith', 'NotEndsWith']) {
        await assert.rejects(
          adv('s', [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', [op]: ['AWS::S3::Object'] },
          ]),
          {
            name: 'InvalidEventSelectorsException',
            message: `Invalid advanced event selector 1 (s): field resources.type supports only the Equals operator, not ${op}.`,
          },
        )
      }
      await assert.rejects(
        adv('s', [
          { Field: 'eventCategory', Equals: ['Management'] },
          { Field: 'eventName', Equals: ['CreateTrail'] },
        ]),
        {
          name: 'InvalidEventSelectorsException',
          message:
            'Invalid advanced event selector 1 (s): field eventName is not supported for Management events. Supported fields: eventCategory, eventSource, readOnly.',
        },
      )
      await assert.rejects(adv('s', [{ Field: 'eventCategory', Equals: ['Data'] }]), {
        name: 'InvalidEventSelectorsException',
        message:
          'Invalid advanced event selector 1 (s): the resources.type field is required for Data events.',
      })
      await assert.rejects(
        put({
          AdvancedEventSelectors: [0, 1].map(() => ({
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
              { Field: 'eventName', Equals: Array.from({ length: 249 }, (_, i) => `E${i}`) },
            ],
          })),
        }),
        {
          name: 'InvalidEventSelectorsException',
          message:
            'Advanced event selectors have 502 condition values in total; a trail allows at most 500.',
        },
      )
      await assert.rejects(put({ AdvancedEventSelectors: [{ FieldSelectors: [] }] }), {
        name: 'ValidationException',
      })
      const unchanged = await home.send(new GetEventSelectorsCommand({ TrailName: 'sel' }))
      assert.equal(unchanged.EventSelectors?.length, 1)
      await assert.rejects(home.send(new GetEventSelectorsCommand({ TrailName: 'nope' })), {
        name: 'TrailNotFoundException',
        message: notFound('nope'),
      })
      await assert.rejects(
        home.send(new PutEventSelectorsCommand({ TrailName: 'nope', EventSelectors: [{}] })),
        { name: 'TrailNotFoundException', message: notFound('nope') },
      )
    })
  })

  describe('PutInsightSelectors and GetInsightSelectors', () => {
    it('turns Insights on and off', async () => {
      await create({ Name: 'ins' })
      await assert.rejects(home.send(new GetInsightSelectorsCommand({ TrailName: 'ins' })), {
        name: 'InsightNotEnabledException',
        message: `Trail ${arn('ins')} does not have Insights enabled.`,
      })
      const put = await home.send(
        new PutInsightSelectorsCommand({
          TrailName: 'ins',
          InsightSelectors: [
            { InsightType: 'ApiCallRateInsight' },
            { InsightType: 'ApiErrorRateInsight', EventCategories: ['Management'] },
          ],
        }),
      )
      const expected = [
        { InsightType: 'ApiCallRateInsight' },
        { InsightType: 'ApiErrorRateInsight', EventCategories: ['Management'] },
      ]
      assert.equal(put.TrailARN, arn('ins'))
      assert.deepEqual(put.InsightSelectors, expected)
      const got = await home.send(new GetInsightSelectorsCommand({ TrailName: arn('ins') }))
      assert.deepEqual(got.InsightSelectors, expected)
      assert.equal(
        (await home.send(new GetTrailCommand({ Name: 'ins' }))).Trail?.HasInsightSelectors,
        true,
      )

      // Event selectors that drop write management events would break call-rate Insights.
      await assert.rejects(
        home.send(
          new PutEventSelectorsCommand({
            TrailName: 'ins',
            EventSelectors: [{ ReadWriteType: 'ReadOnly' }],
          }),
        ),
        {
          name: 'InvalidEventSelectorsException',
          message:
            "These event selectors do not log the events that the trail's Insights selectors need: ApiCallRateInsight on management events requires the trail to log write management events.",
        },
      )

      await home.send(new PutInsightSelectorsCommand({ TrailName: 'ins', InsightSelectors: [] }))
      await assert.rejects(home.send(new GetInsightSelectorsCommand({ TrailName: 'ins' })), {
        name: 'InsightNotEnabledException',
      })
      assert.equal(
        (await home.send(new GetTrailCommand({ Name: 'ins' }))).Trail?.HasInsightSelectors,
        false,
      )
    })

    it('validates selectors and targets', async () => {
      await create({ Name: 'ins' })
      await home.send(
        new PutEventSelectorsCommand({
          TrailName: 'ins',
          EventSelectors: [{ ReadWriteType: 'ReadOnly' }],
        }),
      )
      await assert.rejects(
        home.send(
          new PutInsightSelectorsCommand({
            TrailName: 'ins',
            InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }],
          }),
        ),
        {
          name: 'InvalidInsightSelectorsException',
          message:
            'ApiCallRateInsight on management events requires the trail to log write management events.',
        },
      )
      await assert.rejects(
        home.send(new PutInsightSelectorsCommand({ TrailName: 'ins', InsightSelectors: [{}] })),
        {
          name: 'InvalidInsightSelectorsException',
          message:
            'InsightType must be specified. Valid values are ApiCallRateInsight and ApiErrorRateInsight.',
        },
      )
      await assert.rejects(
        home.send(
          new PutInsightSelectorsCommand({
            TrailName: 'ins',
            InsightSelectors: [
              { InsightType: 'ApiErrorRateInsight' },
              { InsightType: 'ApiErrorRateInsight' },
            ],
          }),
        ),
        {
          name: 'InvalidInsightSelectorsException',
          message: 'InsightType ApiErrorRateInsight is given more than once.',
        },
      )
      await assert.rejects(
        home.send(
          new PutInsightSelectorsCommand({
            TrailName: 'ins',
            InsightSelectors: [{ InsightType: 'ApiErrorRateInsight', EventCategories: ['Data'] }],
          }),
        ),
        {
          name: 'InvalidInsightSelectorsException',
          message:
            'ApiErrorRateInsight on data events requires the trail to log read or write data events.',
        },
      )
      const eds = `arn:aws:cloudtrail:${HOME}:${account}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE`
      await assert.rejects(
        home.send(
          new PutInsightSelectorsCommand({
            TrailName: 'ins',
            EventDataStore: eds,
            InsightSelectors: [{ InsightType: 'ApiErrorRateInsight' }],
          }),
        ),
        {
          name: 'InvalidParameterCombinationException',
          message: 'TrailName cannot be combined with EventDataStore or InsightsDestination.',
        },
      )
      await assert.rejects(
        home.send(new PutInsightSelectorsCommand({ EventDataStore: eds, InsightSelectors: [] })),
        {
          name: 'InvalidParameterCombinationException',
          message:
            'To enable Insights on an event data store, specify both EventDataStore and InsightsDestination.',
        },
      )
      await assert.rejects(
        home.send(
          new PutInsightSelectorsCommand({
            EventDataStore: eds,
            InsightsDestination: eds,
            InsightSelectors: [],
          }),
        ),
        {
          name: 'EventDataStoreNotFoundException',
          message: `Event data store ${eds} was not found.`,
        },
      )
      await assert.rejects(home.send(new GetInsightSelectorsCommand({ EventDataStore: eds })), {
        name: 'EventDataStoreNotFoundException',
        message: `Event data store ${eds} was not found.`,
      })
      await assert.rejects(home.send(new GetInsightSelectorsCommand({})), {
        name: 'InvalidParameterCombinationException',
        message: 'Specify either TrailName or EventDataStore.',
      })
      await assert.rejects(home.send(new GetInsightSelectorsCommand({ TrailName: 'nope' })), {
        name: 'TrailNotFoundException',
        message: notFound('nope'),
      })
    })
  })

  describe('the CloudTrail record of each call', () => {
    it('names the trail ARN in resources and sets readOnly', async () => {
      const calls: [string, () => Promise<{ $metadata: { requestId?: string } }>, boolean][] = [
        ['CreateTrail', () => create({ Name: 'rec' }), false],
        ['GetTrail', () => home.send(new GetTrailCommand({ Name: 'rec' })), true],
        [
          'UpdateTrail',
          () => home.send(new UpdateTrailCommand({ Name: 'rec', S3KeyPrefix: 'p' })),
          false,
        ],
        ['GetTrailStatus', () => home.send(new GetTrailStatusCommand({ Name: 'rec' })), true],
        ['StartLogging', () => home.send(new StartLoggingCommand({ Name: 'rec' })), false],
        ['StopLogging', () => home.send(new StopLoggingCommand({ Name: 'rec' })), false],
        [
          'DescribeTrails',
          () => home.send(new DescribeTrailsCommand({ trailNameList: ['rec'] })),
          true,
        ],
        [
          'AddTags',
          () => home.send(new AddTagsCommand({ ResourceId: arn('rec'), TagsList: [{ Key: 'k' }] })),
          false,
        ],
        ['ListTags', () => home.send(new ListTagsCommand({ ResourceIdList: [arn('rec')] })), true],
        [
          'RemoveTags',
          () =>
            home.send(new RemoveTagsCommand({ ResourceId: arn('rec'), TagsList: [{ Key: 'k' }] })),
          false,
        ],
        [
          'PutEventSelectors',
          () => home.send(new PutEventSelectorsCommand({ TrailName: 'rec', EventSelectors: [{}] })),
          false,
        ],
        [
          'GetEventSelectors',
          () => home.send(new GetEventSelectorsCommand({ TrailName: 'rec' })),
          true,
        ],
        [
          'PutInsightSelectors',
          () =>
            home.send(
              new PutInsightSelectorsCommand({
                TrailName: 'rec',
                InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }],
              }),
            ),
          false,
        ],
        [
          'GetInsightSelectors',
          () => home.send(new GetInsightSelectorsCommand({ TrailName: 'rec' })),
          true,
        ],
        ['DeleteTrail', () => home.send(new DeleteTrailCommand({ Name: 'rec' })), false],
      ]
      for (const [eventName, call, readOnly] of calls) {
        const out = await call()
        const r = await recordOf(home, eventName, out.$metadata.requestId!)
        assert.equal(r['readOnly'], readOnly, eventName)
        assert.deepEqual(
          r['resources'],
          [{ accountId: account, type: 'AWS::CloudTrail::Trail', ARN: arn('rec') }],
          eventName,
        )
        assert.equal(r['eventSource'], 'cloudtrail.amazonaws.com')
      }
      const list = await home.send(new ListTrailsCommand({}))
      const listed = await recordOf(home, 'ListTrails', list.$metadata.requestId!)
      assert.equal(listed['readOnly'], true)
    })

    it('records failed calls with their error code and the trail ARN', async () => {
      const failed = await home
        .send(new GetTrailCommand({ Name: 'absent' }))
        .catch((e: unknown) => e)
      const requestId = (failed as { $metadata: { requestId: string } }).$metadata.requestId
      const r = await recordOf(home, 'GetTrail', requestId)
      assert.equal(r['errorCode'], 'TrailNotFoundException')
      assert.equal(r['errorMessage'], notFound('absent'))
      assert.deepEqual(r['resources'], [
        { accountId: account, type: 'AWS::CloudTrail::Trail', ARN: arn('absent') },
      ])
    })
  })
})
