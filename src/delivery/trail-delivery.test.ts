import { afterEach, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Trail } from '../domains/trails/model.js'
import type { CloudTrailRecord } from '../events/record.js'
import { LocalObjectStore } from '../objectstore/local-store.js'
import type { ObjectStore } from '../objectstore/port.js'
import type { LogEntry } from '../pipeline/event-log.js'
import { createLogger } from '../telemetry/logger.js'
import {
  publicKeyFromPkcs1Der,
  sha256Hex,
  stringToSign,
  verifyHex,
  type DigestFile,
} from '../digest/digest-file.js'
import { SigningKeyStore } from '../digest/keystore.js'
import { TEST_ACCOUNT, TEST_T0, testTrail } from '../digest/testing.js'
import { deliveryNotification, TrailDelivery, type TrailDeliveryOptions } from './trail-delivery.js'

const ACCOUNT = TEST_ACCOUNT
const T0 = TEST_T0
const makeTrail = testTrail

let seq = 0
function entry(over: Partial<CloudTrailRecord> = {}, time = T0 + 1000): LogEntry {
  const n = seq++
  return {
    seq: n,
    record: {
      eventVersion: '1.11',
      userIdentity: { type: 'IAMUser', accountId: ACCOUNT },
      eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: `Call${n}`,
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      requestParameters: null,
      responseElements: null,
      eventID: `id-${n}`,
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
      ...over,
    },
  }
}

async function allObjects(store: ObjectStore, bucket: string, prefix = '') {
  const out: string[] = []
  let startAfter: string | undefined
  for (;;) {
    const r = await store.listObjects(bucket, { prefix, ...(startAfter ? { startAfter } : {}) })
    out.push(...r.objects.map((o) => o.key))
    if (!r.nextStartAfter) return out
    startAfter = r.nextStartAfter
  }
}

async function records(store: ObjectStore, bucket: string): Promise<CloudTrailRecord[]> {
  const keys = (await allObjects(store, bucket)).filter((k) => k.includes('/CloudTrail/'))
  const out: CloudTrailRecord[] = []
  for (const k of keys) {
    const o = await store.getObject(bucket, k)
    out.push(
      ...(JSON.parse(gunzipSync(o.body).toString()) as { Records: CloudTrailRecord[] }).Records,
    )
  }
  return out
}

describe('trail delivery sink', () => {
  let dir: string
  let store: LocalObjectStore
  let keys: SigningKeyStore
  let now: number
  const clock = { now: () => new Date(now) }
  let trails: Trail[]

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-delivery-'))
    store = await LocalObjectStore.open(join(dir, 'buckets'))
    await store.createBucket('logs')
    now = T0 + 2000
    keys = await SigningKeyStore.open(join(dir, 'keys'), clock, { rotationSeconds: 86400 })
    trails = [makeTrail()]
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const open = (over: Partial<TrailDeliveryOptions> = {}) =>
    TrailDelivery.open({
      dir: join(dir, 'delivery'),
      store,
      trails: { all: () => trails },
      keys,
      clock,
      logger: createLogger('silent'),
      deliveryIntervalSeconds: 1,
      digestIntervalSeconds: 60,
      ...over,
    })

  it('delivers routed records as {"Records":[...]} gzip in the AWS layout, with status', async () => {
    const d = await open()
    const es = [
      entry(),
      entry({ awsRegion: 'eu-west-1' }),
      entry({
        recipientAccountId: '999999999999',
        userIdentity: { type: 'IAMUser', accountId: '999999999999' },
      }),
      entry(),
    ]
    const matched = es.filter((e) => d.accepts(e.record))
    assert.equal(matched.length, 2)
    await d.write(matched, es.at(-1)!.seq + 1)
    assert.equal(await d.checkpoint(), es.at(-1)!.seq + 1)
    await d.flush()
    const keysList = await allObjects(store, 'logs', 'AWSLogs/')
    const logs = keysList.filter((k) => k.includes('/CloudTrail/'))
    assert.equal(logs.length, 1)
    assert.match(
      logs[0]!,
      /^AWSLogs\/111122223333\/CloudTrail\/us-east-1\/2024\/01\/01\/111122223333_CloudTrail_us-east-1_20240101T0000Z_[A-Za-z0-9]{16}\.json\.gz$/,
    )
    const obj = await store.getObject('logs', logs[0]!)
    assert.equal(obj.contentType, 'application/json')
    const got = await records(store, 'logs')
    assert.deepEqual(
      got.map((r) => r.eventID),
      matched.map((e) => e.record.eventID),
    )
    const st = d.status(trails[0]!)
    assert.equal(st.latestDeliveryTime, new Date(now).toISOString())
    assert.equal(st.latestDeliveryAttemptSucceeded, new Date(now).toISOString())
    assert.equal(d.backlog(), 0)
    await d.close()
  })

  it('tells onLogFileDelivered of each delivered file, and survives a failing hook', async () => {
    const told: { trail: string; bucket: string; keys: string[] }[] = []
    const d = await open({
      onLogFileDelivered: (trail, bucket, keys) => {
        told.push({ trail: trail.name, bucket, keys })
        if (told.length === 1) throw new Error('subscriber down')
      },
    })
    await d.write([entry()], seq)
    await d.flush()
    now += 2000
    await d.write([entry()], seq)
    await d.flush()
    const logs = (await allObjects(store, 'logs', 'AWSLogs/')).filter((k) =>
      k.includes('/CloudTrail/'),
    )
    assert.equal(logs.length, 2)
    assert.deepEqual(
      told
        .map((x) => ({ ...x, keys: [...x.keys] }))
        .sort((a, b) => (a.keys[0]! < b.keys[0]! ? -1 : 1)),
      logs.sort().map((k) => ({ trail: 'audit', bucket: 'logs', keys: [k] })),
    )
    assert.deepEqual(deliveryNotification('logs', [logs[0]!]), {
      s3Bucket: 'logs',
      s3ObjectKey: [logs[0]!],
    })
    assert.equal(d.backlog(), 0)
    await d.close()
  })

  it('persists the checkpoint of batches that matched nothing lazily, at the next pass', async () => {
    const d = await open()
    await d.write([], 10)
    assert.equal(await d.checkpoint(), 0)
    await d.tick()
    assert.equal(await d.checkpoint(), 10)
    await d.write([], 20)
    await d.close()
    assert.equal(await (await open()).checkpoint(), 20)
  })

  it('does not route records of a stopped trail, nor from before logging started', async () => {
    trails = [makeTrail({ isLogging: false, stopLoggingTime: new Date(T0 + 5000).toISOString() })]
    const d = await open()
    assert.equal(d.accepts(entry({}, T0 + 3000).record), true)
    assert.equal(d.accepts(entry({}, T0 + 9000).record), false)
    trails = [makeTrail({ startLoggingTime: new Date(T0 + 10_000).toISOString() })]
    assert.equal(d.accepts(entry({}, T0 + 3000).record), false)
    assert.equal(d.accepts(entry({}, T0 + 10_000).record), true)
    await d.close()
  })

  it('splits batches at the file size limit', async () => {
    const d = await open({ maxFileBytes: 2000 })
    const es = Array.from({ length: 20 }, () => entry())
    await d.write(es, es.at(-1)!.seq + 1)
    await d.flush()
    const logs = (await allObjects(store, 'logs')).filter((k) => k.includes('/CloudTrail/'))
    assert.ok(logs.length > 1, `expected several files, got ${logs.length}`)
    const got = await records(store, 'logs')
    assert.deepEqual(got.map((r) => r.eventID).sort(), es.map((e) => e.record.eventID).sort())
    await d.close()
  })

  it('writes each record once when a crash falls between the object write and the commit', async () => {
    let crash = true
    const crashing: ObjectStore = Object.create(store) as ObjectStore
    crashing.putObject = async (b, k, body, opts) => {
      await store.putObject(b, k, body, opts)
      if (crash) throw new Error('simulated crash after put')
    }
    const d1 = await open({ store: crashing })
    const es = Array.from({ length: 5 }, () => entry())
    await d1.write(es, es.at(-1)!.seq + 1)
    await d1.flush()
    assert.equal(d1.backlog(), 5, 'the batch is still pending after the failed commit')
    // "Restart": a new sink over the same state directory.
    crash = false
    now += 60_000
    const d2 = await open()
    await d2.flush()
    assert.equal(d2.backlog(), 0)
    const logs = (await allObjects(store, 'logs')).filter((k) => k.includes('/CloudTrail/'))
    assert.equal(logs.length, 1)
    assert.equal((await records(store, 'logs')).length, 5)
  })

  it('cuts spool bytes whose commit never happened', async () => {
    const d1 = await open()
    const es = [entry(), entry()]
    await d1.write(es, es.at(-1)!.seq + 1)
    // A torn append: bytes after the committed length, as if the process died before committing.
    const spoolDir = join(dir, 'delivery', 'spool')
    const [trailKey] = await readdir(spoolDir)
    const file = join(spoolDir, trailKey!, 'us-east-1', '000000000000.ndjson')
    await appendFile(file, JSON.stringify(entry().record) + '\n')
    const d2 = await open()
    assert.equal(await d2.checkpoint(), es.at(-1)!.seq + 1)
    await d2.flush()
    assert.equal((await records(store, 'logs')).length, 2)
  })

  it('retries a missing bucket with backoff, reports the error, and catches up', async () => {
    trails = [makeTrail({ s3BucketName: 'later' })]
    const d = await open()
    const es = [entry(), entry()]
    await d.write(es, es.at(-1)!.seq + 1)
    await d.tick()
    now += 1000
    await d.tick()
    const st = d.status(trails[0]!)
    assert.equal(st.latestDeliveryError, 'NoSuchBucket')
    assert.equal(st.latestDeliveryAttemptSucceeded, undefined)
    assert.equal(st.latestDeliveryAttemptTime, new Date(now).toISOString())
    assert.equal(st.latestDeliveryTime, undefined)
    assert.equal(d.backlog(), 2)
    await store.createBucket('later')
    now += 600_000
    await d.tick()
    assert.equal(d.backlog(), 0)
    assert.equal((await records(store, 'later')).length, 2)
    const after = d.status(trails[0]!)
    assert.equal(after.latestDeliveryError, undefined)
    assert.equal(after.latestDeliveryAttemptSucceeded, new Date(now).toISOString())
    await d.close()
  })

  it('writes a signed digest chain, one per interval, including empty intervals', async () => {
    const d = await open({ digestIntervalSeconds: 60 })
    await d.tick() // starts the chain at T0+2s
    const es = [entry(), entry()]
    await d.write(es, es.at(-1)!.seq + 1)
    now = T0 + 30_000
    await d.flush() // delivers the log file
    now = T0 + 61_000
    await d.tick() // digest [T0+2s, T0+60s]
    now = T0 + 125_000
    await d.tick() // digest [T0+60s, T0+120s], empty
    const digestKeys = (await allObjects(store, 'logs')).filter((k) =>
      k.includes('CloudTrail-Digest'),
    )
    assert.deepEqual(
      digestKeys.map((k) => k.slice(-24, -8)),
      ['20240101T000100Z', '20240101T000200Z'],
    )
    const logKey = (await allObjects(store, 'logs')).find((k) => k.includes('/CloudTrail/'))!
    const logBody = gunzipSync((await store.getObject('logs', logKey)).body)
    const [first, second] = await Promise.all(
      digestKeys.map(async (k) => {
        const o = await store.getObject('logs', k)
        const raw = gunzipSync(o.body)
        return { key: k, raw, json: JSON.parse(raw.toString()) as DigestFile, meta: o.metadata }
      }),
    )
    assert.equal(first!.json.digestStartTime, '2024-01-01T00:00:02Z')
    assert.equal(first!.json.digestEndTime, '2024-01-01T00:01:00Z')
    assert.equal(first!.json.previousDigestSignature, null)
    assert.equal(first!.json.previousDigestS3Object, null)
    assert.equal(first!.json.logFiles.length, 1)
    assert.deepEqual(first!.json.logFiles[0], {
      s3Bucket: 'logs',
      s3Object: logKey,
      hashValue: sha256Hex(logBody),
      hashAlgorithm: 'SHA-256',
      newestEventTime: '2024-01-01T00:00:01Z',
      oldestEventTime: '2024-01-01T00:00:01Z',
    })
    assert.equal(first!.json.digestS3Object, first!.key)
    assert.equal(first!.json.digestSignatureAlgorithm, 'SHA256withRSA')
    assert.equal(first!.meta['signature-algorithm'], 'SHA256withRSA')
    assert.equal(second!.json.digestStartTime, '2024-01-01T00:01:00Z')
    assert.deepEqual(second!.json.logFiles, [])
    assert.equal(second!.json.newestEventTime, null)
    assert.equal(second!.json.previousDigestS3Object, first!.key)
    assert.equal(second!.json.previousDigestHashValue, sha256Hex(first!.raw))
    assert.equal(second!.json.previousDigestSignature, first!.meta['signature'])
    const [pub] = keys.publicKeys('us-east-1', new Date(T0), new Date(now))
    assert.equal(pub!.fingerprint, first!.json.digestPublicKeyFingerprint)
    for (const dgst of [first!, second!]) {
      const ok = verifyHex(
        publicKeyFromPkcs1Der(pub!.publicKeyDer),
        stringToSign(dgst.json, dgst.raw),
        dgst.meta['signature']!,
      )
      assert.ok(ok, `signature of ${dgst.key}`)
    }
    assert.ok(d.status(trails[0]!).latestDigestDeliveryTime)
    await d.close()
  })

  it('ends a chain with one last digest after a grace period when logging stops', async () => {
    const d = await open({ digestIntervalSeconds: 60 }) // grace: 2 x 1 s + 3 s
    await d.tick()
    now = T0 + 61_000
    await d.tick()
    trails = [makeTrail({ isLogging: false, stopLoggingTime: new Date(now).toISOString() })]
    now = T0 + 70_000
    await d.tick()
    now = T0 + 74_000
    await d.tick()
    const digests = async () =>
      (await allObjects(store, 'logs'))
        .filter((k) => k.includes('CloudTrail-Digest'))
        .map((k) => k.slice(-24, -8))
    assert.deepEqual(await digests(), ['20240101T000100Z'])
    now = T0 + 76_000
    await d.tick()
    now = T0 + 200_000
    await d.tick()
    assert.deepEqual(await digests(), ['20240101T000100Z', '20240101T000116Z'])
    await d.close()
  })

  it('continues the chain when logging resumes within the grace period', async () => {
    const d = await open({ digestIntervalSeconds: 60 })
    await d.tick()
    now = T0 + 61_000
    await d.tick()
    const logging = trails[0]!
    trails = [makeTrail({ isLogging: false, stopLoggingTime: new Date(now).toISOString() })]
    now = T0 + 62_000
    await d.tick()
    trails = [logging]
    now = T0 + 121_000
    await d.tick()
    const keys = (await allObjects(store, 'logs')).filter((k) => k.includes('CloudTrail-Digest'))
    assert.equal(keys.length, 2)
    const second = JSON.parse(
      gunzipSync((await store.getObject('logs', keys[1]!)).body).toString(),
    ) as DigestFile
    assert.equal(second.previousDigestS3Object, keys[0])
    await d.close()
  })
})
