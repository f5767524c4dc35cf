/**
 * Tests of `trailMatches` and `conditionHolds` with advanced event selectors: operators, exclusions,
 * resource types, and Insights events.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { conditionHolds, trailMatches } from './selectors.js'
import {
  ACCOUNT,
  advanced,
  data,
  mgmt,
  record,
  s3Data,
  s3Type,
  trail,
} from './selectors-fixtures.js'

describe('trailMatches: advanced event selectors', () => {
  it('management events with readOnly', () => {
    const t = trail({
      eventSelectors: advanced({
        fieldSelectors: [mgmt, { field: 'readOnly', equals: ['false'] }],
      }),
    })
    assert.equal(trailMatches(t, record({ readOnly: false })), true)
    assert.equal(trailMatches(t, record({ readOnly: true })), false)
    assert.equal(trailMatches(t, s3Data('b/k', { readOnly: false })), false)
  })

  it('Equals, StartsWith and EndsWith hold when any value matches', () => {
    const t = trail({
      eventSelectors: advanced({
        fieldSelectors: [
          data,
          s3Type,
          { field: 'resources.ARN', startsWith: ['arn:aws:s3:::b1/', 'arn:aws:s3:::b2/'] },
          { field: 'eventName', equals: ['GetObject', 'PutObject'] },
          { field: 'userIdentity.arn', endsWith: [':user/alice'] },
        ],
      }),
    })
    assert.equal(trailMatches(t, s3Data('b1/x')), true)
    assert.equal(trailMatches(t, s3Data('b2/x', { eventName: 'PutObject' })), true)
    assert.equal(trailMatches(t, s3Data('b3/x')), false)
    assert.equal(trailMatches(t, s3Data('b1/x', { eventName: 'DeleteObject' })), false)
    assert.equal(
      trailMatches(
        t,
        s3Data('b1/x', {
          userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/bob` },
        }),
      ),
      false,
    )
  })

  it('NotEquals, NotStartsWith and NotEndsWith hold when no value matches', () => {
    const t = trail({
      eventSelectors: advanced({
        fieldSelectors: [
          data,
          s3Type,
          {
            field: 'resources.ARN',
            notStartsWith: ['arn:aws:s3:::secret/', 'arn:aws:s3:::private/'],
            notEndsWith: ['.tmp'],
          },
          { field: 'eventName', notEquals: ['HeadObject'] },
        ],
      }),
    })
    assert.equal(trailMatches(t, s3Data('public/a.txt')), true)
    assert.equal(trailMatches(t, s3Data('secret/a.txt')), false)
    assert.equal(trailMatches(t, s3Data('private/a.txt')), false)
    assert.equal(trailMatches(t, s3Data('public/a.tmp')), false)
    assert.equal(trailMatches(t, s3Data('public/a.txt', { eventName: 'HeadObject' })), false)
  })

  it('several operators on one field must all hold', () => {
    const f = { field: 'eventSource', startsWith: ['s3'], notEndsWith: ['.cn'] }
    assert.equal(conditionHolds(f, 's3.amazonaws.com'), true)
    assert.equal(conditionHolds(f, 's3.amazonaws.com.cn'), false)
    assert.equal(conditionHolds(f, 'ec2.amazonaws.com'), false)
    assert.equal(conditionHolds({ field: 'errorCode', notEquals: ['X'] }, undefined), true)
    assert.equal(conditionHolds({ field: 'errorCode', equals: ['X'] }, undefined), false)
  })

  it('eventSource exclusions for management events, and resources.type restricts resources', () => {
    const t = trail({
      eventSelectors: advanced(
        { fieldSelectors: [mgmt, { field: 'eventSource', notEquals: ['kms.amazonaws.com'] }] },
        { fieldSelectors: [data, { field: 'resources.type', equals: ['AWS::DynamoDB::Table'] }] },
      ),
    })
    assert.equal(trailMatches(t, record({ eventSource: 'kms.amazonaws.com' })), false)
    assert.equal(trailMatches(t, record()), true)
    assert.equal(trailMatches(t, s3Data('b/k')), false)
    assert.equal(
      trailMatches(
        t,
        record({
          eventSource: 'dynamodb.amazonaws.com',
          eventCategory: 'Data',
          managementEvent: false,
          resources: [
            { type: 'AWS::DynamoDB::Table', ARN: 'arn:aws:dynamodb:us-west-2:1:table/x' },
          ],
        }),
      ),
      true,
    )
  })

  it('Insights events go to trails with a matching Insights selector', () => {
    const insight = record({
      eventType: 'AwsCloudTrailInsight',
      eventCategory: 'Insight',
      insightDetails: { insightType: 'ApiCallRateInsight' },
    })
    assert.equal(trailMatches(trail(), insight), false)
    assert.equal(
      trailMatches(trail({ insightSelectors: [{ insightType: 'ApiCallRateInsight' }] }), insight),
      true,
    )
    assert.equal(
      trailMatches(trail({ insightSelectors: [{ insightType: 'ApiErrorRateInsight' }] }), insight),
      false,
    )
  })
})
