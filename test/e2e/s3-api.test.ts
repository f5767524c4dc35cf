/**
 * The S3 API on OpenTrail's endpoint, driven by the AWS CLI (`aws s3 …`, `aws s3api …`) and by
 * the AWS SDK's S3 client, with the bucket-level calls found again in LookupEvents.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { S3ObjectStore } from '../../src/objectstore/s3-store.js'
import { motoAvailable, startMotoServer } from '../../src/objectstore/testing/moto-server.js'
import { s3Client } from '../helpers/s3.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const haveAws = spawnSync('sh', ['-c', 'command -v aws'], { stdio: 'ignore' }).status === 0

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

describe('S3 API on the OpenTrail endpoint', () => {
  let ts: TestServer
  let s3: S3Client

  /** Runs the AWS CLI against the server with the bootstrap credentials. */
  function aws(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn('aws', ['--endpoint-url', ts.url, ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: ts.dataDir,
          AWS_SHARED_CREDENTIALS_FILE: ts.credentialsFile,
          AWS_CONFIG_FILE: join(ts.dataDir, 'no-aws-config'),
          AWS_PROFILE: 'opentrail',
          AWS_DEFAULT_REGION: 'us-east-1',
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
      child.stdin.end(input ?? '')
    })
  }
  async function ok(args: string[]): Promise<string> {
    const r = await aws(args)
    assert.equal(r.code, 0, `aws ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }
  async function json<T>(args: string[]): Promise<T> {
    return JSON.parse(await ok([...args, '--output', 'json'])) as T
  }

  before(async () => {
    ts = await startTestServer()
    s3 = s3Client(ts.url, ts)
  })
  after(async () => {
    s3.destroy()
    await ts.close()
  })

  describe(
    'with the AWS CLI',
    { skip: haveAws ? false : 'the AWS CLI (aws) is not on PATH' },
    () => {
      it('makes buckets and copies files both ways, including to stdout', async () => {
        assert.match(await ok(['s3', 'mb', 's3://cli-bucket']), /make_bucket: cli-bucket/)
        const again = await aws(['s3', 'mb', 's3://cli-bucket'])
        assert.notEqual(again.code, 0)
        assert.match(again.stderr, /BucketAlreadyOwnedByYou/)

        const small = join(ts.dataDir, 'small.txt')
        await writeFile(small, 'hello from the aws cli\n')
        await ok([
          's3',
          'cp',
          small,
          's3://cli-bucket/docs/small.txt',
          '--no-progress',
          '--metadata',
          'origin=cli,purpose=test',
        ])
        // Over the CLI's multipart threshold (8 MiB): CreateMultipartUpload, UploadPart, Complete.
        const big = join(ts.dataDir, 'big.bin')
        const bigBody = randomBytes(9 * 1024 * 1024 + 123)
        await writeFile(big, bigBody)
        await ok(['s3', 'cp', big, 's3://cli-bucket/data/big.bin', '--no-progress'])

        assert.equal(
          await ok(['s3', 'cp', 's3://cli-bucket/docs/small.txt', '-']),
          'hello from the aws cli\n',
        )
        const back = join(ts.dataDir, 'big.back')
        await ok(['s3', 'cp', 's3://cli-bucket/data/big.bin', back, '--no-progress'])
        assert.ok((await readFile(back)).equals(bigBody))

        const ls = await ok(['s3', 'ls', '--recursive', 's3://cli-bucket'])
        assert.match(ls, /\s23 docs\/small\.txt/)
        assert.match(ls, new RegExp(`\\s${bigBody.length} data/big\\.bin`))
        const top = await ok(['s3', 'ls', 's3://cli-bucket/'])
        assert.match(top, /PRE data\//)
        assert.match(top, /PRE docs\//)
        assert.match(await ok(['s3', 'ls']), /cli-bucket/)
      })

      it('lists, gets and heads objects with s3api, metadata included', async () => {
        const v2 = await json<{ Contents: { Key: string; Size: number }[]; KeyCount: number }>([
          's3api',
          'list-objects-v2',
          '--bucket',
          'cli-bucket',
        ])
        assert.deepEqual(
          v2.Contents.map((o) => o.Key),
          ['data/big.bin', 'docs/small.txt'],
        )
        const v1 = await json<{ Contents: { Key: string }[] }>([
          's3api',
          'list-objects',
          '--bucket',
          'cli-bucket',
          '--marker',
          'data/big.bin',
        ])
        assert.deepEqual(
          v1.Contents.map((o) => o.Key),
          ['docs/small.txt'],
        )
        const out = join(ts.dataDir, 'got.txt')
        const got = await json<{ ContentLength: number; Metadata: Record<string, string> }>([
          's3api',
          'get-object',
          '--bucket',
          'cli-bucket',
          '--key',
          'docs/small.txt',
          out,
        ])
        assert.equal(got.ContentLength, 23)
        assert.equal(await readFile(out, 'utf8'), 'hello from the aws cli\n')
        const head = await json<{ Metadata: Record<string, string>; ETag: string }>([
          's3api',
          'head-object',
          '--bucket',
          'cli-bucket',
          '--key',
          'docs/small.txt',
        ])
        assert.deepEqual(head.Metadata, { origin: 'cli', purpose: 'test' })
        assert.match(head.ETag, /^"[0-9a-f]{32}"$/)
        const missing = await aws([
          's3api',
          'head-object',
          '--bucket',
          'cli-bucket',
          '--key',
          'nope',
        ])
        assert.notEqual(missing.code, 0)
        assert.match(missing.stderr, /404|Not Found/)
      })

      it('reads and writes bucket policy, versioning, public access block and logging', async () => {
        const none = await aws(['s3api', 'get-bucket-policy', '--bucket', 'cli-bucket'])
        assert.notEqual(none.code, 0)
        assert.match(none.stderr, /NoSuchBucketPolicy/)

        const policy = {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AWSCloudTrailWrite',
              Effect: 'Allow',
              Principal: { Service: 'cloudtrail.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: 'arn:aws:s3:::cli-bucket/AWSLogs/*',
            },
          ],
        }
        await ok([
          's3api',
          'put-bucket-policy',
          '--bucket',
          'cli-bucket',
          '--policy',
          JSON.stringify(policy),
        ])
        const got = await json<{ Policy: string }>([
          's3api',
          'get-bucket-policy',
          '--bucket',
          'cli-bucket',
        ])
        assert.deepEqual(JSON.parse(got.Policy), policy)

        assert.equal(
          (await ok(['s3api', 'get-bucket-versioning', '--bucket', 'cli-bucket'])).trim(),
          '',
        )
        await ok([
          's3api',
          'put-bucket-versioning',
          '--bucket',
          'cli-bucket',
          '--versioning-configuration',
          'Status=Enabled',
        ])
        const ver = await json<{ Status: string }>([
          's3api',
          'get-bucket-versioning',
          '--bucket',
          'cli-bucket',
        ])
        assert.equal(ver.Status, 'Enabled')

        const noPab = await aws(['s3api', 'get-public-access-block', '--bucket', 'cli-bucket'])
        assert.match(noPab.stderr, /NoSuchPublicAccessBlockConfiguration/)
        await ok([
          's3api',
          'put-public-access-block',
          '--bucket',
          'cli-bucket',
          '--public-access-block-configuration',
          'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
        ])
        const pab = await json<{ PublicAccessBlockConfiguration: Record<string, boolean> }>([
          's3api',
          'get-public-access-block',
          '--bucket',
          'cli-bucket',
        ])
        assert.deepEqual(pab.PublicAccessBlockConfiguration, {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        })

        await ok(['s3', 'mb', 's3://cli-access-logs'])
        await ok([
          's3api',
          'put-bucket-logging',
          '--bucket',
          'cli-bucket',
          '--bucket-logging-status',
          JSON.stringify({
            LoggingEnabled: { TargetBucket: 'cli-access-logs', TargetPrefix: 'cli/' },
          }),
        ])
        const logging = await json<{
          LoggingEnabled: { TargetBucket: string; TargetPrefix: string }
        }>(['s3api', 'get-bucket-logging', '--bucket', 'cli-bucket'])
        assert.deepEqual(logging.LoggingEnabled, {
          TargetBucket: 'cli-access-logs',
          TargetPrefix: 'cli/',
        })
        const acl = await json<{ Grants: { Permission: string }[] }>([
          's3api',
          'get-bucket-acl',
          '--bucket',
          'cli-bucket',
        ])
        assert.equal(acl.Grants[0]?.Permission, 'FULL_CONTROL')
      })

      it('removes objects and buckets', async () => {
        await ok(['s3', 'mb', 's3://cli-scratch'])
        await ok(['s3', 'cp', '-', 's3://cli-scratch/a/b.txt'])
        const notEmpty = await aws(['s3', 'rb', 's3://cli-scratch'])
        assert.match(notEmpty.stderr, /BucketNotEmpty/)
        await ok(['s3', 'rm', '--recursive', 's3://cli-scratch'])
        await ok(['s3', 'rb', 's3://cli-scratch'])
        assert.doesNotMatch(await ok(['s3', 'ls']), /cli-scratch/)
      })
    },
  )

  describe('with the AWS SDK', () => {
    it('puts, lists, gets and heads objects', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }))
      for (const k of ['AWSLogs/1/a.json.gz', 'AWSLogs/1/b.json.gz', 'readme']) {
        await s3.send(
          new PutObjectCommand({
            Bucket: 'sdk-bucket',
            Key: k,
            Body: `body of ${k}`,
            Metadata: { signature: 'sig-' + k.length },
          }),
        )
      }
      const list = await s3.send(
        new ListObjectsV2Command({ Bucket: 'sdk-bucket', Prefix: 'AWSLogs/' }),
      )
      assert.deepEqual(
        list.Contents?.map((o) => o.Key),
        ['AWSLogs/1/a.json.gz', 'AWSLogs/1/b.json.gz'],
      )
      const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'readme' }))
      assert.equal(await got.Body!.transformToString(), 'body of readme')
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'sdk-bucket', Key: 'readme' }))
      assert.deepEqual(head.Metadata, { signature: 'sig-6' })
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: 'sdk-bucket',
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      )
      const v = await s3.send(new GetBucketVersioningCommand({ Bucket: 'sdk-bucket' }))
      assert.equal(v.Status, 'Suspended')
      // What the S3 API wrote is what trails would read through the port.
      const viaPort = await ts.server.objectStore.getObject('sdk-bucket', 'readme')
      assert.equal(viaPort.body.toString(), 'body of readme')
    })

    it('records bucket-level calls in Event History, and keeps data events out of it', async () => {
      await ts.server.pipeline.drain()
      const ct = ts.client()
      const found = await ct.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 's3.amazonaws.com' }],
          MaxResults: 50,
        }),
      )
      const names = new Set(found.Events?.map((e) => e.EventName))
      for (const n of ['CreateBucket', 'PutBucketVersioning', 'GetBucketVersioning'])
        assert.ok(names.has(n), `${n} missing from ${[...names].join(', ')}`)
      if (haveAws) {
        for (const n of [
          'GetBucketPolicy',
          'PutBucketPolicy',
          'PutPublicAccessBlock',
          'GetPublicAccessBlock',
          'PutBucketLogging',
          'DeleteBucket',
        ])
          assert.ok(names.has(n), `${n} missing from ${[...names].join(', ')}`)
      }
      for (const n of ['PutObject', 'GetObject', 'HeadObject', 'ListObjectsV2'])
        assert.ok(!names.has(n), `data event ${n} is in Event History`)

      const created = found.Events!.find((e) => e.EventName === 'CreateBucket')!
      const record = JSON.parse(created.CloudTrailEvent!) as Record<string, unknown>
      assert.equal(record['eventSource'], 's3.amazonaws.com')
      assert.equal(record['managementEvent'], true)
      assert.equal(record['eventCategory'], 'Management')
      const params = record['requestParameters'] as Record<string, unknown>
      assert.ok(
        ['sdk-bucket', 'cli-bucket', 'cli-access-logs', 'cli-scratch'].includes(
          String(params['bucketName']),
        ),
      )
      assert.equal(params['Host'], ts.url.slice('http://'.length))
      assert.deepEqual(created.Resources?.[0]?.ResourceType, 'AWS::S3::Bucket')
      if (haveAws) {
        const policyMiss = found.Events!.find((e) => {
          const r = JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>
          return e.EventName === 'GetBucketPolicy' && r['errorCode'] === 'NoSuchBucketPolicy'
        })
        assert.ok(
          policyMiss,
          'the failed GetBucketPolicy is recorded with errorCode NoSuchBucketPolicy',
        )
      }
    })
  })
})

describe('trails on an external S3 (config s3 / serve --s3-endpoint)', () => {
  it(
    'selects the S3 adapter and exports it as objectStore',
    { skip: motoAvailable() ? false : 'moto_server is not on PATH (pip install "moto[server]")' },
    async () => {
      const moto = (await startMotoServer())!
      try {
        const ts = await startTestServer({
          s3: {
            endpoint: moto.endpoint,
            accessKeyId: 'testing',
            secretAccessKey: 'testing',
            forcePathStyle: true,
          },
        })
        try {
          assert.ok(ts.server.objectStore instanceof S3ObjectStore)
          await ts.server.objectStore.createBucket('external-trail-bucket')
          await ts.server.objectStore.putObject('external-trail-bucket', 'k', Buffer.from('v'), {
            metadata: { signature: 's' },
          })
          // It is moto that holds the object, not the embedded store behind OpenTrail's S3 API.
          const direct = new S3ObjectStore({
            endpoint: moto.endpoint,
            region: 'us-east-1',
            accessKeyId: 'testing',
            secretAccessKey: 'testing',
          })
          assert.deepEqual((await direct.getObject('external-trail-bucket', 'k')).metadata, {
            signature: 's',
          })
          direct.destroy()
          const s3 = s3Client(ts.url, ts)
          await assert.rejects(
            s3.send(new GetObjectCommand({ Bucket: 'external-trail-bucket', Key: 'k' })),
            /NoSuchBucket|bucket does not exist/,
          )
          s3.destroy()
        } finally {
          await ts.close()
        }
      } finally {
        await moto.stop()
      }
    },
  )

  it('rejects a bad --s3-endpoint with a message', () => {
    const bin = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))
    const r = spawnSync(
      process.execPath,
      [bin, 'serve', '--port', '0', '--s3-endpoint', 'not a url'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    )
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /--s3-endpoint: s3\.endpoint must be a URL/)
  })
})
