import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { LocalObjectStore } from '../objectstore/local-store.js'
import type { ObjectStore } from '../objectstore/port.js'
import { createLogger } from '../telemetry/logger.js'
import { TrailDelivery } from '../delivery/trail-delivery.js'
import { fingerprintOf, signHex, stringToSign, type DigestFile } from './digest-file.js'
import { SigningKeyStore } from './keystore.js'
import { TEST_ACCOUNT, TEST_T0, testTrail } from './testing.js'
import { DigestTraverser } from './validate.js'
import type { ValidationSource, ValidationTarget } from './validation-events.js'

const ACCOUNT = TEST_ACCOUNT
const T0 = TEST_T0
const BUCKET = 'logs'

function storeSource(store: ObjectStore, keys: SigningKeyStore): ValidationSource {
  return {
    async *listKeys(bucket, prefix, startAfter) {
      let after: string | undefined = startAfter
      for (;;) {
        const r = await store.listObjects(bucket, {
          prefix,
          ...(after ? { startAfter: after } : {}),
        })
        for (const o of r.objects) yield o.key
        if (!r.nextStartAfter) return
        after = r.nextStartAfter
      }
    },
    async getObject(bucket, key) {
      const o = await store.getObject(bucket, key)
      return { body: o.body, metadata: o.metadata }
    },
    async *listObjects(bucket, prefix) {
      let after: string | undefined
      for (;;) {
        const r = await store.listObjects(bucket, {
          prefix,
          ...(after ? { startAfter: after } : {}),
        })
        for (const o of r.objects) yield { key: o.key, lastModified: o.lastModified }
        if (!r.nextStartAfter) return
        after = r.nextStartAfter
      }
    },
    async publicKeys(start, end) {
      return new Map(
        keys.publicKeys('us-east-1', start, end).map((k) => [k.fingerprint, k.publicKeyDer]),
      )
    },
  }
}

/** The `audit` trail's target over the chain's six minutes (and a little after). */
function auditTarget(over: Partial<ValidationTarget> = {}): ValidationTarget {
  return {
    accountId: ACCOUNT,
    trailName: 'audit',
    homeRegion: 'us-east-1',
    sourceRegion: 'us-east-1',
    bucket: BUCKET,
    start: new Date(T0),
    end: new Date(T0 + 400_000),
    ...over,
  }
}

/** The store and signing keys of a chain built in `dir`, the keys' clock standing at `now`. */
async function openChain(dir: string, now: number, rotationSeconds: number) {
  const store = await LocalObjectStore.open(join(dir, 'buckets'))
  const keys = await SigningKeyStore.open(
    join(dir, 'keys'),
    { now: () => new Date(now) },
    { rotationSeconds },
  )
  return { store, keys }
}

/**
 * A 6-minute chain: one digest per minute, each listing one log file. With more trail names, each
 * trail delivers its own files and digests to the same bucket and folders.
 */
async function buildChain(
  dir: string,
  rotationSeconds = 86_400,
  names: string[] = ['audit'],
): Promise<void> {
  let now = T0 + 2000
  const clock = { now: () => new Date(now) }
  const store = await LocalObjectStore.open(join(dir, 'buckets'))
  await store.createBucket(BUCKET)
  const keys = await SigningKeyStore.open(join(dir, 'keys'), clock, { rotationSeconds })
  const trails = names.map((name) => testTrail({ name, s3BucketName: BUCKET }))
  const d = await TrailDelivery.open({
    dir: join(dir, 'delivery'),
    store,
    trails: { all: () => trails },
    keys,
    clock,
    logger: createLogger('silent'),
    deliveryIntervalSeconds: 10,
    digestIntervalSeconds: 60,
  })
  await d.tick()
  let seq = 0
  for (let i = 1; i <= 6; i++) {
    now = T0 + (i - 1) * 60_000 + 20_000
    const record = {
      eventVersion: '1.11',
      userIdentity: { type: 'IAMUser', accountId: ACCOUNT },
      eventTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'DescribeTrails',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      requestParameters: null,
      responseElements: null,
      eventID: `e-${i}`,
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    }
    await d.write([{ seq, record }], ++seq)
    await d.flush()
    now = T0 + i * 60_000 + 1000
    await d.tick()
  }
  await d.close()
}

describe('validate-logs engine', () => {
  let template: string
  let dir: string
  let store: LocalObjectStore
  let keys: SigningKeyStore

  before(async () => {
    template = await mkdtemp(join(tmpdir(), 'opentrail-chain-'))
    await buildChain(template)
  })
  after(async () => {
    await rm(template, { recursive: true, force: true })
  })
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-validate-'))
    await cp(template, dir, { recursive: true })
    const chain = await openChain(dir, T0 + 400_000, 86_400)
    store = chain.store
    keys = chain.keys
  })

  async function run(latestDigestDelivery?: Date): Promise<string[]> {
    const t = new DigestTraverser(
      storeSource(store, keys),
      auditTarget(latestDigestDelivery ? { latestDigestDelivery } : {}),
    )
    const out: string[] = []
    for await (const e of t.validate()) {
      if (e.type === 'listed') continue
      if (e.type === 'log') out.push(`log ${(await e.result).status}`)
      else if (e.type === 'digest-valid') out.push(`digest valid ${e.key.slice(-24, -8)}`)
      else if (e.type === 'digest-missing') out.push(`digest missing ${e.key.slice(-24, -8)}`)
      else if (e.type === 'digest-invalid') out.push(`digest invalid ${e.message.split('\t')[2]}`)
      else if (e.type === 'digests-missing-inferred') out.push(`inferred ${e.count}`)
      else if (e.type === 'newest-missing') out.push(`newest missing ${e.count}`)
      else if (e.type === 'log-unlisted') out.push(`unlisted ${e.key.split('/').pop()}`)
      else out.push(e.type)
    }
    return out
  }

  const digestKeys = async () =>
    (await store.listObjects(BUCKET, { prefix: 'AWSLogs/' })).objects
      .map((o) => o.key)
      .filter((k) => k.includes('CloudTrail-Digest'))
      .sort()
  const logKeys = async () =>
    (await store.listObjects(BUCKET, { prefix: 'AWSLogs/' })).objects
      .map((o) => o.key)
      .filter((k) => k.includes('/CloudTrail/'))
      .sort()

  it('reports an untouched chain valid, newest first', async () => {
    const out = await run()
    assert.deepEqual(out, [
      'digest valid 20240101T000600Z',
      'log valid',
      'digest valid 20240101T000500Z',
      'log valid',
      'digest valid 20240101T000400Z',
      'log valid',
      'digest valid 20240101T000300Z',
      'log valid',
      'digest valid 20240101T000200Z',
      'log valid',
      'digest valid 20240101T000100Z',
      'log valid',
    ])
  })

  it('reports a modified log file and a deleted one', async () => {
    const [first, second] = await logKeys()
    const o = await store.getObject(BUCKET, first!)
    const body = JSON.parse(gunzipSync(o.body).toString()) as { Records: { eventName: string }[] }
    body.Records[0]!.eventName = 'Tampered'
    await store.putObject(BUCKET, first!, gzipSync(JSON.stringify(body)))
    await store.deleteObject(BUCKET, second!)
    const out = await run()
    assert.equal(out.filter((l) => l === 'log hash-mismatch').length, 1)
    assert.equal(out.filter((l) => l === 'log not-found').length, 1)
    assert.equal(out.filter((l) => l === 'log valid').length, 4)
  })

  it('reports an inserted log file, which the AWS CLI cannot see', async () => {
    const [, , third] = await logKeys()
    const o = await store.getObject(BUCKET, third!)
    const name = `${ACCOUNT}_CloudTrail_us-east-1_20240101T0003Z_INSERTEDaaaaaaaa.json.gz`
    const inserted = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2024/01/01/${name}`
    const body = JSON.parse(gunzipSync(o.body).toString()) as { Records: { eventID: string }[] }
    body.Records[0]!.eventID = 'forged'
    await store.putObject(BUCKET, inserted, gzipSync(JSON.stringify(body)))
    const out = await run()
    assert.deepEqual(
      out.filter((l) => l.startsWith('unlisted')),
      [`unlisted ${name}`],
    )
    assert.equal(out.filter((l) => l === 'log valid').length, 6)
    assert.equal(out.filter((l) => l.startsWith('digest valid')).length, 6)
  })

  it('reports digests re-signed with another key, or with altered signature metadata', async () => {
    const ds = await digestKeys()
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const foreignFp = fingerprintOf(publicKey.export({ type: 'pkcs1', format: 'der' }))
    // 1: the same content, signed by a key that is not the trail's.
    const o1 = await store.getObject(BUCKET, ds[1]!)
    const raw1 = gunzipSync(o1.body)
    const d1 = JSON.parse(raw1.toString()) as DigestFile
    await store.putObject(BUCKET, ds[1]!, o1.body, {
      metadata: { ...o1.metadata, signature: signHex(privateKey, stringToSign(d1, raw1)) },
    })
    // 3: the signature metadata altered by one hex digit.
    const o3 = await store.getObject(BUCKET, ds[3]!)
    const sig = o3.metadata['signature']!
    const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)
    await store.putObject(BUCKET, ds[3]!, o3.body, {
      metadata: { ...o3.metadata, signature: flipped },
    })
    // 4: re-signed by another key that it names as its own.
    const o4 = await store.getObject(BUCKET, ds[4]!)
    const d4 = JSON.parse(gunzipSync(o4.body).toString()) as DigestFile
    d4.digestPublicKeyFingerprint = foreignFp
    const raw4 = Buffer.from(JSON.stringify(d4))
    await store.putObject(BUCKET, ds[4]!, gzipSync(raw4), {
      metadata: { ...o4.metadata, signature: signHex(privateKey, stringToSign(d4, raw4)) },
    })
    const out = await run()
    assert.equal(
      out.filter((l) => l === 'digest invalid INVALID: signature verification failed').length,
      2,
    )
    assert.ok(
      out.includes(
        `digest invalid INVALID: public key not found in region us-east-1 for fingerprint ${foreignFp}`,
      ),
    )
    assert.equal(out.filter((l) => l.startsWith('digest valid')).length, 3)
  })

  it('reports a modified digest and a digest without signature metadata', async () => {
    const ds = await digestKeys()
    const o = await store.getObject(BUCKET, ds[2]!)
    const digest = JSON.parse(gunzipSync(o.body).toString()) as { logFiles: unknown[] }
    digest.logFiles = []
    await store.putObject(BUCKET, ds[2]!, gzipSync(JSON.stringify(digest)), {
      metadata: o.metadata,
    })
    const o4 = await store.getObject(BUCKET, ds[4]!)
    await store.putObject(BUCKET, ds[4]!, o4.body, { metadata: {} })
    const out = await run()
    assert.ok(out.includes('digest invalid INVALID: signature verification failed'))
    assert.equal(out.filter((l) => l.startsWith('digest invalid')).length, 2)
    assert.equal(out.filter((l) => l.startsWith('digest valid')).length, 4)
  })

  it('reports one deleted digest as not found, without inferring more', async () => {
    const ds = await digestKeys()
    await store.deleteObject(BUCKET, ds[3]!)
    const out = await run()
    assert.ok(out.includes('digest missing 20240101T000400Z'))
    assert.ok(!out.some((l) => l.startsWith('inferred')))
  })

  it('catches two consecutive deleted digests (aws-cli issue 7054)', async () => {
    const ds = await digestKeys()
    await store.deleteObject(BUCKET, ds[3]!)
    await store.deleteObject(BUCKET, ds[2]!)
    const out = await run()
    assert.deepEqual(out.slice(0, 6), [
      'digest valid 20240101T000600Z',
      'log valid',
      'digest valid 20240101T000500Z',
      'log valid',
      'digest missing 20240101T000400Z',
      'inferred 1',
    ])
    assert.equal(out[6], 'digest valid 20240101T000200Z')
  })

  it('catches three consecutive deleted digests', async () => {
    const ds = await digestKeys()
    for (const i of [1, 2, 3]) await store.deleteObject(BUCKET, ds[i]!)
    const out = await run()
    assert.ok(out.includes('digest missing 20240101T000400Z'))
    assert.ok(out.includes('inferred 2'))
  })

  it('catches deleted newest digests from the trail status', async () => {
    const latest = new Date(T0 + 360_100)
    assert.ok(!(await run(latest)).some((l) => l.startsWith('newest missing')))
    const ds = await digestKeys()
    await store.deleteObject(BUCKET, ds[5]!)
    await store.deleteObject(BUCKET, ds[4]!)
    const out = await run(latest)
    assert.equal(out[0], 'digest valid 20240101T000400Z')
    assert.equal(out.at(-1), 'newest missing 2')
  })

  it('reports a digest moved from its location', async () => {
    const ds = await digestKeys()
    const o = await store.getObject(BUCKET, ds[5]!)
    await store.deleteObject(BUCKET, ds[5]!)
    const moved = ds[5]!.replace('000600Z', '000630Z')
    await store.putObject(BUCKET, moved, o.body, { metadata: o.metadata })
    const out = await run()
    assert.equal(out[0], 'digest invalid INVALID: has been moved from its original location')
  })
})

describe('validate-logs engine: two trails delivering to one bucket', () => {
  it("does not take the other trail's files for inserted ones, but finds an inserted one", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-two-trails-'))
    try {
      await buildChain(dir, 86_400, ['audit', 'other'])
      const { store, keys } = await openChain(dir, T0 + 400_000, 86_400)
      const logs = (await store.listObjects(BUCKET, { prefix: 'AWSLogs/' })).objects.filter((o) =>
        o.key.includes('/CloudTrail/'),
      )
      assert.equal(logs.length, 12)
      const check = async () => {
        const t = new DigestTraverser(storeSource(store, keys), auditTarget())
        const seen = { valid: 0, digests: 0, unlisted: [] as string[] }
        for await (const e of t.validate()) {
          if (e.type === 'log' && (await e.result).status === 'valid') seen.valid++
          if (e.type === 'digest-valid') seen.digests++
          if (e.type === 'log-unlisted') seen.unlisted.push(e.key)
        }
        return seen
      }
      assert.deepEqual(await check(), { valid: 6, digests: 6, unlisted: [] })
      const inserted = logs[4]!.key.replace(
        /_[A-Za-z0-9]{16}\.json\.gz$/,
        '_INSERTEDbbbbbbbb.json.gz',
      )
      await store.putObject(BUCKET, inserted, (await store.getObject(BUCKET, logs[4]!.key)).body)
      assert.deepEqual(await check(), { valid: 6, digests: 6, unlisted: [inserted] })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('validate-logs engine: key rotation', () => {
  it('reports a change of signing key between digests', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-rotate-'))
    try {
      await buildChain(dir, 150)
      const { store, keys } = await openChain(dir, T0, 150)
      const t = new DigestTraverser(storeSource(store, keys), auditTarget())
      let changes = 0
      let valid = 0
      for await (const e of t.validate()) {
        if (e.type === 'key-change') changes++
        if (e.type === 'digest-valid') valid++
      }
      assert.equal(valid, 6)
      assert.ok(changes >= 1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
