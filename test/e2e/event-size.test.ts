/**
 * AWS's field-size limit: requestParameters (and responseElements) larger than 100 KB are recorded
 * as `{"omitted":true,"originalSize":N,"reason":"requestParameters too large"}`; smaller ones whole.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

describe('event field size limit', () => {
  let ts: TestServer
  let logs: CloudWatchLogsClient

  before(async () => {
    ts = await startTestServer()
    logs = new CloudWatchLogsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
      maxAttempts: 1,
    })
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'big' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'big', logStreamName: 's' }))
  })
  after(() => ts.close())

  interface Recorded {
    errorCode?: string
    requestParameters: {
      omitted?: boolean
      reason?: string
      originalSize?: number
      logEvents?: { message: string }[]
    }
  }

  async function putLogEventsRecords(): Promise<Recorded[]> {
    await ts.server.pipeline.drain()
    const out = await ts.client().send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'PutLogEvents' }],
      }),
    )
    return (out.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Recorded)
  }

  it('a 150 KB request is recorded with the omitted marker, a small one in full', async () => {
    const now = Date.now()
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'big',
        logStreamName: 's',
        logEvents: [{ timestamp: now, message: 'small message' }],
      }),
    )
    const big = Array.from({ length: 15 }, (_, i) => ({
      timestamp: now + 1 + i,
      message: `${i}:`.padEnd(10_000, 'x'),
    }))
    await logs.send(
      new PutLogEventsCommand({ logGroupName: 'big', logStreamName: 's', logEvents: big }),
    )
    const records = await putLogEventsRecords()
    assert.equal(records.length, 2)
    const [large, small] = records as [Recorded, Recorded]
    assert.equal(large.requestParameters.omitted, true)
    assert.equal(large.requestParameters.reason, 'requestParameters too large')
    assert.ok(
      (large.requestParameters.originalSize ?? 0) > 150_000,
      String(large.requestParameters.originalSize),
    )
    assert.equal(large.errorCode, undefined)
    assert.ok(JSON.stringify(large).length < 10_000)
    assert.equal(small.requestParameters.logEvents?.[0]?.message, 'small message')
  })
})
