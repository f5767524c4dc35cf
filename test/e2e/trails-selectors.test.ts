/**
 * The trail control plane end to end through the real AWS SDK against a started server, with AWS's
 * error names and messages: PutEventSelectors/GetEventSelectors (basic and advanced) and PutInsightSelectors/GetInsightSelectors. Shared setup: test/helpers/trails.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  type AdvancedEventSelector,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { HOME, trailsContext } from '../helpers/trails.js'

describe('e2e trails: selectors', () => {
  let home: CloudTrailClient
  let other: CloudTrailClient
  let account: string
  const { arn, notFound, create } = trailsContext((c) => ({ home, other, account } = c))

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
})
