/**
 * The port's contract, run against both adapters: the local store, and the S3 adapter against a
 * real S3-protocol server (`moto_server`, started here; skipped with a message when missing).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { tempLocalStore, type TempLocalStore } from './testing.js'
import {
  BucketNotEmptyError,
  hasBucketAdmin,
  hasBucketSettings,
  NoSuchBucketError,
  NoSuchKeyError,
  type ObjectStore,
} from './port.js'
import { S3ObjectStore } from './s3-store.js'
import { motoAvailable, startMotoServer, type MotoServer } from './testing/moto-server.js'

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex')

function contract(name: string, make: () => ObjectStore) {
  describe(`ObjectStore contract: ${name}`, () => {
    it('creates buckets idempotently and reports existence', async () => {
      const s = make()
      assert.equal(await s.bucketExists('contract-a'), false)
      await s.createBucket('contract-a')
      await s.createBucket('contract-a')
      assert.equal(await s.bucketExists('contract-a'), true)
    })

    it('round-trips body, content type and encoding, metadata and ETag', async () => {
      const s = make()
      const body = Buffer.from('{"Records":[{"eventName":"x"}]}')
      await s.putObject('contract-a', 'AWSLogs/1/CloudTrail/f.json.gz', body, {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        metadata: { signature: 'deadbeef', 'signature-algorithm': 'SHA256withRSA' },
      })
      const got = await s.getObject('contract-a', 'AWSLogs/1/CloudTrail/f.json.gz')
      assert.deepEqual(got.body, body)
      assert.equal(got.size, body.length)
      assert.equal(got.etag, md5(body))
      assert.equal(got.contentType, 'application/json')
      assert.equal(got.contentEncoding, 'gzip')
      assert.deepEqual(got.metadata, {
        signature: 'deadbeef',
        'signature-algorithm': 'SHA256withRSA',
      })
      const head = await s.headObject('contract-a', 'AWSLogs/1/CloudTrail/f.json.gz')
      assert.equal(head.etag, got.etag)
      assert.deepEqual(head.metadata, got.metadata)
      assert.ok(Math.abs(head.lastModified.getTime() - Date.now()) < 60_000)
    })

    it('throws NoSuchBucketError and NoSuchKeyError', async () => {
      const s = make()
      await assert.rejects(s.getObject('contract-none', 'k'), NoSuchBucketError)
      await assert.rejects(s.headObject('contract-none', 'k'), NoSuchBucketError)
      await assert.rejects(s.putObject('contract-none', 'k', Buffer.from('x')), NoSuchBucketError)
      await assert.rejects(s.listObjects('contract-none', {}), NoSuchBucketError)
      await assert.rejects(s.getObject('contract-a', 'missing'), NoSuchKeyError)
      await assert.rejects(s.headObject('contract-a', 'missing'), NoSuchKeyError)
    })

    it('lists in key order with prefix, startAfter and maxKeys, and deletes', async () => {
      const s = make()
      await s.createBucket('contract-list')
      const keys = ['b/2', 'a', 'b/1', 'b-0', 'c/x/y', 'b/10']
      for (const k of keys) await s.putObject('contract-list', k, Buffer.from(k))
      const all = (await s.listObjects('contract-list', {})).objects.map((o) => o.key)
      assert.deepEqual(all, ['a', 'b-0', 'b/1', 'b/10', 'b/2', 'c/x/y'])
      const page1 = await s.listObjects('contract-list', { prefix: 'b/', maxKeys: 2 })
      assert.deepEqual(
        page1.objects.map((o) => o.key),
        ['b/1', 'b/10'],
      )
      assert.equal(page1.nextStartAfter, 'b/10')
      const page2 = await s.listObjects('contract-list', {
        prefix: 'b/',
        maxKeys: 2,
        startAfter: page1.nextStartAfter!,
      })
      assert.deepEqual(
        page2.objects.map((o) => o.key),
        ['b/2'],
      )
      assert.equal(page2.nextStartAfter, undefined)
      const info = (await s.listObjects('contract-list', { prefix: 'a' })).objects[0]!
      assert.equal(info.size, 1)
      assert.equal(info.etag, md5('a'))
      await s.deleteObject('contract-list', 'b/10')
      await s.deleteObject('contract-list', 'never-existed')
      assert.deepEqual(
        (await s.listObjects('contract-list', { prefix: 'b/' })).objects.map((o) => o.key),
        ['b/1', 'b/2'],
      )
    })

    it('stores bucket settings and manages buckets', async () => {
      const s = make()
      assert.ok(hasBucketSettings(s) && hasBucketAdmin(s))
      await s.createBucket('contract-settings')
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AWSCloudTrailWrite',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::contract-settings/AWSLogs/*',
          },
        ],
      })
      assert.equal((await s.getBucketSettings('contract-settings')).policy, undefined)
      // S3 (and moto) want the logging target to let the logging service write.
      await s.putBucketSettings('contract-a', {
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: 'arn:aws:s3:::contract-a/access/*',
            },
          ],
        }),
      })
      const after = await s.putBucketSettings('contract-settings', {
        policy,
        versioning: 'Enabled',
        publicAccessBlock: {
          blockPublicAcls: true,
          ignorePublicAcls: true,
          blockPublicPolicy: true,
          restrictPublicBuckets: false,
        },
        logging: { targetBucket: 'contract-a', targetPrefix: 'access/' },
        encryption: { sseAlgorithm: 'AES256' },
      })
      assert.deepEqual(JSON.parse(after.policy!), JSON.parse(policy))
      assert.equal(after.versioning, 'Enabled')
      assert.deepEqual(after.publicAccessBlock, {
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: true,
        restrictPublicBuckets: false,
      })
      assert.deepEqual(after.logging, { targetBucket: 'contract-a', targetPrefix: 'access/' })
      assert.equal(after.encryption?.sseAlgorithm, 'AES256')
      const cleared = await s.putBucketSettings('contract-settings', {
        policy: null,
        publicAccessBlock: null,
      })
      assert.equal(cleared.policy, undefined)
      assert.equal(cleared.publicAccessBlock, undefined)
      await assert.rejects(s.getBucketSettings('contract-none'), NoSuchBucketError)

      const names = (await s.listBuckets()).map((b) => b.name)
      assert.ok(names.includes('contract-settings') && names.includes('contract-a'))
      // (A versioned bucket keeps old versions, so deletion is shown on an unversioned one.)
      await s.createBucket('contract-del')
      await s.putObject('contract-del', 'x', Buffer.from('x'))
      await assert.rejects(s.deleteBucket('contract-del'), BucketNotEmptyError)
      await s.deleteObject('contract-del', 'x')
      await s.deleteBucket('contract-del')
      assert.equal(await s.bucketExists('contract-del'), false)
    })
  })
}

let temp: TempLocalStore
before(async () => {
  temp = await tempLocalStore('contract')
})
after(() => temp.remove())
contract('local directory', () => temp.store)

const haveMoto = motoAvailable()
if (!haveMoto) {
  describe('ObjectStore contract: S3 adapter against moto_server', () => {
    it('skipped', { skip: 'moto_server is not on PATH (pip install "moto[server]")' }, () => {})
  })
} else {
  let moto: MotoServer
  let s3: S3ObjectStore
  before(async () => {
    moto = (await startMotoServer())!
    s3 = new S3ObjectStore({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      accessKeyId: 'testing',
      secretAccessKey: 'testing',
      maxAttempts: 1,
    })
  })
  after(async () => {
    s3?.destroy()
    await moto?.stop()
  })
  contract('S3 adapter against moto_server', () => s3)

  describe('S3 adapter specifics', () => {
    it('asks for SSE-KMS with the given key', async () => {
      await s3.createBucket('kms-bucket')
      await s3.putObject('kms-bucket', 'enc', Buffer.from('secret'), {
        kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      })
      const raw = await s3.client.send(new HeadObjectCommand({ Bucket: 'kms-bucket', Key: 'enc' }))
      assert.equal(raw.ServerSideEncryption, 'aws:kms')
      assert.match(raw.SSEKMSKeyId ?? '', /1234abcd/)
      const head = await s3.headObject('kms-bucket', 'enc')
      assert.match(head.kmsKeyId ?? '', /1234abcd/)
    })

    it('pages through more than 1000 keys when asked for them', async () => {
      await s3.createBucket('many-keys')
      for (let i = 0; i < 1005; i += 40) {
        await Promise.all(
          Array.from({ length: Math.min(40, 1005 - i) }, (_, j) =>
            s3.putObject('many-keys', `k/${String(i + j).padStart(5, '0')}`, Buffer.from('')),
          ),
        )
      }
      const all = await s3.listObjects('many-keys', { maxKeys: 2000 })
      assert.equal(all.objects.length, 1005)
      assert.equal(all.nextStartAfter, undefined)
      const some = await s3.listObjects('many-keys', { maxKeys: 1002 })
      assert.equal(some.objects.length, 1002)
      assert.equal(some.nextStartAfter, 'k/01001')
    })
  })
}
