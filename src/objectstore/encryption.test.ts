import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ObjectDecryptionError } from './local-encryption.js'
import { LocalObjectStore } from './local-store.js'
import { MasterKeyStore } from './master-keys.js'

const KEY = 'arn:aws:kms:us-east-1:111122223333:alias/trail-key'
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** Makes the sidecar match the file's time again, as a careful tamperer would. */
async function syncSidecarTime(path: string): Promise<void> {
  const meta = JSON.parse(await readFile(`${path}%meta.json`, 'utf8')) as { mtimeMs: number }
  meta.mtimeMs = (await stat(path)).mtimeMs
  await writeFile(`${path}%meta.json`, JSON.stringify(meta))
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

describe('local object store: encryption at rest', () => {
  let root: string
  let store: LocalObjectStore
  const plain = Buffer.from('{"Records":[{"eventName":"CreateTrail","secret":"s3cr3t"}]}')

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'opentrail-sse-'))
    store = await LocalObjectStore.open(join(root, 'buckets'), {
      masterKeys: await MasterKeyStore.open(join(root, 'keys')),
      wholeDecryptMaxBytes: 1024,
    })
    await store.createBucket('logs')
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('stores ciphertext on disk and reads plaintext back, with its KMS key in the head', async () => {
    await store.putObject('logs', 'a/b.json', plain, {
      contentType: 'application/json',
      metadata: { signature: 'abc' },
      kmsKeyId: KEY,
    })
    const onDisk = await readFile(join(root, 'buckets/logs/a/b.json'))
    assert.equal(onDisk.length, plain.length)
    assert.ok(!onDisk.includes(Buffer.from('s3cr3t')))
    assert.notDeepEqual(onDisk, plain)
    const sidecar = await readFile(join(root, 'buckets/logs/a/b.json%meta.json'), 'utf8')
    assert.ok(!sidecar.includes('s3cr3t'))

    const o = await store.getObject('logs', 'a/b.json')
    assert.deepEqual(o.body, plain)
    assert.equal(o.kmsKeyId, KEY)
    assert.equal(o.etag, md5(plain))
    assert.equal(o.size, plain.length)
    assert.deepEqual(o.metadata, { signature: 'abc' })
    const head = await store.headObject('logs', 'a/b.json')
    assert.equal(head.kmsKeyId, KEY)

    const { stream } = await store.getObjectStream('logs', 'a/b.json', { start: 2, end: 9 })
    assert.deepEqual(await readAll(stream), plain.subarray(2, 10))
  })

  it('keeps master keys sealed, one per KMS key name, created on first use', async () => {
    await store.putObject('logs', 'other', plain, { kmsKeyId: 'aws/s3' })
    const file = JSON.parse(await readFile(join(root, 'keys/kms-keys.json'), 'utf8')) as {
      keys: { name: string; key: { data: string } }[]
    }
    assert.deepEqual(file.keys.map((k) => k.name).sort(), [KEY, 'aws/s3'].sort())
    assert.equal((await stat(join(root, 'keys/kms-keys.json'))).mode & 0o777, 0o600)
    // A second data key under the same master key: no new master key.
    await store.putObject('logs', 'third', plain, { kmsKeyId: KEY })
    const again = JSON.parse(await readFile(join(root, 'keys/kms-keys.json'), 'utf8')) as {
      keys: unknown[]
    }
    assert.equal(again.keys.length, 2)
  })

  it('decrypts after a restart, and not with another root key or without keys', async () => {
    const reopened = await LocalObjectStore.open(join(root, 'buckets'), {
      masterKeys: await MasterKeyStore.open(join(root, 'keys')),
    })
    assert.deepEqual((await reopened.getObject('logs', 'a/b.json')).body, plain)

    const stranger = await LocalObjectStore.open(join(root, 'buckets'), {
      masterKeys: await MasterKeyStore.open(join(root, 'other-keys')),
    })
    await assert.rejects(stranger.getObject('logs', 'a/b.json'), ObjectDecryptionError)
    const keyless = await LocalObjectStore.open(join(root, 'buckets'))
    await assert.rejects(keyless.getObject('logs', 'a/b.json'), ObjectDecryptionError)
    // Listing and heads need no key.
    assert.equal((await keyless.headObject('logs', 'a/b.json')).kmsKeyId, KEY)
  })

  it('refuses ciphertext altered on disk, even with the same size and time', async () => {
    await store.putObject('logs', 'tamper', plain, { kmsKeyId: KEY })
    const path = join(root, 'buckets/logs/tamper')
    const st = await stat(path)
    const fh = await open(path, 'r+')
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, 5)
    b[0] = b[0]! ^ 1
    await fh.write(b, 0, 1, 5)
    await fh.close()
    await syncSidecarTime(path)
    await assert.rejects(store.getObject('logs', 'tamper'), ObjectDecryptionError)
    await assert.rejects(store.getObjectStream('logs', 'tamper'), ObjectDecryptionError)
    // With another time the sidecar no longer matches: the file is served as found, never decrypted.
    await utimes(path, new Date(), new Date(st.mtimeMs + 5000))
    const raw = await store.getObject('logs', 'tamper')
    assert.equal(raw.kmsKeyId, undefined)
    assert.notDeepEqual(raw.body, plain)
  })

  it('binds an object to its key: a ciphertext copied to another key does not decrypt', async () => {
    await store.putObject('logs', 'src', plain, { kmsKeyId: KEY })
    const body = await readFile(join(root, 'buckets/logs/src'))
    const meta = await readFile(join(root, 'buckets/logs/src%meta.json'))
    await store.putObject('logs', 'dst', Buffer.from('x'))
    await writeFile(join(root, 'buckets/logs/dst%meta.json'), meta)
    await writeFile(join(root, 'buckets/logs/dst'), body)
    await syncSidecarTime(join(root, 'buckets/logs/dst'))
    await assert.rejects(store.getObject('logs', 'dst'), ObjectDecryptionError)
  })

  it('streams large encrypted objects, ranges included, and fails a bad one mid-stream', async () => {
    const big = randomBytes(300_000)
    async function* chunks() {
      for (let i = 0; i < big.length; i += 65_536) yield big.subarray(i, i + 65_536)
    }
    const head = await store.putObjectStream('logs', 'big', chunks(), { kmsKeyId: KEY })
    assert.equal(head.etag, md5(big))
    assert.deepEqual(await readAll((await store.getObjectStream('logs', 'big')).stream), big)
    const ranged = await store.getObjectStream('logs', 'big', { start: 70_000, end: 200_000 })
    assert.deepEqual(await readAll(ranged.stream), big.subarray(70_000, 200_001))

    const path = join(root, 'buckets/logs/big')
    const fh = await open(path, 'r+')
    await fh.write(Buffer.from([0]), 0, 1, 299_000)
    await fh.close()
    await syncSidecarTime(path)
    const { stream } = await store.getObjectStream('logs', 'big')
    await assert.rejects(readAll(stream), ObjectDecryptionError)
  })

  it('encrypts multipart uploads when they complete', async () => {
    const id = await store.createMultipartUpload('logs', 'multi', { kmsKeyId: KEY })
    const part = await store.uploadPart(id, 1, [plain])
    await store.completeMultipartUpload(id, [{ partNumber: 1, etag: part.etag }])
    const onDisk = await readFile(join(root, 'buckets/logs/multi'))
    assert.ok(!onDisk.includes(Buffer.from('s3cr3t')))
    const o = await store.getObject('logs', 'multi')
    assert.deepEqual(o.body, plain)
    assert.match(o.etag, /-1$/)
  })

  it('leaves puts without a KMS key in plain text', async () => {
    await store.putObject('logs', 'plain', plain)
    assert.deepEqual(await readFile(join(root, 'buckets/logs/plain')), plain)
    assert.equal((await store.headObject('logs', 'plain')).kmsKeyId, undefined)
  })
})
