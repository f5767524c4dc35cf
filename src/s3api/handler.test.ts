/**
 * The S3 API handler against the AWS SDK's S3 client, with the recorded CloudTrail events
 * inspected directly (data events never reach Event History).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import type { CloudTrailRecord } from '../events/record.js'
import { IdentityStore } from '../iam/identities.js'
import { LocalObjectStore } from '../objectstore/local-store.js'
import { createLogger } from '../telemetry/logger.js'
import { S3ApiHandler } from './handler.js'

const ACCOUNT = '111122223333'
const OTHER = '444455556666'

describe('S3 API handler', () => {
  let dir: string
  let server: Server
  let url: string
  const events: CloudTrailRecord[] = []
  const keys: Record<string, { accessKeyId: string; secretAccessKey: string }> = {}
  const clients: S3Client[] = []

  const client = (
    who: string,
    override: Partial<{ secretAccessKey: string; accessKeyId: string }> = {},
  ) => {
    const c = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...keys[who]!, ...override },
      maxAttempts: 1,
    })
    clients.push(c)
    return c
  }
  const lastEvent = (name: string) => [...events].reverse().find((e) => e.eventName === name)!
  async function fails(p: Promise<unknown>, code: string, status?: number): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof S3ServiceException, String(err))
      assert.equal(err.name, code)
      if (status) assert.equal(err.$metadata.httpStatusCode, status)
      return true
    })
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-s3api-'))
    const identities = await IdentityStore.open(join(dir, 'iam.json'))
    await identities.ensureAccount(ACCOUNT)
    const mk = async (
      account: string,
      name: string,
      policies: Parameters<IdentityStore['createUser']>[2],
    ) => {
      await identities.createUser(account, name, policies)
      keys[name] = await identities.createAccessKey(account, name)
    }
    await mk(ACCOUNT, 'admin', ['AdministratorAccess'])
    await mk(ACCOUNT, 'reader', [
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' }],
      },
    ])
    await mk(OTHER, 'other', ['AdministratorAccess'])
    const store = await LocalObjectStore.open(join(dir, 'buckets'))
    const handler = new S3ApiHandler({
      store,
      identities,
      record: async (e) => {
        events.push(e)
      },
      clock: { now: () => new Date() },
      logger: createLogger('silent'),
      defaultRegion: 'us-east-1',
    })
    server = createServer((req, res) => void handler.handle(req, res))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    for (const c of clients) c.destroy()
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    await rm(dir, { recursive: true, force: true })
  })

  it('creates buckets and records management events', async () => {
    const s3 = client('admin')
    await s3.send(new CreateBucketCommand({ Bucket: 'data-bucket' }))
    const e = lastEvent('CreateBucket')
    assert.equal(e.eventSource, 's3.amazonaws.com')
    assert.equal(e.managementEvent, true)
    assert.equal(e.eventCategory, 'Management')
    assert.equal(e.readOnly, false)
    assert.equal(e.userIdentity.arn, `arn:aws:iam::${ACCOUNT}:user/admin`)
    assert.deepEqual(e.requestParameters, { bucketName: 'data-bucket', Host: url.slice(7) })
    assert.deepEqual(e.resources, [
      { accountId: ACCOUNT, type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::data-bucket' },
    ])
    await fails(
      s3.send(new CreateBucketCommand({ Bucket: 'data-bucket' })),
      'BucketAlreadyOwnedByYou',
      409,
    )
    await fails(
      client('other').send(new CreateBucketCommand({ Bucket: 'data-bucket' })),
      'BucketAlreadyExists',
      409,
    )
    await fails(
      s3.send(new CreateBucketCommand({ Bucket: 'Bad_Bucket' })),
      'InvalidBucketName',
      400,
    )
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'data-bucket' }))
    assert.equal(head.BucketRegion, 'us-east-1')
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'data-bucket' }))
    assert.equal(loc.LocationConstraint ?? '', '')
    const list = await s3.send(new ListBucketsCommand({}))
    assert.deepEqual(
      list.Buckets?.map((b) => b.Name),
      ['data-bucket'],
    )
    const theirs = await client('other').send(new ListBucketsCommand({}))
    assert.deepEqual(theirs.Buckets ?? [], [])
    const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'data-bucket' }))
    assert.equal(
      enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
        ?.SSEAlgorithm,
      'AES256',
    )
  })

  it('puts and gets objects (buffer and streamed bodies) and records data events', async () => {
    const s3 = client('admin')
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data-bucket',
        Key: 'logs/a.json',
        Body: Buffer.from('{"a":1}'),
        ContentType: 'application/json',
        Metadata: { signature: 'abc123', 'signature-algorithm': 'SHA256withRSA' },
      }),
    )
    const put = lastEvent('PutObject')
    assert.equal(put.managementEvent, false)
    assert.equal(put.eventCategory, 'Data')
    assert.equal(put.readOnly, false)
    assert.deepEqual(put.requestParameters, {
      bucketName: 'data-bucket',
      Host: url.slice(7),
      key: 'logs/a.json',
      'x-id': 'PutObject', // the SDK's query parameter, logged as AWS logs it
    })
    assert.deepEqual(put.resources, [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::data-bucket/logs/a.json' },
      { accountId: ACCOUNT, type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::data-bucket' },
    ])
    assert.equal((put.additionalEventData as Record<string, unknown>)['bytesTransferredIn'], 7)

    // A stream body: the SDK sends aws-chunked with a CRC32 trailer.
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x')
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data-bucket',
        Key: 'logs/streamed.bin',
        Body: Readable.from([big.subarray(0, 1000), big.subarray(1000)]),
        ContentLength: big.length,
      }),
    )
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: 'data-bucket',
        Key: 'logs/streamed.bin',
        ChecksumMode: 'ENABLED',
      }),
    )
    const bytes = Buffer.from(await got.Body!.transformToByteArray())
    assert.ok(bytes.equals(big))
    assert.equal(got.ETag, `"${createHash('md5').update(big).digest('hex')}"`)
    assert.ok(got.ChecksumCRC32)
    const get = lastEvent('GetObject')
    assert.equal(get.readOnly, true)
    assert.equal(
      (get.additionalEventData as Record<string, unknown>)['bytesTransferredOut'],
      big.length,
    )

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'logs/a.json' }))
    assert.deepEqual(head.Metadata, { signature: 'abc123', 'signature-algorithm': 'SHA256withRSA' })
    assert.equal(head.ContentType, 'application/json')
    assert.equal(head.ContentLength, 7)

    const range = await s3.send(
      new GetObjectCommand({ Bucket: 'data-bucket', Key: 'logs/a.json', Range: 'bytes=1-3' }),
    )
    assert.equal(await range.Body!.transformToString(), '"a"')
    assert.equal(range.ContentRange, 'bytes 1-3/7')
  })

  it('lists with pagination, markers and delimiters', async () => {
    const s3 = client('admin')
    for (const k of ['logs/b.json', 'logs/c.json', 'other/x', 'top']) {
      await s3.send(new PutObjectCommand({ Bucket: 'data-bucket', Key: k, Body: k }))
    }
    const seen: string[] = []
    let token: string | undefined
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'data-bucket', MaxKeys: 2, ContinuationToken: token }),
      )
      assert.ok((page.KeyCount ?? 0) <= 2)
      seen.push(...(page.Contents ?? []).map((o) => o.Key!))
      token = page.NextContinuationToken
    } while (token)
    assert.deepEqual(seen, [
      'logs/a.json',
      'logs/b.json',
      'logs/c.json',
      'logs/streamed.bin',
      'other/x',
      'top',
    ])
    const v1 = await s3.send(
      new ListObjectsCommand({ Bucket: 'data-bucket', Marker: 'logs/b.json' }),
    )
    assert.deepEqual(
      v1.Contents?.map((o) => o.Key),
      ['logs/c.json', 'logs/streamed.bin', 'other/x', 'top'],
    )
    const byDir = await s3.send(
      new ListObjectsCommand({ Bucket: 'data-bucket', Delimiter: '/', MaxKeys: 2 }),
    )
    assert.deepEqual(
      byDir.CommonPrefixes?.map((p) => p.Prefix),
      ['logs/', 'other/'],
    )
    assert.equal(byDir.IsTruncated, true)
    assert.equal(byDir.NextMarker, 'other/')
    const rest = await s3.send(
      new ListObjectsCommand({ Bucket: 'data-bucket', Delimiter: '/', Marker: 'other/' }),
    )
    assert.deepEqual(
      rest.Contents?.map((o) => o.Key),
      ['top'],
    )
    assert.equal(rest.CommonPrefixes, undefined)
    const e = lastEvent('ListObjects')
    assert.equal(e.eventCategory, 'Data')
    assert.deepEqual(e.resources?.[0], {
      type: 'AWS::S3::Object',
      ARNPrefix: 'arn:aws:s3:::data-bucket/',
    })
    const v2 = await s3.send(
      new ListObjectsV2Command({
        Bucket: 'data-bucket',
        Prefix: 'logs/',
        StartAfter: 'logs/b.json',
      }),
    )
    assert.deepEqual(
      v2.Contents?.map((o) => o.Key),
      ['logs/c.json', 'logs/streamed.bin'],
    )
  })

  it('answers S3 errors and records them', async () => {
    const s3 = client('admin')
    await fails(
      s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'nope' })),
      'NoSuchKey',
      404,
    )
    assert.equal(lastEvent('GetObject').errorCode, 'NoSuchKey')
    await fails(
      s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
      'NoSuchBucket',
      404,
    )
    await fails(
      s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'nope' })),
      'NotFound',
      404,
    )
    await fails(
      client('admin', { secretAccessKey: 'wrong-secret-wrong-secret' }).send(
        new ListObjectsV2Command({ Bucket: 'data-bucket' }),
      ),
      'SignatureDoesNotMatch',
      403,
    )
    const failedAuth = lastEvent('ListObjectsV2')
    assert.equal(failedAuth.errorCode, 'SignatureDoesNotMatch')
    assert.equal(failedAuth.userIdentity.type, 'Unknown')
    await fails(
      client('admin', { accessKeyId: 'AKIANOTAREALKEY00000' }).send(new ListBucketsCommand({})),
      'InvalidAccessKeyId',
      403,
    )
    const res = await fetch(`${url}/data-bucket/logs/a.json`)
    assert.equal(res.status, 403)
    assert.match(await res.text(), /<Code>AccessDenied<\/Code>/)
  })

  it('authorizes with IAM policies and bucket policies', async () => {
    const reader = client('reader')
    const got = await reader.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'top' }))
    assert.equal(await got.Body!.transformToString(), 'top')
    await fails(
      reader.send(new PutObjectCommand({ Bucket: 'data-bucket', Key: 'x', Body: 'x' })),
      'AccessDenied',
      403,
    )
    const denied = lastEvent('PutObject')
    assert.equal(denied.errorCode, 'AccessDenied')
    assert.equal(denied.userIdentity.userName, 'reader')

    // Another account: needs the bucket policy too.
    const other = client('other')
    await fails(
      other.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'top' })),
      'AccessDenied',
      403,
    )
    const admin = client('admin')
    await admin.send(
      new PutBucketPolicyCommand({
        Bucket: 'data-bucket',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::data-bucket/*',
            },
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:DeleteObject',
              Resource: 'arn:aws:s3:::data-bucket/top',
            },
          ],
        }),
      }),
    )
    const e = lastEvent('PutBucketPolicy')
    assert.equal((e.requestParameters as Record<string, unknown>)['bucketName'], 'data-bucket')
    assert.ok((e.requestParameters as Record<string, unknown>)['bucketPolicy'])
    const theirs = await other.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'top' }))
    assert.equal(await theirs.Body!.transformToString(), 'top')
    await fails(
      admin.send(new DeleteObjectCommand({ Bucket: 'data-bucket', Key: 'top' })),
      'AccessDenied',
      403,
    )
    await fails(
      admin.send(new PutBucketPolicyCommand({ Bucket: 'data-bucket', Policy: 'not json' })),
      'MalformedPolicy',
      400,
    )
    await admin.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'data-bucket',
        PublicAccessBlockConfiguration: { BlockPublicPolicy: true },
      }),
    )
    await fails(
      admin.send(
        new PutBucketPolicyCommand({
          Bucket: 'data-bucket',
          Policy: JSON.stringify({
            Statement: [
              {
                Effect: 'Allow',
                Principal: '*',
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::data-bucket/*',
              },
            ],
          }),
        }),
      ),
      'AccessDenied',
    )
  })

  it('copies, deletes in bulk and completes multipart uploads', async () => {
    const s3 = client('admin')
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'data-bucket',
        Key: 'copy/a.json',
        CopySource: 'data-bucket/logs/a.json',
      }),
    )
    const copied = await s3.send(
      new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'copy/a.json' }),
    )
    assert.equal(copied.Metadata?.['signature'], 'abc123')

    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'data-bucket', Key: 'mp/obj' }),
    )
    const p1 = Buffer.alloc(5 * 1024 * 1024, 1)
    const p2 = Buffer.from('tail')
    const r1 = await s3.send(
      new UploadPartCommand({
        Bucket: 'data-bucket',
        Key: 'mp/obj',
        UploadId,
        PartNumber: 1,
        Body: p1,
      }),
    )
    const r2 = await s3.send(
      new UploadPartCommand({
        Bucket: 'data-bucket',
        Key: 'mp/obj',
        UploadId,
        PartNumber: 2,
        Body: p2,
      }),
    )
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data-bucket',
        Key: 'mp/obj',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: r1.ETag },
            { PartNumber: 2, ETag: r2.ETag },
          ],
        },
      }),
    )
    assert.match(done.ETag ?? '', /-2"$/)
    const whole = await s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'mp/obj' }))
    assert.ok(Buffer.from(await whole.Body!.transformToByteArray()).equals(Buffer.concat([p1, p2])))

    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'data-bucket',
        Delete: { Objects: [{ Key: 'copy/a.json' }, { Key: 'mp/obj' }, { Key: 'top' }] },
      }),
    )
    assert.deepEqual(del.Deleted?.map((d) => d.Key).sort(), ['copy/a.json', 'mp/obj'])
    assert.deepEqual(
      del.Errors?.map((d) => [d.Key, d.Code]),
      [['top', 'AccessDenied']],
    )
    const e = lastEvent('DeleteObjects')
    assert.equal(e.eventCategory, 'Data')
    assert.equal(e.resources?.length, 4)
  })
})
