/**
 * The recording gateway in front of a real moto_server. The AWS CLI (`aws s3 …`, `aws s3api …`,
 * `aws dynamodb …`) and the AWS SDK (S3, EventBridge for AWS JSON, SNS for the query protocol) call
 * moto through the gateway, signing with OpenTrail keys; the calls are found again in LookupEvents
 * (management events) and in the log files of a trail with an S3 data-event selector (data events).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
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
  S3Client,
} from '@aws-sdk/client-s3'
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  SNSClient,
} from '@aws-sdk/client-sns'
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { lookupAll, sdkError, type Recorded } from '../helpers/raw.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const ACCOUNT = '111122223333'
const LIMITED = {
  accessKeyId: 'AKIAGWLIMITED0000001',
  secretAccessKey: 'gw-limited-secret-0000001',
}
const UNKNOWN = { accessKeyId: 'AKIAGWUNKNOWN0000001', secretAccessKey: 'gw-unknown-secret-000001' }
const MIB = 1024 * 1024

const accounts = [
  {
    accountId: ACCOUNT,
    users: [
      {
        name: 'limited',
        policies: [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['s3:*', 'events:*', 'sns:*'], Resource: '*' },
              { Effect: 'Deny', Action: 's3:CreateBucket', Resource: '*' },
              { Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::gw-sdk/secret/*' },
              {
                Effect: 'Deny',
                Action: ['events:DeleteEventBus', 'sns:DeleteTopic'],
                Resource: '*',
              },
              // Scoped to one topic: the ARN in the call's TopicArn parameter is what IAM sees.
              {
                Effect: 'Deny',
                Action: 'sns:GetTopicAttributes',
                Resource: 'arn:aws:sns:us-east-1:123456789012:gw-topic',
              },
            ],
          },
        ],
        accessKeys: [LIMITED],
      },
    ],
    roles: [],
  },
]

type Key = { accessKeyId: string; secretAccessKey: string }
type Params = Record<string, unknown>

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

describe('recording gateway in front of moto_server', () => {
  let moto: MotoServer | undefined
  let ts: TestServer
  let gw: string
  let skip: string | undefined
  let certDir: string | undefined
  const TRAIL_BUCKET = 'gw-trail-logs'

  /** Runs the AWS CLI against `endpoint`, with the bootstrap administrator's key. */
  function aws(
    args: string[],
    endpoint = gw,
  ): Promise<{ code: number | null; stderr: string; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('aws', ['--endpoint-url', endpoint, ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: ts.dataDir,
          AWS_CONFIG_FILE: join(ts.dataDir, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: ts.credentialsFile,
          AWS_PROFILE: 'opentrail',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_MAX_ATTEMPTS: '1',
          AWS_PAGER: '',
        },
        cwd: ts.dataDir,
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout, stderr }))
      child.stdin.end()
    })
  }
  async function ok(args: string[], endpoint = gw): Promise<string> {
    const r = await aws(args, endpoint)
    assert.equal(r.code, 0, `aws ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }
  const admin = (): Key => ({ accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey })
  const s3Client = (key: Key = admin(), endpoint = gw) =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
      maxAttempts: 1,
    })
  /** The management event named `name` whose request ID is `requestId` (or that `pred` picks). */
  async function recorded(
    name: string,
    pred: string | ((e: Recorded) => boolean),
  ): Promise<Recorded> {
    const client = ts.client()
    const pick = typeof pred === 'string' ? (e: Recorded) => e.requestID === pred : pred
    return waitFor(`a recorded ${name}`, async () =>
      (await lookupAll(client, [{ AttributeKey: 'EventName', AttributeValue: name }])).find(pick),
    )
  }
  /** Every record the data-event trail delivered so far. */
  async function delivered(): Promise<Recorded[]> {
    const store = ts.server.objectStore
    const out: Recorded[] = []
    let startAfter: string | undefined
    do {
      const list = await store.listObjects(TRAIL_BUCKET, {
        prefix: 'AWSLogs/',
        ...(startAfter ? { startAfter } : {}),
      })
      for (const o of list.objects) {
        if (!o.key.includes('/CloudTrail/')) continue
        const body = (await store.getObject(TRAIL_BUCKET, o.key)).body
        out.push(...(JSON.parse(gunzipSync(body).toString()) as { Records: Recorded[] }).Records)
      }
      startAfter = list.nextStartAfter
    } while (startAfter)
    return out
  }
  const inTrail = (what: string, pred: (e: Recorded) => boolean) =>
    waitFor(what, async () => (await delivered()).find(pred))

  before(async () => {
    moto = await startMotoServer()
    if (!moto) {
      skip = 'moto_server is not on PATH'
      return
    }
    const upstream = { accessKeyId: 'test', secretAccessKey: 'test' }
    // A self-signed certificate for a gateway that serves HTTPS.
    certDir = await mkdtemp(join(tmpdir(), 'opentrail-gw-tls-'))
    const tls = { certFile: join(certDir, 'cert.pem'), keyFile: join(certDir, 'key.pem') }
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      tls.keyFile,
      '-out',
      tls.certFile,
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '2',
    ])
    assert.equal(made.status, 0, `openssl failed: ${String(made.stderr)}`)
    ts = await startTestServer({
      accounts,
      deliveryIntervalSeconds: 1,
      gateways: [
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream },
        // An upstream that is down.
        { listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${await closedPort()}`, ...upstream },
        // HTTPS towards the clients.
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream, tls },
        // Records alongside the response instead of before its end.
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream, waitForRecord: false },
      ],
    })
    gw = ts.server.gateways[0]!.url
    // A trail with an S3 data-event selector, delivering to OpenTrail's embedded store.
    await ts.server.objectStore.createBucket(TRAIL_BUCKET)
    const client = ts.client()
    await client.send(new CreateTrailCommand({ Name: 'gw-data', S3BucketName: TRAIL_BUCKET }))
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: 'gw-data',
        EventSelectors: [
          {
            ReadWriteType: 'All',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }],
          },
        ],
      }),
    )
    await client.send(new StartLoggingCommand({ Name: 'gw-data' }))
  })
  after(async () => {
    await ts?.close()
    await moto?.stop()
    if (certDir) await rm(certDir, { recursive: true, force: true })
  })

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

  it('serves HTTPS and records tlsDetails', async (t) => {
    if (skip) return t.skip(skip)
    const url = ts.server.gateways[2]!.url
    assert.match(url, /^https:/)
    const s3 = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin(),
      maxAttempts: 1,
      requestHandler: { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) },
    })
    const listed = await s3.send(new ListBucketsCommand({}))
    const ev = await recorded('ListBuckets', listed.$metadata.requestId!)
    const tls = ev['tlsDetails'] as Params
    assert.match(String(tls['tlsVersion']), /^TLSv1\.[23]$/)
    assert.ok(tls['cipherSuite'], 'the cipher suite is recorded')
    assert.equal(tls['clientProvidedHostHeader'], new URL(url).host)
    assert.equal((ev['additionalEventData'] as Params)['CipherSuite'], tls['cipherSuite'])
    s3.destroy()
  })

  it('records with waitForRecord: false as well', async (t) => {
    if (skip) return t.skip(skip)
    const s3 = s3Client(admin(), ts.server.gateways[3]!.url)
    const listed = await s3.send(new ListBucketsCommand({}))
    assert.ok(listed.Buckets?.some((b) => b.Name === 'gw-sdk'))
    const ev = await recorded('ListBuckets', listed.$metadata.requestId!)
    assert.equal(ev.errorCode, undefined)
    assert.equal(ev.userIdentity?.accessKeyId, ts.accessKeyId)
    s3.destroy()
  })

  it('answers ServiceUnavailable when the upstream is down, and records it', async (t) => {
    if (skip) return t.skip(skip)
    const s3 = s3Client(admin(), ts.server.gateways[1]!.url)
    const down = await sdkError(s3.send(new ListBucketsCommand({})))
    assert.equal(down.status, 503)
    assert.equal(down.name, 'ServiceUnavailable')
    const ev = await recorded('ListBuckets', down.requestId)
    assert.equal(ev.errorCode, 'ServiceUnavailable')
    assert.match(ev.errorMessage ?? '', /could not reach the upstream/)
    s3.destroy()
  })

  it('streams a 200 MB upload in bounded memory; a client that disconnects leaves nothing behind', async (t) => {
    if (skip) return t.skip(skip)
    const size = 200 * MIB
    const piece = Buffer.alloc(MIB, 'z')
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < size / MIB; i++) yield piece
      })(),
    )
    // The SDK sends a stream of unknown hash as UNSIGNED-PAYLOAD without flexible checksums.
    const s3 = new S3Client({
      endpoint: gw,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin(),
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    })
    const before = process.memoryUsage().rss
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin', Body: body, ContentLength: size }),
      )
    } finally {
      clearInterval(sampler)
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin' }))
    assert.equal(head.ContentLength, size)
    const growth = peak - before
    t.diagnostic(`RSS growth during the 200 MB upload: ${(growth / MIB).toFixed(1)} MiB`)
    assert.ok(growth < size / 2, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`)
    const ev = await inTrail(
      'the 200 MB PutObject',
      (e) => (e['requestParameters'] as Params | null)?.['key'] === 'big.bin',
    )
    assert.equal((ev['additionalEventData'] as Params)['bytesTransferredIn'], size)

    // The download streams back the same way.
    const downBefore = process.memoryUsage().rss
    let downPeak = downBefore
    const downSampler = setInterval(
      () => (downPeak = Math.max(downPeak, process.memoryUsage().rss)),
      20,
    )
    let received = 0
    let got
    try {
      got = await s3.send(new GetObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin' }))
      for await (const c of got.Body as AsyncIterable<Buffer>) received += c.length
    } finally {
      clearInterval(downSampler)
    }
    assert.equal(received, size)
    t.diagnostic(
      `RSS growth during the download: ${((downPeak - downBefore) / MIB).toFixed(1)} MiB`,
    )
    assert.ok(downPeak - downBefore < size / 2)
    const getEv = await inTrail(
      'the 200 MB GetObject',
      (e) => e.requestID === got.$metadata.requestId,
    )
    assert.equal((getEv['additionalEventData'] as Params)['bytesTransferredOut'], size)

    // A client that sends 1 MiB of a declared 8 MiB and hangs up: recorded, nothing stored.
    const url = new URL(gw)
    const signer = new SignatureV4({
      credentials: admin(),
      region: 'us-east-1',
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: false,
    })
    const signed = await signer.sign(
      new HttpRequest({
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/gw-sdk/partial.bin',
        headers: {
          host: url.host,
          'content-length': String(8 * MIB),
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      }),
    )
    await new Promise<void>((resolve) => {
      const req = request({
        method: 'PUT',
        host: url.hostname,
        port: url.port,
        path: '/gw-sdk/partial.bin',
        headers: signed.headers,
      })
      req.on('error', () => resolve())
      req.write(Buffer.alloc(MIB, 'p'), () => setTimeout(() => req.destroy(), 200))
      req.on('close', () => resolve())
    })
    const aborted = await inTrail(
      'the aborted PutObject',
      (e) => (e['requestParameters'] as Params | null)?.['key'] === 'partial.bin',
    )
    assert.equal(aborted.errorCode, 'IncompleteBody')
    await waitFor('no call in flight', async () =>
      ts.server.gateways[0]!.status().inflight === 0 ? true : undefined,
    )
    const none = await sdkError(
      s3.send(new HeadObjectCommand({ Bucket: 'gw-sdk', Key: 'partial.bin' })),
    )
    assert.equal(none.name, 'NotFound')
    s3.destroy()
  })
})
