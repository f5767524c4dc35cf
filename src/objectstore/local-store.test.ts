import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { compareKeys, decodeSegment, encodeSegment, InvalidBucketNameError } from './local-keys.js'
import type { ListEntry } from './local-listing.js'
import { LocalObjectStore } from './local-store.js'
import { tempLocalStore, type TempLocalStore } from './testing.js'
import {
  BucketNotEmptyError,
  hasBucketAdmin,
  hasBucketSettings,
  NoSuchBucketError,
  NoSuchKeyError,
} from './port.js'

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex')

async function collect(it: AsyncIterable<ListEntry>): Promise<string[]> {
  const out: string[] = []
  for await (const e of it) out.push('key' in e ? e.key : `CP:${e.commonPrefix}`)
  return out
}

describe('LocalObjectStore', () => {
  let temp: TempLocalStore
  let root: string
  let store: LocalObjectStore
  before(async () => {
    temp = await tempLocalStore('objects')
    root = temp.root
    store = temp.store
  })
  after(() => temp.remove())

  it('implements the optional capabilities', () => {
    assert.ok(hasBucketSettings(store))
    assert.ok(hasBucketAdmin(store))
  })

  it('creates buckets idempotently and validates names', async () => {
    assert.equal(await store.bucketExists('alpha'), false)
    await store.createBucket('alpha')
    await store.createBucket('alpha')
    assert.equal(await store.bucketExists('alpha'), true)
    assert.equal(await store.createBucketIfAbsent('alpha'), false)
    await assert.rejects(store.createBucket('Bad_Name'), InvalidBucketNameError)
    await assert.rejects(store.createBucket('ab'), InvalidBucketNameError)
    assert.equal(await store.bucketExists('.tmp'), false)
    const names = (await store.listBuckets()).map((b) => b.name)
    assert.deepEqual(names, ['alpha'])
  })

  it('puts and gets objects with metadata, as plain files under <bucket>/<key>', async () => {
    const body = gzipSync(Buffer.from('{"Records":[]}'))
    await store.putObject('alpha', 'AWSLogs/111122223333/CloudTrail/us-east-1/f.json.gz', body, {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      metadata: { signature: 'abc', 'signature-algorithm': 'SHA256withRSA' },
    })
    const got = await store.getObject(
      'alpha',
      'AWSLogs/111122223333/CloudTrail/us-east-1/f.json.gz',
    )
    assert.deepEqual(got.body, body)
    assert.equal(got.etag, md5(body))
    assert.equal(got.size, body.length)
    assert.equal(got.contentType, 'application/json')
    assert.equal(got.contentEncoding, 'gzip')
    assert.deepEqual(got.metadata, { signature: 'abc', 'signature-algorithm': 'SHA256withRSA' })
    assert.ok(got.lastModified instanceof Date && !isNaN(got.lastModified.getTime()))
    // Readable with plain tools.
    const onDisk = await readFile(
      join(root, 'buckets/alpha/AWSLogs/111122223333/CloudTrail/us-east-1/f.json.gz'),
    )
    assert.equal(gunzipSync(onDisk).toString(), '{"Records":[]}')
    const head = await store.headObject(
      'alpha',
      'AWSLogs/111122223333/CloudTrail/us-east-1/f.json.gz',
    )
    assert.equal(head.etag, got.etag)
    assert.equal('body' in head, false)
  })

  it('overwrites objects and replaces their metadata', async () => {
    await store.putObject('alpha', 'k', Buffer.from('one'), { metadata: { a: '1' } })
    await store.putObject('alpha', 'k', Buffer.from('two!'), { metadata: { b: '2' } })
    const got = await store.getObject('alpha', 'k')
    assert.equal(got.body.toString(), 'two!')
    assert.deepEqual(got.metadata, { b: '2' })
    assert.equal(got.etag, md5('two!'))
  })

  it('throws NoSuchBucket / NoSuchKey', async () => {
    await assert.rejects(store.getObject('nope-bucket', 'k'), NoSuchBucketError)
    await assert.rejects(store.putObject('nope-bucket', 'k', Buffer.from('x')), NoSuchBucketError)
    await assert.rejects(store.listObjects('nope-bucket', {}), NoSuchBucketError)
    await assert.rejects(store.getObject('alpha', 'missing'), NoSuchKeyError)
    await assert.rejects(store.headObject('alpha', 'AWSLogs'), NoSuchKeyError)
  })

  it('keeps keys that are also prefixes of other keys, and awkward segments', async () => {
    await store.createBucket('odd')
    const keys = ['a', 'a/b', 'a/b/c', 'x/', 'x//y', '../etc', './.', '100%', 'é/ü', 'sp ace']
    for (const k of keys) await store.putObject('odd', k, Buffer.from(`body of ${k}`))
    for (const k of keys) {
      assert.equal((await store.getObject('odd', k)).body.toString(), `body of ${k}`, k)
    }
    const listed = (await store.listObjects('odd', {})).objects.map((o) => o.key)
    assert.deepEqual(listed, [...keys].sort(compareKeys))
    // Nothing escaped the bucket directory.
    assert.deepEqual((await readdir(join(root, 'buckets'))).sort(), [
      '.journal',
      '.tmp',
      '.uploads',
      'alpha',
      'odd',
    ])
    // Deleting `a/b/c` and `a/b` leaves `a` readable and the directories gone.
    await store.deleteObject('odd', 'a/b/c')
    await store.deleteObject('odd', 'a/b')
    assert.equal((await store.getObject('odd', 'a')).body.toString(), 'body of a')
    assert.deepEqual(
      (await store.listObjects('odd', { prefix: 'a' })).objects.map((o) => o.key),
      ['a'],
    )
    await store.deleteObject('odd', 'missing/key') // no error, as S3
  })

  it('escapes segments reversibly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const enc = encodeSegment(s)
        assert.equal(decodeSegment(enc), s)
        assert.ok(!enc.includes('/') || s.includes('/'))
        assert.ok(enc !== '.' && enc !== '..' && enc !== '')
        assert.ok(!enc.endsWith('%meta.json') && !enc.endsWith('%obj'))
      }),
    )
  })

  it('lists in S3 order with prefix, startAfter and maxKeys', async () => {
    await store.createBucket('listing')
    const keys = [
      'a-c',
      'a/b',
      'a/c/d',
      'a0',
      'b',
      'logs/2024/01/01/x',
      'logs/2024/01/02/y',
      'logs/2024/02/01/z',
      'z\u{1F600}',
      'z\uFFFD',
    ]
    for (const k of [...keys].reverse()) await store.putObject('listing', k, Buffer.from(k))
    const sorted = [...keys].sort(compareKeys)
    assert.deepEqual(
      (await store.listObjects('listing', {})).objects.map((o) => o.key),
      sorted,
    )
    assert.deepEqual(
      (await store.listObjects('listing', { prefix: 'logs/2024/01' })).objects.map((o) => o.key),
      ['logs/2024/01/01/x', 'logs/2024/01/02/y'],
    )
    assert.deepEqual(
      (await store.listObjects('listing', { prefix: 'a' })).objects.map((o) => o.key),
      ['a-c', 'a/b', 'a/c/d', 'a0'],
    )
    // Paging through with maxKeys and nextStartAfter visits every key once, in order.
    const paged: string[] = []
    let startAfter: string | undefined
    for (;;) {
      const page = await store.listObjects('listing', {
        maxKeys: 3,
        ...(startAfter ? { startAfter } : {}),
      })
      paged.push(...page.objects.map((o) => o.key))
      if (!page.nextStartAfter) break
      startAfter = page.nextStartAfter
    }
    assert.deepEqual(paged, sorted)
    assert.deepEqual(
      (await store.listObjects('listing', { startAfter: 'a/b' })).objects.map((o) => o.key),
      sorted.slice(sorted.indexOf('a/b') + 1),
    )
    const one = await store.listObjects('listing', { maxKeys: 10 })
    assert.equal(one.nextStartAfter, undefined)
    const obj = (await store.listObjects('listing', { prefix: 'b' })).objects[0]!
    assert.deepEqual(
      { key: obj.key, size: obj.size, etag: obj.etag },
      { key: 'b', size: 1, etag: md5('b') },
    )
  })

  it('rolls keys up into common prefixes with a delimiter', async () => {
    assert.deepEqual(
      await collect(store.listEntries('listing', { delimiter: '/' })),
      ['a-c', 'CP:a/', 'a0', 'b', 'CP:logs/', 'z\u{1F600}', 'z\uFFFD'].sort((x, y) =>
        compareKeys(x.replace('CP:', ''), y.replace('CP:', '')),
      ),
    )
    assert.deepEqual(
      await collect(store.listEntries('listing', { prefix: 'logs/2024/', delimiter: '/' })),
      ['CP:logs/2024/01/', 'CP:logs/2024/02/'],
    )
    // A common prefix given back as startAfter is skipped, as in a continuation.
    assert.deepEqual(
      await collect(
        store.listEntries('listing', {
          prefix: 'logs/2024/',
          delimiter: '/',
          startAfter: 'logs/2024/01/',
        }),
      ),
      ['CP:logs/2024/02/'],
    )
    assert.deepEqual(await collect(store.listEntries('listing', { prefix: 'a', delimiter: '-' })), [
      'CP:a-',
      'a/b',
      'a/c/d',
      'a0',
    ])
  })

  it('stores bucket settings and refuses to delete non-empty buckets', async () => {
    await store.createBucket('settings')
    assert.deepEqual(await store.getBucketSettings('settings'), {})
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [] })
    await store.putBucketSettings('settings', {
      policy,
      versioning: 'Enabled',
      publicAccessBlock: {
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: true,
        restrictPublicBuckets: true,
      },
      logging: { targetBucket: 'alpha', targetPrefix: 'access/' },
      encryption: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'alias/x' },
    })
    const reopened = await LocalObjectStore.open(join(root, 'buckets'))
    const s = await reopened.getBucketSettings('settings')
    assert.equal(s.policy, policy)
    assert.equal(s.versioning, 'Enabled')
    assert.equal(s.publicAccessBlock?.restrictPublicBuckets, true)
    assert.deepEqual(s.logging, { targetBucket: 'alpha', targetPrefix: 'access/' })
    assert.equal(s.encryption?.sseAlgorithm, 'aws:kms')
    const after = await reopened.putBucketSettings('settings', {
      policy: null,
      versioning: 'Suspended',
    })
    assert.equal(after.policy, undefined)
    assert.equal(after.versioning, 'Suspended')
    await assert.rejects(store.getBucketSettings('missing-bucket'), NoSuchBucketError)

    await store.putObject('settings', 'deep/key', Buffer.from('x'))
    await assert.rejects(store.deleteBucket('settings'), BucketNotEmptyError)
    await store.deleteObject('settings', 'deep/key')
    await store.deleteBucket('settings')
    assert.equal(await store.bucketExists('settings'), false)
    await assert.rejects(store.deleteBucket('settings'), NoSuchBucketError)
  })

  it('serves files dropped in by hand, and ignores a sidecar that does not match', async () => {
    await writeFile(join(root, 'buckets/alpha/dropped.txt'), 'by hand')
    const got = await store.getObject('alpha', 'dropped.txt')
    assert.equal(got.body.toString(), 'by hand')
    assert.equal(got.etag, md5('by hand'))
    assert.deepEqual(got.metadata, {})
    await store.putObject('alpha', 'edited', Buffer.from('original'), { metadata: { m: '1' } })
    await writeFile(join(root, 'buckets/alpha/edited'), 'tampered!')
    const edited = await store.getObject('alpha', 'edited')
    assert.equal(edited.etag, md5('tampered!'))
    assert.deepEqual(edited.metadata, {})
    // A hand-made directory is a bucket.
    await mkdir(join(root, 'buckets/handmade'))
    assert.equal(await store.bucketExists('handmade'), true)
  })

  it('streams large bodies in and out, and aborts a put that fails its check', async () => {
    const chunk = Buffer.alloc(1 << 20, 7)
    async function* gen() {
      for (let i = 0; i < 8; i++) yield chunk
    }
    const head = await store.putObjectStream('alpha', 'big', gen())
    assert.equal(head.size, 8 << 20)
    const { stream } = await store.getObjectStream('alpha', 'big', { start: 10, end: 19 })
    const parts: Buffer[] = []
    for await (const c of stream) parts.push(c as Buffer)
    assert.deepEqual(Buffer.concat(parts), Buffer.alloc(10, 7))
    await assert.rejects(
      store.putObjectStream('alpha', 'big', [Buffer.from('short')], {
        beforeCommit: () => {
          throw new Error('checksum mismatch')
        },
      }),
      /checksum mismatch/,
    )
    assert.equal((await store.headObject('alpha', 'big')).size, 8 << 20)
    assert.deepEqual(await readdir(join(root, 'buckets/.tmp')), [])
  })

  it('rolls an interrupted commit forward on open', async () => {
    // Simulate a crash after the journal entry was written and before the renames.
    const dir = join(root, 'buckets')
    await store.putObject('alpha', 'crash', Buffer.from('old'), { metadata: { v: 'old' } })
    const dataTmp = join(dir, '.tmp', 'd1')
    const metaTmp = join(dir, '.tmp', 'm1')
    await writeFile(dataTmp, 'new')
    const st = await import('node:fs/promises').then((m) => m.stat(dataTmp))
    await writeFile(
      metaTmp,
      JSON.stringify({
        v: 1,
        etag: md5('new'),
        size: 3,
        mtimeMs: st.mtimeMs,
        lastModified: new Date().toISOString(),
        metadata: { v: 'new' },
      }),
    )
    await writeFile(
      join(dir, '.journal', 'j1.json'),
      JSON.stringify({
        renames: [
          [metaTmp, join(dir, 'alpha/crash%meta.json')],
          [dataTmp, join(dir, 'alpha/crash')],
        ],
      }),
    )
    await writeFile(join(dir, '.tmp', 'orphan'), 'never committed')
    const reopened = await LocalObjectStore.open(dir)
    const got = await reopened.getObject('alpha', 'crash')
    assert.equal(got.body.toString(), 'new')
    assert.deepEqual(got.metadata, { v: 'new' })
    assert.deepEqual(await readdir(join(dir, '.journal')), [])
    assert.deepEqual(await readdir(join(dir, '.tmp')), [])
  })

  it('reads concurrently with puts, each read seeing one whole version', async () => {
    await store.putObject('alpha', 'rw', Buffer.from('v-0'), { metadata: { i: '0' } })
    const ops: Promise<void>[] = []
    for (let i = 1; i <= 30; i++) {
      ops.push(
        store.putObject('alpha', 'rw', Buffer.from(`v-${i}`.repeat(i)), {
          metadata: { i: String(i) },
        }),
      )
      for (let j = 0; j < 3; j++)
        ops.push(
          store.getObject('alpha', 'rw').then((got) => {
            const n = Number(got.metadata['i'])
            assert.equal(got.body.toString(), n === 0 ? 'v-0' : `v-${n}`.repeat(n))
            assert.equal(got.etag, md5(got.body))
          }),
        )
    }
    await Promise.all(ops)
  })

  it('keeps concurrent puts to one key consistent', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.putObject('alpha', 'race', Buffer.from(`value-${i}`.repeat(i + 1)), {
          metadata: { i: String(i) },
        }),
      ),
    )
    const got = await store.getObject('alpha', 'race')
    const i = Number(got.metadata['i'])
    assert.equal(got.body.toString(), `value-${i}`.repeat(i + 1))
    assert.equal(got.etag, md5(got.body))
  })
})
