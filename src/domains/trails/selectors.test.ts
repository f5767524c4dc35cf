/**
 * Tests of `trailMatches` with the default and basic event selectors: regions, accounts, global
 * service events, read/write types, excluded sources and S3 and Lambda data resources.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isGlobalServiceEvent, trailMatches } from './selectors.js'
import { ACCOUNT, basic, record, s3Data, trail } from './selectors-fixtures.js'

describe('trailMatches: regions, accounts, global service events', () => {
  it('a single-region trail logs its home region only', () => {
    assert.equal(trailMatches(trail(), record()), true)
    assert.equal(trailMatches(trail(), record({ awsRegion: 'eu-west-1' })), false)
  })

  it('a multi-region trail logs every region', () => {
    const t = trail({ isMultiRegionTrail: true })
    assert.equal(trailMatches(t, record({ awsRegion: 'eu-west-1' })), true)
    assert.equal(trailMatches(t, record({ awsRegion: 'ap-south-1' })), true)
  })

  it("never logs another account's events", () => {
    assert.equal(trailMatches(trail(), record({ recipientAccountId: '999988887777' })), false)
  })

  it('global service events (iam, sts, cloudfront in us-east-1) reach trails outside us-east-1', () => {
    for (const eventSource of [
      'iam.amazonaws.com',
      'sts.amazonaws.com',
      'cloudfront.amazonaws.com',
    ]) {
      const r = record({ eventSource, awsRegion: 'us-east-1' })
      assert.equal(isGlobalServiceEvent(r), true, eventSource)
      assert.equal(trailMatches(trail(), r), true, eventSource)
      assert.equal(trailMatches(trail({ includeGlobalServiceEvents: false }), r), false)
    }
  })

  it('regional STS events are regional, and us-east-1 trails without global events skip IAM', () => {
    const regionalSts = record({ eventSource: 'sts.amazonaws.com', awsRegion: 'eu-west-1' })
    assert.equal(isGlobalServiceEvent(regionalSts), false)
    assert.equal(trailMatches(trail(), regionalSts), false)
    const east = trail({ homeRegion: 'us-east-1', includeGlobalServiceEvents: false })
    assert.equal(
      trailMatches(east, record({ eventSource: 'iam.amazonaws.com', awsRegion: 'us-east-1' })),
      false,
    )
    assert.equal(trailMatches(east, record({ awsRegion: 'us-east-1' })), true)
  })
})

describe('trailMatches: basic event selectors', () => {
  it('the default selector logs read and write management events, no data events', () => {
    assert.equal(trailMatches(trail(), record({ readOnly: true })), true)
    assert.equal(trailMatches(trail(), record({ readOnly: false })), true)
    assert.equal(trailMatches(trail(), s3Data('bucket/a.txt')), false)
  })

  it('ReadWriteType filters read-only and write events', () => {
    const ro = trail({ eventSelectors: basic({ readWriteType: 'ReadOnly' }) })
    const wo = trail({ eventSelectors: basic({ readWriteType: 'WriteOnly' }) })
    assert.equal(trailMatches(ro, record({ readOnly: true })), true)
    assert.equal(trailMatches(ro, record({ readOnly: false })), false)
    assert.equal(trailMatches(wo, record({ readOnly: true })), false)
    assert.equal(trailMatches(wo, record({ readOnly: false })), true)
  })

  it('ExcludeManagementEventSources drops KMS events', () => {
    const t = trail({
      eventSelectors: basic({ excludeManagementEventSources: ['kms.amazonaws.com'] }),
    })
    assert.equal(trailMatches(t, record({ eventSource: 'kms.amazonaws.com' })), false)
    assert.equal(trailMatches(t, record()), true)
  })

  it('S3 data resources match a bucket with an object prefix', () => {
    const t = trail({
      eventSelectors: basic({
        includeManagementEvents: false,
        dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::bucket/logs/'] }],
      }),
    })
    assert.equal(trailMatches(t, s3Data('bucket/logs/a.txt')), true)
    assert.equal(trailMatches(t, s3Data('bucket/other/a.txt')), false)
    assert.equal(trailMatches(t, s3Data('bucket2/logs/a.txt')), false)
    assert.equal(trailMatches(t, record()), false, 'management events are off')
  })

  it('arn:aws:s3 selects every object; a whole bucket is arn:aws:s3:::bucket/', () => {
    const all = trail({
      eventSelectors: basic({
        dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }],
      }),
    })
    assert.equal(trailMatches(all, s3Data('any-bucket/x')), true)
    const bucket = trail({
      eventSelectors: basic({
        dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::bucket/'] }],
      }),
    })
    assert.equal(trailMatches(bucket, s3Data('bucket/deep/key')), true)
    assert.equal(trailMatches(bucket, s3Data('bucketx/deep/key')), false)
  })

  it('data events obey ReadWriteType too', () => {
    const t = trail({
      eventSelectors: basic({
        readWriteType: 'WriteOnly',
        dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }],
      }),
    })
    assert.equal(trailMatches(t, s3Data('b1/k', { readOnly: true })), false)
    assert.equal(trailMatches(t, s3Data('b1/k', { readOnly: false, eventName: 'PutObject' })), true)
  })

  it('Lambda functions match exactly', () => {
    const fn = `arn:aws:lambda:us-west-2:${ACCOUNT}:function:hello`
    const t = trail({
      eventSelectors: basic({ dataResources: [{ type: 'AWS::Lambda::Function', values: [fn] }] }),
    })
    const invoke = (arn: string) =>
      record({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'Invoke',
        eventCategory: 'Data',
        managementEvent: false,
        resources: [{ type: 'AWS::Lambda::Function', ARN: arn }],
      })
    assert.equal(trailMatches(t, invoke(fn)), true)
    assert.equal(trailMatches(t, invoke(`${fn}2`)), false)
  })

  it('a record matching any one of several selectors is logged', () => {
    const t = trail({
      eventSelectors: basic(
        { readWriteType: 'WriteOnly' },
        {
          includeManagementEvents: false,
          dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::bucket/'] }],
        },
      ),
    })
    assert.equal(trailMatches(t, record({ readOnly: false })), true)
    assert.equal(trailMatches(t, record({ readOnly: true })), false)
    assert.equal(trailMatches(t, s3Data('bucket/k')), true)
  })
})
