/**
 * @module domains/trails/selectors-fixtures
 * Shared fixtures of the selector tests (selectors*.test.ts): a trail with CreateTrail's defaults,
 * API-call and S3 data-event records, basic and advanced selector configurations, and an assertion
 * that a call is refused with a given ServiceError code and message.
 */
import assert from 'node:assert/strict'
import type { CloudTrailRecord } from '../../events/record.js'
import { ServiceError } from '../../shared/errors.js'
import type { AdvancedEventSelector, EventSelectorConfig, Trail } from './model.js'
import {
  normalizeAdvancedSelectors,
  normalizeBasicSelectors,
  type BasicEventSelectorInput,
} from './selector-rules.js'
import { newTrail } from './service.js'

export const ACCOUNT = '111122223333'

/** A trail in us-west-2 with CreateTrail's defaults, logging. */
export function trail(over: Partial<Trail> = {}): Trail {
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

export function record(over: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
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

export function s3Data(key: string, over: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
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

export const basic = (...s: BasicEventSelectorInput[]): EventSelectorConfig => ({
  kind: 'basic',
  selectors: normalizeBasicSelectors(s),
})
export const advanced = (...s: AdvancedEventSelector[]): EventSelectorConfig => ({
  kind: 'advanced',
  selectors: normalizeAdvancedSelectors(s),
})
export const mgmt = { field: 'eventCategory', equals: ['Management'] }
export const data = { field: 'eventCategory', equals: ['Data'] }
export const s3Type = { field: 'resources.type', equals: ['AWS::S3::Object'] }

export function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServiceError)
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}
