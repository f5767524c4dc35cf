/**
 * Trail delivery end to end: a server with a 1 s delivery interval and a 3 s digest interval, a
 * trail with log file validation, calls through the real SDK, and the delivered files read back
 * with plain fs + zlib + JSON.parse (no OpenTrail code).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

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
})
