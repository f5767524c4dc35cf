import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, appendFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CloudTrailRecord } from '../events/record.js'
import { DedupeIndex, keyBatch } from './dedupe.js'
import { writeKey } from './keys.js'

const T = Date.UTC(2024, 4, 1, 10, 30)
const rec = (id: string, t = T) =>
  ({ eventID: id, eventTime: new Date(t).toISOString() }) as CloudTrailRecord

async function claim(idx: DedupeIndex, ids: string[], t = T): Promise<number[]> {
  const kb = keyBatch(
    ids,
    ids.map(() => t),
  )
  const lease = await idx.acquire(kb.hours)
  const fresh = [...lease.claim(kb)]
  lease.commit(0)
  return fresh
}

describe('keys', () => {
  it('maps a UUID to its bytes, case-insensitively, and other IDs to a hash', () => {
    const a = new Uint32Array(8)
    writeKey('0DBC91F4-29E4-48EE-ED00-000000000001', a, 0)
    writeKey('0dbc91f4-29e4-48ee-ed00-000000000001', a, 4)
    assert.deepEqual([...a.slice(0, 4)], [...a.slice(4)])
    assert.deepEqual([...a.slice(0, 4)], [0x0dbc91f4, 0x29e448ee, 0xed000000, 0x00000001])
    writeKey('not-a-uuid', a, 0)
    writeKey('not-a-uuie', a, 4)
    assert.notDeepEqual([...a.slice(0, 4)], [...a.slice(4)])
  })
})

describe('DedupeIndex', () => {
  it('claims each key once, also within one batch and across hours', async () => {
    const idx = await DedupeIndex.open(await mkdtemp(join(tmpdir(), 'dedupe-')))
    assert.deepEqual(await claim(idx, ['a', 'b', 'a']), [1, 1, 0])
    assert.deepEqual(await claim(idx, ['b', 'c']), [0, 1])
    // Another hour is another partition: same ID, different eventTime hour, is another event.
    assert.deepEqual(await claim(idx, ['a'], T + 3_600_000), [1])
  })

  it('gives keys back when the append fails', async () => {
    const idx = await DedupeIndex.open(await mkdtemp(join(tmpdir(), 'dedupe-')))
    const kb = keyBatch(['x', 'y'], [T, T])
    const lease = await idx.acquire(kb.hours)
    assert.deepEqual([...lease.claim(kb)], [1, 1])
    lease.abort()
    assert.deepEqual(await claim(idx, ['x', 'y', 'z']), [1, 1, 1])
  })

  it('persists keys through the sink path and finds them after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dedupe-'))
    const idx = await DedupeIndex.open(dir)
    const ids = Array.from({ length: 3000 }, () => crypto.randomUUID())
    await idx.persist(
      ids.map((id) => rec(id)),
      3000,
    )
    assert.equal(idx.persistedSeq, 3000)
    const again = await DedupeIndex.open(dir)
    assert.equal(again.persistedSeq, 3000)
    const fresh = await claim(again, [...ids.slice(0, 10), 'new-one'])
    assert.deepEqual(fresh, [...Array<number>(10).fill(0), 1])
  })

  it('ignores a torn key at the end of a partition file and appends after it aligned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dedupe-'))
    const idx = await DedupeIndex.open(dir)
    await idx.persist([rec('11111111-1111-4111-8111-111111111111')], 1)
    const hourDir = join(dir, 'keys', '2024', '05', '01')
    const file = join(hourDir, (await readdir(hourDir))[0]!)
    await appendFile(file, Buffer.from([1, 2, 3, 4, 5]))
    await idx.persist([rec('22222222-2222-4222-8222-222222222222')], 2)
    assert.equal((await stat(file)).size, 32)
    const again = await DedupeIndex.open(dir)
    assert.deepEqual(
      await claim(again, [
        '11111111-1111-4111-8111-111111111111',
        '22222222-2222-4222-8222-222222222222',
      ]),
      [0, 0],
    )
  })

  it('keeps claimed keys in memory until the sink has persisted them, within a small budget', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dedupe-'))
    const idx = await DedupeIndex.open(dir, { memoryBudgetBytes: 1 })
    const kb = keyBatch(['k1'], [T])
    const lease = await idx.acquire(kb.hours)
    lease.claim(kb)
    lease.commit(5) // in the log below seq 5, not yet persisted
    // Touch many other partitions: over budget, but the unpersisted one must stay.
    for (let h = 1; h <= 20; h++) await claim(idx, [`o${h}`], T + h * 3_600_000)
    assert.deepEqual(await claim(idx, ['k1']), [0])
    await idx.persist([rec('k1')], 5)
    for (let h = 21; h <= 30; h++) await claim(idx, [`o${h}`], T + h * 3_600_000)
    assert.ok(idx.stats().partitionsInMemory <= 2)
    assert.deepEqual(await claim(idx, ['k1']), [0])
  })

  it('waitPersisted resolves when the sink reaches the sequence', async () => {
    const idx = await DedupeIndex.open(await mkdtemp(join(tmpdir(), 'dedupe-')))
    let done = false
    const w = idx.waitPersisted(2).then(() => (done = true))
    await idx.persist([rec('a')], 1)
    assert.equal(done, false)
    await idx.persist([rec('b')], 2)
    await w
    assert.equal(done, true)
  })
})
