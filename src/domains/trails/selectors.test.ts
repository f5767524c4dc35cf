import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { CloudTrailRecord } from '../../events/record.js'
import { ServiceError } from '../../shared/errors.js'
import { coverageOf, normalizeInsightSelectors } from './insights.js'
import {
  defaultEventSelectors,
  type AdvancedEventSelector,
  type EventSelectorConfig,
  type Trail,
} from './model.js'
import {
  normalizeAdvancedSelectors,
  normalizeBasicSelectors,
  type BasicEventSelectorInput,
} from './selector-rules.js'
import { conditionHolds, isGlobalServiceEvent, trailMatches } from './selectors.js'
import { newTrail } from './service.js'

const ACCOUNT = '111122223333'

function trail(over: Partial<Trail> = {}): Trail {
  return {
    ...newTrail(
      { accountId: ACCOUNT, region: 'us-west-2' },
      't1',
      'bucket',
      '2024-01-01T00:00:00.000Z',
    ),
    isLogging: true,
    ...over,
  }
}

function record(over: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'IAMUser',
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
    },
    eventTime: '2024-01-01T00:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    awsRegion: 'us-west-2',
    sourceIPAddress: '10.0.0.1',
    requestParameters: null,
    responseElements: null,
    eventID: 'e1',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    ...over,
  }
}

function s3Data(key: string, over: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  const [bucket] = key.split('/')
  return record({
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    readOnly: true,
    managementEvent: false,
    eventCategory: 'Data',
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${key}` },
      { type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}`, accountId: ACCOUNT },
    ],
    ...over,
  })
}

const basic = (...s: BasicEventSelectorInput[]): EventSelectorConfig => ({
  kind: 'basic',
  selectors: normalizeBasicSelectors(s),
})
const advanced = (...s: AdvancedEventSelector[]): EventSelectorConfig => ({
  kind: 'advanced',
  selectors: normalizeAdvancedSelectors(s),
})
const mgmt = { field: 'eventCategory', equals: ['Management'] }
const data = { field: 'eventCategory', equals: ['Data'] }
const s3Type = { field: 'resources.type', equals: ['AWS::S3::Object'] }

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServiceError)
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}

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

describe('basic event selector rules', () => {
  it('fills in defaults', () => {
    assert.deepEqual(normalizeBasicSelectors([{}]), defaultEventSelectors().selectors)
  })

  it('allows 1 to 5 selectors', () => {
    rejects(() => normalizeBasicSelectors([]), 'InvalidEventSelectorsException', /\(1 to 5\)/)
    rejects(
      () => normalizeBasicSelectors([{}, {}, {}, {}, {}, {}]),
      'InvalidEventSelectorsException',
      /\(1 to 5\)/,
    )
    assert.equal(normalizeBasicSelectors([{}, {}, {}, {}, {}]).length, 5)
  })

  it('checks data resource types and values', () => {
    rejects(
      () =>
        normalizeBasicSelectors([
          { dataResources: [{ type: 'AWS::EC2::Instance', values: ['x'] }] },
        ]),
      'InvalidEventSelectorsException',
      /^Value AWS::EC2::Instance for DataResources.Type is invalid/,
    )
    for (const bad of ['arn:aws:s3:::*', 'arn:aws:s3:::bucket', 'bucket/']) {
      rejects(
        () =>
          normalizeBasicSelectors([
            { dataResources: [{ type: 'AWS::S3::Object', values: [bad] }] },
          ]),
        'InvalidEventSelectorsException',
        new RegExp(`^Value ${bad.replace(/[*.]/g, '\\$&')} for DataResources.Values is invalid.$`),
      )
    }
    rejects(
      () =>
        normalizeBasicSelectors([
          { dataResources: [{ type: 'AWS::Lambda::Function', values: ['arn:aws:lambda:*'] }] },
        ]),
      'InvalidEventSelectorsException',
      /arn:aws:lambda:\* for DataResources.Values is invalid/,
    )
  })

  it('allows at most 250 data resource values across selectors, not counting all-resources values', () => {
    const values = (n: number, b: string) =>
      Array.from({ length: n }, (_, i) => `arn:aws:s3:::${b}/${i}`)
    const two = (n: number) => [
      { dataResources: [{ type: 'AWS::S3::Object', values: values(125, 'aaa') }] },
      {
        dataResources: [
          { type: 'AWS::S3::Object', values: [...values(n - 125, 'bbb'), 'arn:aws:s3'] },
        ],
      },
    ]
    assert.equal(normalizeBasicSelectors(two(250)).length, 2)
    rejects(
      () => normalizeBasicSelectors(two(251)),
      'InvalidEventSelectorsException',
      /DataResources.Values \(0 to 250\)/,
    )
  })

  it('needs data resources when management events are off; only KMS and RDS Data API may be excluded', () => {
    rejects(
      () => normalizeBasicSelectors([{ includeManagementEvents: false }]),
      'InvalidEventSelectorsException',
      /When includeManagementEvents is false, DataResources must not be empty/,
    )
    rejects(
      () => normalizeBasicSelectors([{ excludeManagementEventSources: ['ec2.amazonaws.com'] }]),
      'InvalidEventSelectorsException',
      /ec2.amazonaws.com for ExcludeManagementEventSources is invalid/,
    )
    assert.deepEqual(
      normalizeBasicSelectors([{ excludeManagementEventSources: ['rdsdata.amazonaws.com'] }])[0]!
        .excludeManagementEventSources,
      ['rdsdata.amazonaws.com'],
    )
  })
})

describe('advanced event selector rules', () => {
  const check = (fieldSelectors: AdvancedEventSelector['fieldSelectors'], message: RegExp) =>
    rejects(
      () => normalizeAdvancedSelectors([{ name: 'sel', fieldSelectors }]),
      'InvalidEventSelectorsException',
      message,
    )

  it('requires eventCategory with Equals and one valid value', () => {
    check([{ field: 'readOnly', equals: ['true'] }], /\(sel\): the eventCategory field is required/)
    check(
      [{ field: 'eventCategory', notEquals: ['Data'] }],
      /eventCategory must use the Equals operator/,
    )
    check([{ field: 'eventCategory', equals: ['Management', 'Data'] }], /exactly one value/)
    check(
      [{ field: 'eventCategory', equals: ['Insight'] }],
      /Insight for eventCategory is not valid for a trail/,
    )
  })

  it('allows only Equals on readOnly, eventCategory and resources.type', () => {
    check(
      [mgmt, { field: 'readOnly', notEquals: ['true'] }],
      /readOnly supports only the Equals operator, not NotEquals/,
    )
    check(
      [data, { field: 'resources.type', startsWith: ['AWS::S3'] }],
      /resources.type supports only the Equals operator, not StartsWith/,
    )
  })

  it('enforces the fields of each category', () => {
    check(
      [mgmt, { field: 'eventName', equals: ['X'] }],
      /field eventName is not supported for Management events/,
    )
    check(
      [mgmt, { field: 'resources.ARN', startsWith: ['arn:'] }],
      /resources.ARN is not supported for Management events/,
    )
    check([data], /the resources.type field is required for Data events/)
    check(
      [data, s3Type, { field: 'vpcEndpointId', equals: ['x'] }],
      /vpcEndpointId is not supported for Data events/,
    )
    check(
      [{ field: 'eventCategory', equals: ['NetworkActivity'] }],
      /eventSource field is required for NetworkActivity/,
    )
    check(
      [mgmt, { field: 'readOnly', equals: ['yes'] }],
      /value yes for field readOnly is not valid/,
    )
    check([mgmt, { field: 'eventSource' }], /must have at least one operator/)
    check([mgmt, mgmt], /eventCategory is used more than once/)
    const ok = normalizeAdvancedSelectors([
      {
        fieldSelectors: [
          data,
          s3Type,
          { field: 'eventName', startsWith: ['Get'], notEndsWith: ['Acl'] },
          { field: 'eventType', equals: ['AwsApiCall'] },
          { field: 'sessionCredentialFromConsole', equals: ['true'] },
        ],
      },
      {
        fieldSelectors: [
          { field: 'eventCategory', equals: ['NetworkActivity'] },
          { field: 'eventSource', equals: ['s3.amazonaws.com'] },
          { field: 'errorCode', equals: ['VpceAccessDenied'] },
        ],
      },
    ])
    assert.equal(ok.length, 2)
  })

  it('allows at most 500 condition values in total', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `Op${i}`)
    const sel = (n: number): AdvancedEventSelector => ({
      fieldSelectors: [data, s3Type, { field: 'eventName', equals: names(n) }],
    })
    assert.equal(normalizeAdvancedSelectors([sel(248), sel(248)]).length, 2)
    rejects(
      () => normalizeAdvancedSelectors([sel(248), sel(249)]),
      'InvalidEventSelectorsException',
      /501 condition values in total; a trail allows at most 500/,
    )
  })
})

describe('Insights selector rules', () => {
  it('needs the management events the Insights type analyses', () => {
    const readOnly = basic({ readWriteType: 'ReadOnly' })
    assert.deepEqual(coverageOf(readOnly), {
      managementRead: true,
      managementWrite: false,
      data: false,
    })
    rejects(
      () => normalizeInsightSelectors([{ insightType: 'ApiCallRateInsight' }], readOnly),
      'InvalidInsightSelectorsException',
      /requires the trail to log write management events/,
    )
    assert.equal(
      normalizeInsightSelectors([{ insightType: 'ApiErrorRateInsight' }], readOnly).length,
      1,
    )
    rejects(
      () =>
        normalizeInsightSelectors(
          [{ insightType: 'ApiErrorRateInsight', eventCategories: ['Data'] }],
          defaultEventSelectors(),
        ),
      'InvalidInsightSelectorsException',
      /on data events requires the trail to log read or write data events/,
    )
  })

  it('rejects unknown and duplicate types', () => {
    const cfg = defaultEventSelectors()
    rejects(
      () => normalizeInsightSelectors([{}], cfg),
      'InvalidInsightSelectorsException',
      /InsightType must be specified/,
    )
    rejects(
      () =>
        normalizeInsightSelectors(
          [{ insightType: 'ApiCallRateInsight' }, { insightType: 'ApiCallRateInsight' }],
          cfg,
        ),
      'InvalidInsightSelectorsException',
      /more than once/,
    )
  })
})
