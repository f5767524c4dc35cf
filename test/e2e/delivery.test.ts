/**
 * Trail delivery end to end, on both object stores: the embedded store (read back through
 * OpenTrail's own S3 API) and the S3 adapter (trails delivering to moto_server). A server with a
 * 1 s delivery interval and a 3 s digest interval, a trail with log file validation, calls through
 * the real SDK; the delivered files are fetched with the AWS SDK's S3 client and read with plain
 * zlib + JSON.parse (no OpenTrail code). Then `opentrail validate-logs` and the AWS CLI's own
 * `aws cloudtrail validate-logs` on the chain: valid; a tampered log file; two consecutive
 * deleted digests.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { commandExists, OPENTRAIL_BIN as BIN, runCommand } from '../helpers/process.js'
import { s3Client } from '../helpers/s3.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const BUCKET = 'delivery-e2e-bucket'

type Variant = 'embedded store, OpenTrail S3 API' | 'S3 adapter, moto_server'

for (const variant of [
  'embedded store, OpenTrail S3 API',
  'S3 adapter, moto_server',
] as Variant[]) {
  describe(`trail delivery (e2e, ${variant})`, () => {
    let ts: TestServer
    let moto: MotoServer | undefined
    let s3: S3Client
    let s3Endpoint: string
    let trailArn: string
    let skip: string | undefined

    before(async () => {
      if (variant === 'S3 adapter, moto_server') {
        moto = await startMotoServer()
        if (!moto) {
          skip = 'moto_server is not on PATH'
          return
        }
        ts = await startTestServer({
          deliveryIntervalSeconds: 1,
          digestIntervalSeconds: 3,
          s3: { endpoint: moto.endpoint, accessKeyId: 'test', secretAccessKey: 'test' },
        })
        s3Endpoint = moto.endpoint
      } else {
        ts = await startTestServer({ deliveryIntervalSeconds: 1, digestIntervalSeconds: 3 })
        s3Endpoint = ts.url
      }
      s3 = s3Client(s3Endpoint, ts)
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
      const client = ts.client()
      const created = await client.send(
        new CreateTrailCommand({
          Name: 'e2e-trail',
          S3BucketName: BUCKET,
          EnableLogFileValidation: true,
        }),
      )
      trailArn = created.TrailARN!
      await client.send(new StartLoggingCommand({ Name: 'e2e-trail' }))
    })
    after(async () => {
      await ts?.close()
      await moto?.stop()
    })

    const listKeys = async (prefix = 'AWSLogs/') => {
      const keys: string[] = []
      let token: string | undefined
      do {
        const r = await s3.send(
          new ListObjectsV2Command({
            Bucket: BUCKET,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        )
        keys.push(...(r.Contents ?? []).map((o) => o.Key!))
        token = r.IsTruncated ? r.NextContinuationToken : undefined
      } while (token)
      return keys.sort()
    }
    const getBytes = async (key: string) =>
      Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
        ).Body!.transformToByteArray(),
      )
    const logKeys = async () => (await listKeys()).filter((k) => k.includes('/CloudTrail/'))
    const digestKeys = async () =>
      (await listKeys()).filter((k) => k.includes('/CloudTrail-Digest/'))
    const records = async (key: string) =>
      (
        JSON.parse(gunzipSync(await getBytes(key)).toString()) as {
          Records: Record<string, unknown>[]
        }
      ).Records

    it('delivers the calls made while logging as gzipped {"Records":[...]} files', async (t) => {
      if (skip) return t.skip(skip)
      const client = ts.client()
      const described = await client.send(new DescribeTrailsCommand({}))
      const requestId = described.$metadata.requestId!
      const found = await waitFor('the DescribeTrails record in a log file', async () => {
        for (const key of await logKeys()) {
          const r = (await records(key)).find((x) => x['requestID'] === requestId)
          if (r) return { key, r }
        }
        return undefined
      })
      const account = trailArn.split(':')[4]!
      assert.match(
        found.key,
        new RegExp(
          `^AWSLogs/${account}/CloudTrail/us-east-1/\\d{4}/\\d{2}/\\d{2}/${account}_CloudTrail_us-east-1_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
        ),
      )
      assert.equal(found.r['eventName'], 'DescribeTrails')
      assert.equal(found.r['eventSource'], 'cloudtrail.amazonaws.com')
      // The StartLogging call itself is in the trail's files too, and nothing appears twice.
      const all: Record<string, unknown>[] = []
      for (const key of await logKeys()) all.push(...(await records(key)))
      assert.ok(all.some((r) => r['eventName'] === 'StartLogging'))
      assert.ok(
        !all.some((r) => r['eventName'] === 'CreateTrail'),
        'not logged before StartLogging',
      )
      const ids = all.map((r) => r['eventID'])
      assert.equal(new Set(ids).size, ids.length)
    })

    it('writes signed digests and reports delivery in GetTrailStatus', async (t) => {
      if (skip) return t.skip(skip)
      const client = ts.client()
      const digests = await waitFor('two digest files', async () => {
        const ks = await digestKeys()
        return ks.length >= 2 ? ks : undefined
      })
      const account = trailArn.split(':')[4]!
      assert.match(
        digests[0]!,
        new RegExp(
          `^AWSLogs/${account}/CloudTrail-Digest/us-east-1/\\d{4}/\\d{2}/\\d{2}/${account}_CloudTrail-Digest_us-east-1_e2e-trail_us-east-1_\\d{8}T\\d{6}Z\\.json\\.gz$`,
        ),
      )
      const status = await client.send(new GetTrailStatusCommand({ Name: 'e2e-trail' }))
      assert.equal(status.IsLogging, true)
      assert.ok(status.LatestDeliveryTime instanceof Date)
      assert.ok(status.LatestDigestDeliveryTime instanceof Date)
      assert.equal(status.LatestDeliveryError, undefined)
      assert.match(
        status.LatestDeliveryAttemptSucceeded ?? '',
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
      )

      const keys = await client.send(new ListPublicKeysCommand({}))
      assert.equal(keys.PublicKeyList?.length, 1)
      const k = keys.PublicKeyList![0]!
      const der = Buffer.from(k.Value!)
      assert.equal(k.Fingerprint, createHash('md5').update(der).digest('hex'))
      const newest = digests.at(-1)!
      const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: newest }))
      assert.equal(obj.Metadata?.['signature-algorithm'], 'SHA256withRSA')
      assert.match(obj.Metadata?.['signature'] ?? '', /^[0-9a-f]{512}$/)
      const digest = JSON.parse(
        gunzipSync(Buffer.from(await obj.Body!.transformToByteArray())).toString(),
      ) as Record<string, unknown>
      assert.equal(digest['digestPublicKeyFingerprint'], k.Fingerprint)
      assert.equal(digest['digestSignatureAlgorithm'], 'SHA256withRSA')
      assert.equal(digest['digestS3Object'], newest)
    })

    describe('validate-logs', () => {
      let digests: string[] = []
      let logs: string[] = []

      before(async () => {
        if (skip) return
        const client = ts.client()
        await waitFor('four digest files', async () =>
          (await digestKeys()).length >= 4 ? true : undefined,
        )
        const stoppedAt = new Date()
        await client.send(new StopLoggingCommand({ Name: 'e2e-trail' }))
        // The chain ends with one last digest, after a grace period (2 delivery intervals + 3 s)
        // for records still in the pipeline.
        await waitFor('the final digest', async () => {
          const st = await client.send(new GetTrailStatusCommand({ Name: 'e2e-trail' }))
          return st.LatestDigestDeliveryTime &&
            st.LatestDigestDeliveryTime.getTime() > stoppedAt.getTime() + 4000
            ? true
            : undefined
        })
        digests = await digestKeys()
        logs = await logKeys()
      })

      const validate = (extra: string[] = []) =>
        runCommand(
          process.execPath,
          [
            BIN,
            'validate-logs',
            '--trail-arn',
            trailArn,
            '--start-time',
            new Date(Date.now() - 3600_000).toISOString(),
            '--endpoint-url',
            ts.url,
            // The embedded case relies on the default: S3 on the OpenTrail endpoint.
            ...(moto ? ['--s3-endpoint-url', moto.endpoint] : []),
            '--data-dir',
            ts.dataDir,
            '--no-progress',
            ...extra,
          ],
          // Credentials come from the data directory's profile, as for a fresh user.
          {
            AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
            AWS_CONFIG_FILE: '/nonexistent',
            AWS_ACCESS_KEY_ID: undefined,
            AWS_SECRET_ACCESS_KEY: undefined,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            AWS_ENDPOINT_URL: undefined,
            AWS_ENDPOINT_URL_S3: undefined,
            AWS_ENDPOINT_URL_CLOUDTRAIL: undefined,
          },
        )

      it('opentrail validate-logs reports the delivered chain valid', async (t) => {
        if (skip) return t.skip(skip)
        const r = await validate(['--verbose'])
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.match(r.stdout, /^Validating log files for trail arn:aws:cloudtrail:us-east-1:/)
        for (const k of digests) {
          assert.ok(r.stdout.includes(`Digest file\ts3://${BUCKET}/${k}\tvalid`), k)
        }
        for (const k of logs) {
          assert.ok(r.stdout.includes(`Log file\ts3://${BUCKET}/${k}\tvalid`), k)
        }
        const n = digests.length
        assert.ok(r.stdout.includes(`${n}/${n} digest files valid`), r.stdout)
        assert.ok(r.stdout.includes(`${logs.length}/${logs.length} log files valid`))
        assert.equal(r.stderr, '')
      })

      it("is accepted by the AWS CLI's own validate-logs", async (t) => {
        if (skip) return t.skip(skip)
        if (!(await commandExists('aws'))) return t.skip('aws is not on PATH')
        const r = await runCommand(
          'aws',
          [
            'cloudtrail',
            'validate-logs',
            '--trail-arn',
            trailArn,
            '--start-time',
            new Date(Date.now() - 3600_000).toISOString(),
            '--verbose',
          ],
          {
            AWS_ENDPOINT_URL_CLOUDTRAIL: ts.url,
            AWS_ENDPOINT_URL_S3: s3Endpoint,
            AWS_ACCESS_KEY_ID: ts.accessKeyId,
            AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
            AWS_CONFIG_FILE: '/nonexistent',
          },
        )
        assert.equal(r.code, 0, r.stdout + r.stderr)
        const n = digests.length
        assert.ok(r.stdout.includes(`${n}/${n} digest files valid`), `${r.stdout}\n${r.stderr}`)
        assert.ok(r.stdout.includes(`${logs.length}/${logs.length} log files valid`))
      })

      it('reports a tampered log file INVALID with a non-zero exit (both validators)', async (t) => {
        if (skip) return t.skip(skip)
        const key = logs[0]!
        const original = await getBytes(key)
        const body = JSON.parse(gunzipSync(original).toString()) as {
          Records: Record<string, unknown>[]
        }
        body.Records[0]!['sourceIPAddress'] = '203.0.113.66'
        await s3.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync(JSON.stringify(body)) }),
        )
        try {
          const line = `Log file\ts3://${BUCKET}/${key}\tINVALID: hash value doesn't match`
          const r = await validate()
          assert.equal(r.code, 1, r.stdout + r.stderr)
          assert.ok(r.stderr.includes(line), r.stderr)
          assert.match(r.stdout, /1\/\d+ log files INVALID/)
          if (await commandExists('aws')) {
            const a = await runCommand(
              'aws',
              [
                'cloudtrail',
                'validate-logs',
                '--trail-arn',
                trailArn,
                '--start-time',
                new Date(Date.now() - 3600_000).toISOString(),
              ],
              {
                AWS_ENDPOINT_URL_CLOUDTRAIL: ts.url,
                AWS_ENDPOINT_URL_S3: s3Endpoint,
                AWS_ACCESS_KEY_ID: ts.accessKeyId,
                AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
                AWS_SESSION_TOKEN: undefined,
                AWS_PROFILE: undefined,
                AWS_DEFAULT_REGION: 'us-east-1',
                AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
                AWS_CONFIG_FILE: '/nonexistent',
              },
            )
            assert.equal(a.code, 1, a.stdout + a.stderr)
            assert.ok(a.stderr.includes(line), a.stderr)
          }
        } finally {
          await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }))
        }
      })

      it('detects two consecutive deleted digests', async (t) => {
        if (skip) return t.skip(skip)
        // Two digests in the middle of the chain (neither the first nor the last).
        const [older, newer] = [digests[1]!, digests[2]!]
        for (const k of [older, newer]) {
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }))
        }
        const r = await validate()
        assert.equal(r.code, 1, r.stdout + r.stderr)
        assert.ok(r.stderr.includes(`Digest file\ts3://${BUCKET}/${newer}\tINVALID: not found`))
        assert.match(
          r.stderr,
          /INVALID: not found: 1 more digest file\(s\) between .* were deleted/,
        )
        assert.match(r.stdout, /, 2\/\d+ digest files INVALID/)
      })
    })
  })
}
