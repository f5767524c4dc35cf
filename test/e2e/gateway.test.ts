/**
 * The recording gateway in front of a real moto_server: the AWS CLI (`aws s3 …`, `aws s3api …`) and the AWS SDK (S3, EventBridge for AWS JSON, SNS for the
 * query protocol) call moto through the gateway, signing with OpenTrail keys; the calls are found
 * again in LookupEvents (management events) and in the log files of a trail with an S3 data-event
 * selector (data events); unknown keys, bad signatures and IAM denials are refused and recorded.
 * Shared setup: test/helpers/gateway.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ListEventBusesCommand,
} from '@aws-sdk/client-eventbridge'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  SNSClient,
} from '@aws-sdk/client-sns'
import { sdkError, type Recorded } from '../helpers/raw.js'
import { ACCOUNT, LIMITED, MIB, UNKNOWN, gatewayContext, type Params } from '../helpers/gateway.js'
import type { TestServer } from '../helpers/server.js'

describe('recording gateway in front of moto_server', () => {
  let ts: TestServer
  let gw: string
  let skip: string | undefined
  const { aws, ok, admin, s3Client, recorded, delivered, inTrail } = gatewayContext(
    (c) => ({ ts, gw, skip } = c),
  )

  it('AWS CLI: s3 mb, cp (101 MB), ls, s3api get-bucket-policy, rm; lookup-events finds them', async (t) => {
    if (skip) return t.skip(skip)
    const file = join(ts.dataDir, 'upload.bin')
    await writeFile(file, Buffer.alloc(101 * MIB, 'a'))
    await ok(['s3', 'mb', 's3://gw-cli'])
    await ok(['s3', 'cp', file, 's3://gw-cli/dir/upload.bin'])
    assert.match(await ok(['s3', 'ls']), /gw-cli/)
    assert.match(await ok(['s3', 'ls', 's3://gw-cli/dir/']), /105906176 upload\.bin/)
    const policy = await aws(['s3api', 'get-bucket-policy', '--bucket', 'gw-cli'])
    assert.notEqual(policy.code, 0)
    assert.match(policy.stderr, /NoSuchBucketPolicy/)
    await ok(['s3', 'rm', 's3://gw-cli/dir/upload.bin'])
    await ok(['dynamodb', 'list-tables'])

    // `aws cloudtrail lookup-events` against OpenTrail itself finds the gateway's ListBuckets.
    const found = JSON.parse(
      await ok(
        [
          'cloudtrail',
          'lookup-events',
          '--lookup-attributes',
          'AttributeKey=EventName,AttributeValue=ListBuckets',
          '--output',
          'json',
        ],
        ts.url,
      ),
    ) as { Events: { CloudTrailEvent: string }[] }
    const list = found.Events.map((e) => JSON.parse(e.CloudTrailEvent) as Recorded).find(
      (e) => e['eventSource'] === 's3.amazonaws.com',
    )
    assert.ok(list, 'ListBuckets through the gateway is in Event History')
    assert.equal(list.readOnly, true)
    assert.equal(list['eventCategory'], 'Management')
    assert.equal(list.userIdentity?.type, 'IAMUser')
    assert.equal(list.userIdentity?.accessKeyId, ts.accessKeyId)
    assert.equal(list['sourceIPAddress'], '127.0.0.1')
    assert.match(String(list['userAgent']), /aws-cli/)
    assert.equal((list['requestParameters'] as Params)['Host'], new URL(gw).host)
    assert.equal(list['recipientAccountId'], list.userIdentity?.accountId)

    const created = await recorded('CreateBucket', (e) => !e.errorCode)
    assert.equal(created.readOnly, false)
    assert.equal((created['requestParameters'] as Params)['bucketName'], 'gw-cli')
    assert.deepEqual(created['resources'], [
      {
        accountId: created['recipientAccountId'],
        type: 'AWS::S3::Bucket',
        ARN: 'arn:aws:s3:::gw-cli',
      },
    ])
    const noPolicy = await recorded('GetBucketPolicy', (e) => e.errorCode !== undefined)
    assert.equal(noPolicy.errorCode, 'NoSuchBucketPolicy')
    assert.match(noPolicy.errorMessage ?? '', /policy does not exist/)
    const tables = await recorded('ListTables', () => true)
    assert.equal(tables['eventSource'], 'dynamodb.amazonaws.com')
    assert.equal(tables.readOnly, true)

    // The multipart upload's data events reach the trail with the S3 data-event selector.
    const complete = await inTrail(
      'CompleteMultipartUpload',
      (e) => e.eventName === 'CompleteMultipartUpload',
    )
    assert.equal(complete['eventCategory'], 'Data')
    assert.equal(complete['managementEvent'], false)
    const parts = (await delivered()).filter(
      (e) =>
        e.eventName === 'UploadPart' &&
        (e['requestParameters'] as Params | null)?.['key'] === 'dir/upload.bin',
    )
    const bytes = parts.reduce(
      (n, e) => n + Number((e['additionalEventData'] as Params)['bytesTransferredIn']),
      0,
    )
    assert.equal(bytes, 101 * MIB)
    const del = await inTrail('DeleteObject', (e) => e.eventName === 'DeleteObject')
    assert.deepEqual(del['resources'], [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::gw-cli/dir/upload.bin' },
      { accountId: del['recipientAccountId'], type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::gw-cli' },
    ])
  })

  it('AWS SDK S3: objects and upstream errors (NoSuchKey, NoSuchBucket) as data events', async (t) => {
    if (skip) return t.skip(skip)
    const s3 = s3Client()
    await s3.send(new CreateBucketCommand({ Bucket: 'gw-sdk' }))
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'gw-sdk', Key: 'a/b c.txt', Body: 'hello gateway' }),
    )
    // A stream of unknown hash: the SDK sends aws-chunked with a CRC32 trailer.
    const streamed = await s3.send(
      new PutObjectCommand({
        Bucket: 'gw-sdk',
        Key: 'streamed.bin',
        Body: Readable.from([Buffer.alloc(MIB, 1), Buffer.alloc(MIB, 2)]),
        ContentLength: 2 * MIB,
      }),
    )
    const got = await s3.send(new GetObjectCommand({ Bucket: 'gw-sdk', Key: 'a/b c.txt' }))
    assert.equal(await got.Body!.transformToString(), 'hello gateway')
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'gw-sdk' }))
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size]),
      [
        ['a/b c.txt', 13],
        ['streamed.bin', 2 * MIB],
      ],
    )
    const noKey = await sdkError(s3.send(new GetObjectCommand({ Bucket: 'gw-sdk', Key: 'zzz' })))
    assert.equal(noKey.name, 'NoSuchKey')
    const noBucket = await sdkError(s3.send(new ListObjectsV2Command({ Bucket: 'gw-missing' })))
    assert.equal(noBucket.name, 'NoSuchBucket')
    await s3.send(new DeleteObjectCommand({ Bucket: 'gw-sdk', Key: 'a/b c.txt' }))

    const putEv = await inTrail('PutObject', (e) => e.requestID === put.$metadata.requestId)
    assert.equal(putEv.eventName, 'PutObject')
    assert.equal(putEv['eventCategory'], 'Data')
    assert.equal(putEv.readOnly, false)
    assert.match(String(putEv['userAgent']), /aws-sdk-js/)
    assert.deepEqual(
      [
        (putEv['requestParameters'] as Params)['bucketName'],
        (putEv['requestParameters'] as Params)['key'],
      ],
      ['gw-sdk', 'a/b c.txt'],
    )
    assert.deepEqual(putEv['resources'], [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::gw-sdk/a/b c.txt' },
      {
        accountId: putEv['recipientAccountId'],
        type: 'AWS::S3::Bucket',
        ARN: 'arn:aws:s3:::gw-sdk',
      },
    ])
    const streamedEv = await inTrail(
      'the streamed PutObject',
      (e) => e.requestID === streamed.$metadata.requestId,
    )
    assert.equal(streamedEv.errorCode, undefined)
    const keyEv = await inTrail('NoSuchKey', (e) => e.requestID === noKey.requestId)
    assert.equal(keyEv.eventName, 'GetObject')
    assert.equal(keyEv.readOnly, true)
    assert.equal(keyEv.errorCode, 'NoSuchKey')
    assert.match(keyEv.errorMessage ?? '', /key does not exist/)
    const bucketEv = await inTrail('NoSuchBucket', (e) => e.requestID === noBucket.requestId)
    assert.equal(bucketEv.eventName, 'ListObjectsV2')
    assert.equal(bucketEv.errorCode, 'NoSuchBucket')
    s3.destroy()
  })

  it('AWS JSON (EventBridge) and query (SNS) calls, with upstream errors', async (t) => {
    if (skip) return t.skip(skip)
    const key = admin()
    const events = new EventBridgeClient({
      endpoint: gw,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    const sns = new SNSClient({
      endpoint: gw,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    const bus = await events.send(new CreateEventBusCommand({ Name: 'gw-bus' }))
    assert.match(bus.EventBusArn ?? '', /event-bus\/gw-bus$/)
    const buses = await events.send(new ListEventBusesCommand({}))
    assert.ok(buses.EventBuses?.some((b) => b.Name === 'gw-bus'))
    const noBus = await sdkError(events.send(new DescribeEventBusCommand({ Name: 'gw-nope' })))
    assert.equal(noBus.name, 'ResourceNotFoundException')
    const topic = await sns.send(new CreateTopicCommand({ Name: 'gw-topic' }))
    assert.match(topic.TopicArn ?? '', /:gw-topic$/)
    const topics = await sns.send(new ListTopicsCommand({}))
    assert.ok(topics.Topics?.some((x) => x.TopicArn === topic.TopicArn))
    const noTopic = await sdkError(
      sns.send(
        new GetTopicAttributesCommand({ TopicArn: topic.TopicArn!.replace('gw-topic', 'gw-nope') }),
      ),
    )
    assert.equal(noTopic.name, 'NotFoundException')

    const createdBus = await recorded('CreateEventBus', bus.$metadata.requestId!)
    assert.equal(createdBus['eventSource'], 'events.amazonaws.com')
    assert.equal(createdBus.readOnly, false)
    assert.equal((createdBus['requestParameters'] as Params)['name'], 'gw-bus')
    assert.equal((await recorded('ListEventBuses', buses.$metadata.requestId!)).readOnly, true)
    const busErr = await recorded('DescribeEventBus', noBus.requestId)
    assert.equal(busErr.errorCode, 'ResourceNotFoundException')
    assert.match(busErr.errorMessage ?? '', /gw-nope/)
    const createdTopic = await recorded('CreateTopic', topic.$metadata.requestId!)
    assert.equal(createdTopic['eventSource'], 'sns.amazonaws.com')
    assert.equal((createdTopic['requestParameters'] as Params)['name'], 'gw-topic')
    assert.equal((await recorded('ListTopics', topics.$metadata.requestId!)).readOnly, true)
    const topicErr = await recorded('GetTopicAttributes', noTopic.requestId)
    assert.equal(topicErr.errorCode, 'NotFound')
    events.destroy()
    sns.destroy()
  })

  it('rejects and records unknown keys, bad signatures and IAM denials in each protocol', async (t) => {
    if (skip) return t.skip(skip)
    const unknown = await sdkError(s3Client(UNKNOWN).send(new ListBucketsCommand({})))
    assert.equal(unknown.name, 'InvalidAccessKeyId')
    const forged = await sdkError(
      s3Client({ ...LIMITED, secretAccessKey: 'not-the-secret-0000000000' }).send(
        new ListBucketsCommand({}),
      ),
    )
    assert.equal(forged.name, 'SignatureDoesNotMatch')
    const s3 = s3Client(LIMITED)
    const mb = await sdkError(s3.send(new CreateBucketCommand({ Bucket: 'gw-denied' })))
    assert.equal(mb.name, 'AccessDenied')
    const put = await sdkError(
      s3.send(new PutObjectCommand({ Bucket: 'gw-sdk', Key: 'secret/x.txt', Body: 'classified' })),
    )
    assert.equal(put.name, 'AccessDenied')
    await s3.send(new PutObjectCommand({ Bucket: 'gw-sdk', Key: 'public/x.txt', Body: 'fine' }))
    const events = new EventBridgeClient({
      endpoint: gw,
      region: 'us-east-1',
      credentials: LIMITED,
      maxAttempts: 1,
    })
    const delBus = await sdkError(events.send(new DeleteEventBusCommand({ Name: 'gw-bus' })))
    assert.equal(delBus.name, 'AccessDeniedException')
    const sns = new SNSClient({
      endpoint: gw,
      region: 'us-east-1',
      credentials: LIMITED,
      maxAttempts: 1,
    })
    const delTopic = await sdkError(
      sns.send(new DeleteTopicCommand({ TopicArn: `arn:aws:sns:us-east-1:123456789012:gw-topic` })),
    )
    assert.equal(delTopic.name, 'AuthorizationErrorException')
    const scoped = await sdkError(
      sns.send(
        new GetTopicAttributesCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:gw-topic' }),
      ),
    )
    assert.equal(scoped.name, 'AuthorizationErrorException')
    // Another topic is not denied: the call reaches moto, which does not know it.
    const other = await sdkError(
      sns.send(
        new GetTopicAttributesCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:gw-other' }),
      ),
    )
    assert.equal(other.name, 'NotFoundException')

    const u = await recorded('ListBuckets', unknown.requestId)
    assert.equal(u.errorCode, 'InvalidAccessKeyId')
    assert.equal(u.userIdentity?.accessKeyId, UNKNOWN.accessKeyId)
    const f = await recorded('ListBuckets', forged.requestId)
    assert.equal(f.errorCode, 'SignatureDoesNotMatch')
    const b = await recorded('CreateBucket', mb.requestId)
    assert.equal(b.errorCode, 'AccessDenied')
    assert.equal(b.userIdentity?.userName, 'limited')
    assert.equal(b.userIdentity?.accountId, ACCOUNT)
    assert.equal((await recorded('DeleteEventBus', delBus.requestId)).errorCode, 'AccessDenied')
    assert.equal((await recorded('DeleteTopic', delTopic.requestId)).errorCode, 'AccessDenied')
    assert.equal((await recorded('GetTopicAttributes', scoped.requestId)).errorCode, 'AccessDenied')
    const p = await inTrail('the denied PutObject', (e) => e.requestID === put.requestId)
    assert.equal(p.errorCode, 'AccessDenied')
    // The upstream never saw the denied calls.
    const adminS3 = s3Client()
    const buckets = await adminS3.send(new ListBucketsCommand({}))
    assert.ok(!buckets.Buckets?.some((x) => x.Name === 'gw-denied'))
    const none = await sdkError(
      adminS3.send(new HeadObjectCommand({ Bucket: 'gw-sdk', Key: 'secret/x.txt' })),
    )
    assert.equal(none.name, 'NotFound')
    for (const c of [s3, events, sns, adminS3]) c.destroy()
  })
})
