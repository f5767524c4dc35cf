/**
 * Delivery notifications end to end: a trail with SnsTopicName publishes one notification per
 * delivered log file, in AWS CloudTrail's message shape ({"s3Bucket": …, "s3ObjectKey": [...]}), to the
 * topic's webhook subscriber, a real local HTTP receiver. The named file is fetched through the S3 API
 * and holds the call that was made; a trail without a topic sends nothing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import { receiver } from '../helpers/notify.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

describe('delivery notifications (e2e, webhook subscriber)', () => {
  let ts: TestServer
  let hook: Awaited<ReturnType<typeof receiver>>
  let s3: S3Client
  let sns: SNSClient

  before(async () => {
    hook = await receiver()
    ts = await startTestServer({
      deliveryIntervalSeconds: 1,
      notifications: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 3, timeoutMs: 2000 },
    })
    const credentials = { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey }
    s3 = new S3Client({
      endpoint: ts.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    })
    sns = new SNSClient({ endpoint: ts.url, region: 'us-east-1', credentials, maxAttempts: 1 })
  })
  after(async () => {
    await ts?.close()
    await hook?.close()
  })

  it('publishes {"s3Bucket", "s3ObjectKey"} for each delivered log file', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'trail-deliveries' }))
    await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: `${hook.url}/cloudtrail` }),
    )
    for (const b of ['notified-bucket', 'quiet-bucket'])
      await s3.send(new CreateBucketCommand({ Bucket: b }))
    const ct = ts.client()
    await ct.send(
      new CreateTrailCommand({
        Name: 'notified',
        S3BucketName: 'notified-bucket',
        SnsTopicName: 'trail-deliveries',
      }),
    )
    await ct.send(new CreateTrailCommand({ Name: 'quiet', S3BucketName: 'quiet-bucket' }))
    await ct.send(new StartLoggingCommand({ Name: 'notified' }))
    await ct.send(new StartLoggingCommand({ Name: 'quiet' }))
    const requestId = (await ct.send(new DescribeTrailsCommand({}))).$metadata.requestId!

    // Notifications until one names the file that holds the DescribeTrails call.
    const found = await (async () => {
      const deadline = Date.now() + 30_000
      for (let seen = 0; Date.now() < deadline;) {
        const got = await hook.waitFor(seen + 1, Math.max(1, deadline - Date.now()))
        for (; seen < got.length; seen++) {
          const r = got[seen]!
          assert.equal(r.path, '/cloudtrail')
          const envelope = JSON.parse(r.body) as Record<string, string>
          assert.equal(envelope['Type'], 'Notification')
          assert.equal(envelope['TopicArn'], TopicArn)
          const message = JSON.parse(envelope['Message']!) as Record<string, unknown>
          assert.deepEqual(Object.keys(message).sort(), ['s3Bucket', 's3ObjectKey'])
          assert.equal(message['s3Bucket'], 'notified-bucket')
          const keys = message['s3ObjectKey'] as string[]
          assert.equal(keys.length, 1)
          assert.match(keys[0]!, /^AWSLogs\/\d{12}\/CloudTrail\/us-east-1\/.+\.json\.gz$/)
          const o = await s3.send(new GetObjectCommand({ Bucket: 'notified-bucket', Key: keys[0] }))
          const records = (
            JSON.parse(
              gunzipSync(Buffer.from(await o.Body!.transformToByteArray())).toString(),
            ) as { Records: { requestID?: string }[] }
          ).Records
          if (records.some((x) => x.requestID === requestId)) return keys[0]!
        }
      }
      throw new Error('no notification named the file with the call')
    })()
    assert.ok(found)
    // Only the trail with a topic notifies: every notification names the notified bucket.
    for (const r of hook.got) {
      const message = JSON.parse((JSON.parse(r.body) as { Message: string }).Message) as {
        s3Bucket: string
      }
      assert.equal(message.s3Bucket, 'notified-bucket')
    }
  })
})
