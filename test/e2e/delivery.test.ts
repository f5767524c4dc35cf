/**
 * Trail delivery end to end: a server with a 1 s delivery interval and a 3 s digest interval, a
 * trail with log file validation, calls through the real SDK, and the delivered files read back
 * with plain fs + zlib + JSON.parse (no OpenTrail code).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
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
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { fileURLToPath } from 'node:url'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command; `env` entries set to undefined are removed from the environment. */
function runCommand(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<Run> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: merged, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const commandExists = (cmd: string) =>
  runCommand('sh', ['-c', `command -v ${cmd}`], {}).then((r) => r.code === 0)

const BUCKET = 'delivery-e2e-bucket'

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(p)))
    else out.push(p)
  }
  return out
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('trail delivery (e2e)', () => {
  let ts: TestServer
  let bucketDir: string
  let trailArn: string

  before(async () => {
    ts = await startTestServer({ deliveryIntervalSeconds: 1, digestIntervalSeconds: 3 })
    await ts.server.objectStore.createBucket(BUCKET)
    bucketDir = join(ts.dataDir, 'buckets', BUCKET)
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
    await ts.close()
  })

  const logFiles = async () =>
    (await walk(bucketDir))
      .map((p) => relative(bucketDir, p))
      .filter((k) => /\/CloudTrail\/.*\.json\.gz$/.test(k))

  it('delivers the calls made while logging as gzipped {"Records":[...]} files', async () => {
    const client = ts.client()
    const described = await client.send(new DescribeTrailsCommand({}))
    const requestId = described.$metadata.requestId!
    const record = await waitFor('the DescribeTrails record in a log file', async () => {
      for (const key of await logFiles()) {
        const body = JSON.parse(gunzipSync(await readFile(join(bucketDir, key))).toString()) as {
          Records: Record<string, unknown>[]
        }
        const r = body.Records.find((x) => x['requestID'] === requestId)
        if (r) return { key, r }
      }
      return undefined
    })
    const account = trailArn.split(':')[4]!
    assert.match(
      record.key,
      new RegExp(
        `^AWSLogs/${account}/CloudTrail/us-east-1/\\d{4}/\\d{2}/\\d{2}/${account}_CloudTrail_us-east-1_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
      ),
    )
    assert.equal(record.r['eventName'], 'DescribeTrails')
    assert.equal(record.r['eventSource'], 'cloudtrail.amazonaws.com')
    // The StartLogging call itself is in the trail's files too, and nothing appears twice.
    const all: Record<string, unknown>[] = []
    for (const key of await logFiles()) {
      all.push(
        ...(
          JSON.parse(gunzipSync(await readFile(join(bucketDir, key))).toString()) as {
            Records: Record<string, unknown>[]
          }
        ).Records,
      )
    }
    assert.ok(all.some((r) => r['eventName'] === 'StartLogging'))
    assert.ok(!all.some((r) => r['eventName'] === 'CreateTrail'), 'not logging before StartLogging')
    const ids = all.map((r) => r['eventID'])
    assert.equal(new Set(ids).size, ids.length)
  })

  it('writes signed digests and reports delivery in GetTrailStatus', async () => {
    const client = ts.client()
    const digests = await waitFor('two digest files', async () => {
      const ks = (await walk(bucketDir))
        .map((p) => relative(bucketDir, p))
        .filter((k) => k.includes('/CloudTrail-Digest/') && k.endsWith('.json.gz'))
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
    const digest = JSON.parse(
      gunzipSync(await readFile(join(bucketDir, digests.at(-1)!))).toString(),
    ) as Record<string, unknown>
    assert.equal(digest['digestPublicKeyFingerprint'], k.Fingerprint)
    assert.equal(digest['digestSignatureAlgorithm'], 'SHA256withRSA')
  })

  describe('validate-logs', () => {
    let moto: MotoServer | undefined
    let s3: S3Client
    let stoppedAt: Date
    let digestKeys: string[] = []
    let logKeys: string[] = []

    before(async () => {
      moto = await startMotoServer()
      if (!moto) return
      const client = ts.client()
      await waitFor('four digest files', async () => {
        const ks = (await walk(bucketDir)).filter(
          (p) => p.includes('/CloudTrail-Digest/') && p.endsWith('.json.gz'),
        )
        return ks.length >= 4 ? ks : undefined
      })
      stoppedAt = new Date()
      await client.send(new StopLoggingCommand({ Name: 'e2e-trail' }))
      // The chain ends with one last digest once the last log file is delivered.
      await waitFor('the final digest', async () => {
        const st = await client.send(new GetTrailStatusCommand({ Name: 'e2e-trail' }))
        // (after a grace period of 2 delivery intervals + 3 s for records still in the pipeline)
        return st.LatestDigestDeliveryTime &&
          st.LatestDigestDeliveryTime.getTime() > stoppedAt.getTime() + 4000
          ? true
          : undefined
      })
      // The S3 side is served by moto: a copy of the embedded bucket, metadata included.
      s3 = new S3Client({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      })
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
      let startAfter: string | undefined
      for (;;) {
        const page = await ts.server.objectStore.listObjects(BUCKET, {
          ...(startAfter ? { startAfter } : {}),
        })
        for (const o of page.objects) {
          const obj = await ts.server.objectStore.getObject(BUCKET, o.key)
          await s3.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: o.key,
              Body: obj.body,
              Metadata: obj.metadata,
              ...(obj.contentType ? { ContentType: obj.contentType } : {}),
            }),
          )
          if (o.key.includes('/CloudTrail-Digest/')) digestKeys.push(o.key)
          else if (o.key.includes('/CloudTrail/')) logKeys.push(o.key)
        }
        if (!page.nextStartAfter) break
        startAfter = page.nextStartAfter
      }
      digestKeys = digestKeys.sort()
      logKeys = logKeys.sort()
    })
    after(async () => {
      await moto?.stop()
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
          '--s3-endpoint-url',
          moto!.endpoint,
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
        },
      )

    it('reports the delivered chain valid', async (t) => {
      if (!moto) return t.skip('moto_server is not on PATH')
      const r = await validate(['--verbose'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stdout, /^Validating log files for trail arn:aws:cloudtrail:us-east-1:/)
      for (const k of digestKeys) {
        assert.ok(r.stdout.includes(`Digest file\ts3://${BUCKET}/${k}\tvalid`), k)
      }
      for (const k of logKeys) {
        assert.ok(r.stdout.includes(`Log file\ts3://${BUCKET}/${k}\tvalid`), k)
      }
      const n = digestKeys.length
      assert.ok(r.stdout.includes(`${n}/${n} digest files valid`), r.stdout)
      assert.ok(r.stdout.includes(`${logKeys.length}/${logKeys.length} log files valid`))
      assert.equal(r.stderr, '')
    })

    it("is accepted by the AWS CLI's own validate-logs", async (t) => {
      if (!moto) return t.skip('moto_server is not on PATH')
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
          AWS_ENDPOINT_URL_S3: moto.endpoint,
          AWS_ACCESS_KEY_ID: ts.accessKeyId,
          AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_CONFIG_FILE: '/nonexistent',
        },
      )
      assert.equal(r.code, 0, r.stdout + r.stderr)
      const n = digestKeys.length
      assert.ok(r.stdout.includes(`${n}/${n} digest files valid`), `${r.stdout}\n${r.stderr}`)
      assert.ok(r.stdout.includes(`${logKeys.length}/${logKeys.length} log files valid`))
    })

    it('reports a tampered log file INVALID with a non-zero exit', async (t) => {
      if (!moto) return t.skip('moto_server is not on PATH')
      const key = logKeys[0]!
      const original = Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
        ).Body!.transformToByteArray(),
      )
      const body = JSON.parse(gunzipSync(original).toString()) as {
        Records: Record<string, unknown>[]
      }
      body.Records[0]!['sourceIPAddress'] = '203.0.113.66'
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync(JSON.stringify(body)) }),
      )
      try {
        const r = await validate()
        assert.equal(r.code, 1, r.stdout + r.stderr)
        assert.ok(
          r.stderr.includes(`Log file\ts3://${BUCKET}/${key}\tINVALID: hash value doesn't match`),
          r.stderr,
        )
        assert.match(r.stdout, /1\/\d+ log files INVALID/)
      } finally {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }))
      }
    })

    it('detects two consecutive deleted digests', async (t) => {
      if (!moto) return t.skip('moto_server is not on PATH')
      // Two digests in the middle of the chain (neither the first nor the last).
      const [older, newer] = [digestKeys[1]!, digestKeys[2]!]
      for (const k of [older, newer]) {
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }))
      }
      const r = await validate(['--verbose'])
      assert.equal(r.code, 1, `${digestKeys.join('\n')}\n${r.stdout}${r.stderr}`)
      assert.ok(r.stderr.includes(`Digest file\ts3://${BUCKET}/${newer}\tINVALID: not found`))
      assert.match(r.stderr, /INVALID: not found: 1 more digest file\(s\) between .* were deleted/)
      assert.match(r.stdout, /, 2\/\d+ digest files INVALID/)
    })
  })
})
