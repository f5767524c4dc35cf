/**
 * The trail control plane end to end through the real AWS SDK against a started server, with AWS's
 * error names and messages: AddTags, ListTags, RemoveTags, and the CloudTrail record each trail call leaves (resources, readOnly). Shared setup: test/helpers/trails.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  AddTagsCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type Tag,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { HOME, OTHER, trailsContext } from '../helpers/trails.js'

describe('e2e trails: tags-records', () => {
  let home: CloudTrailClient
  let other: CloudTrailClient
  let account: string
  const { arn, notFound, create, recordOf } = trailsContext((c) => ({ home, other, account } = c))

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
