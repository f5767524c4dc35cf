import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

describe('smoke: SDK against a started server', () => {
  let ts: TestServer
  before(async () => {
    ts = await startTestServer()
  })
  after(async () => {
    await ts.close()
  })

  it('creates a trail and finds the CreateTrail event in LookupEvents', async () => {
    const client = ts.client()
    const created = await client.send(
      new CreateTrailCommand({ Name: 'audit-trail', S3BucketName: 'audit-bucket' }),
    )
    assert.equal(created.Name, 'audit-trail')
    const described = await client.send(new DescribeTrailsCommand({}))
    assert.equal(described.trailList?.length, 1)
    await ts.server.pipeline.drain()
    const found = await client.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }],
      }),
    )
    assert.equal(found.Events?.length, 1)
    const record = JSON.parse(found.Events![0]!.CloudTrailEvent!) as Record<string, unknown>
    assert.equal(record['eventSource'], 'cloudtrail.amazonaws.com')
    assert.deepEqual(record['requestParameters'], {
      name: 'audit-trail',
      s3BucketName: 'audit-bucket',
    })
  })
})
