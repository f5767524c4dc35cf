/**
 * Tests of the selector rules PutEventSelectors and PutInsightSelectors enforce: basic and advanced
 * event selector limits and fields, and Insights selector types.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { coverageOf, normalizeInsightSelectors } from './insights.js'
import { defaultEventSelectors, type AdvancedEventSelector } from './model.js'
import { normalizeAdvancedSelectors, normalizeBasicSelectors } from './selector-rules.js'
import { basic, data, mgmt, rejects, s3Type } from './selectors-fixtures.js'

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
