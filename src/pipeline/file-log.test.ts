import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  type FileHandle,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CloudTrailRecord } from '../events/record.js'
import { FileEventLog } from './file-log.js'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opentrail-log-'))
  dirs.push(d)
  return d
}

function rec(n: number, pad = 0): CloudTrailRecord {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', userName: `u${n}` },
    eventTime: '2024-01-02T03:04:05Z',
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'DescribeTrails',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    requestParameters: { n, pad: 'x'.repeat(pad) },
    responseElements: null,
    eventID: `event-${n}`,
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  }
}

async function readAll(log: FileEventLog): Promise<{ seq: number; id: string }[]> {
  const out: { seq: number; id: string }[] = []
  for (let from = 0; ;) {
    const got = await log.read(from, 1000, 0)
    if (got.length === 0) return out
    for (const e of got) out.push({ seq: e.seq, id: e.record.eventID })
    from = got[got.length - 1]!.seq + 1
  }
}

async function segmentPath(dir: string): Promise<string> {
  const segs = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()
  assert.equal(segs.length, 1)
  return join(dir, segs[0]!)
}

/** Appends records 0..n-1 (concurrently, to exercise group commit) and returns the acked seqs. */
async function appendN(log: FileEventLog, n: number, first = 0): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => log.append([rec(first + i)])))
}

describe('pipeline/file-log', () => {
  it('assigns dense sequence numbers across concurrent appends and reads them back', async () => {
    const dir = await tempDir()
    const log = await FileEventLog.open(dir)
    const seqs = await appendN(log, 50)
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    )
    const batchFirst = await log.append([rec(50), rec(51), rec(52)])
    assert.equal(batchFirst, 50)
    assert.equal(log.next(), 53)
    const all = await readAll(log)
    assert.equal(all.length, 53)
    // The record at each acknowledged seq is the one that was appended with it.
    for (let i = 0; i < 50; i++) assert.equal(all[seqs[i]!]!.id, `event-${i}`)
    await log.close()

    const again = await FileEventLog.open(dir)
    assert.equal(again.next(), 53)
    assert.deepEqual(await readAll(again), all)
    await again.close()
  })

  it('a read waits for the next append', async () => {
    const log = await FileEventLog.open(await tempDir())
    const t0 = Date.now()
    const pending = log.read(0, 10, 5000)
    setTimeout(() => void log.append([rec(1)]), 50)
    const got = await pending
    assert.equal(got.length, 1)
    assert.ok(Date.now() - t0 < 2000)
    await log.close()
  })

  it('rejects appends after close', async () => {
    const log = await FileEventLog.open(await tempDir())
    await log.close()
    await assert.rejects(log.append([rec(1)]), /ERR_LOG_CLOSED/)
  })

  // Each case damages the tail of the segment after 20 acknowledged records, reopens the log and
  // expects exactly those 20 records, then appends more and expects them to follow densely.
  const torn: [string, (path: string, ackedBytes: number) => Promise<void>][] = [
    [
      'a record cut in the middle of its payload',
      async (path, acked) => {
        const size = (await stat(path)).size
        await truncate(path, acked + Math.floor((size - acked) / 2))
      },
    ],
    ['a record cut inside its 8-byte header', async (path, acked) => truncate(path, acked + 5)],
    [
      'a flipped byte in the last record payload',
      async (path) => {
        const size = (await stat(path)).size
        await flipByte(path, size - 3)
      },
    ],
    ['a flipped byte in the last record CRC', async (path, acked) => flipByte(path, acked + 5)],
    [
      'a length field pointing far beyond the end of the file',
      async (path, acked) => flipByte(path, acked + 3),
    ],
    [
      'a zero-filled tail (file size grew, data blocks never written)',
      async (path, acked) => {
        await truncate(path, acked)
        await appendFile(path, Buffer.alloc(4096))
      },
    ],
  ]

  for (const [name, damage] of torn) {
    it(`cuts a torn tail at open: ${name}`, async () => {
      const dir = await tempDir()
      const log = await FileEventLog.open(dir)
      const acked = await appendN(log, 20)
      assert.equal(acked.length, 20)
      await log.close()
      const path = await segmentPath(dir)
      const ackedBytes = (await stat(path)).size
      // One more record whose write the crash interrupted (never acknowledged).
      const l2 = await FileEventLog.open(dir)
      await l2.append([rec(999, 300)])
      await l2.close()
      assert.ok((await stat(path)).size > ackedBytes + 300)
      await damage(path, ackedBytes)

      const reopened = await FileEventLog.open(dir)
      assert.equal(reopened.next(), 20)
      assert.equal((await stat(path)).size, ackedBytes, 'the torn tail is truncated')
      const all = await readAll(reopened)
      assert.deepEqual(
        all.map((e) => e.seq),
        Array.from({ length: 20 }, (_, i) => i),
      )
      assert.deepEqual(new Set(all.map((e) => e.id)).size, 20)
      assert.ok(!all.some((e) => e.id === 'event-999'))
      acked.forEach((s, i) => assert.equal(all[s]!.id, `event-${i}`))

      // New appends continue densely and survive another reopen alongside the old records.
      const more = await appendN(reopened, 5, 100)
      assert.deepEqual(
        [...more].sort((a, b) => a - b),
        [20, 21, 22, 23, 24],
      )
      await reopened.close()
      const third = await FileEventLog.open(dir)
      const final = await readAll(third)
      assert.equal(final.length, 25)
      assert.deepEqual(
        final
          .slice(20)
          .map((e) => e.id)
          .sort(),
        ['event-100', 'event-101', 'event-102', 'event-103', 'event-104'],
      )
      await third.close()
    })
  }

  it('a failed write leaves no junk in front of later acknowledged records', async () => {
    const dir = await tempDir()
    const log = await FileEventLog.open(dir)
    await appendN(log, 3)
    // The next write fails half way (e.g. ENOSPC after some bytes went out).
    const fh = (log as unknown as { fh: FileHandle }).fh
    const realWrite = fh.write.bind(fh)
    const realWritev = fh.writev.bind(fh)
    const failHalfWay = async (data: Buffer) => {
      fh.write = realWrite
      fh.writev = realWritev
      await realWrite(data, 0, data.length >> 1)
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    }
    fh.writev = ((bufs: Buffer[]) => failHalfWay(Buffer.concat(bufs))) as FileHandle['writev']
    fh.write = ((data: Buffer) => failHalfWay(Buffer.from(data))) as unknown as FileHandle['write']
    await assert.rejects(log.append([rec(50, 200)]), /ENOSPC/)
    const later = await appendN(log, 4, 60)
    assert.deepEqual(
      [...later].sort((a, b) => a - b),
      [3, 4, 5, 6],
    )
    await log.close()
    const reopened = await FileEventLog.open(dir)
    const all = await readAll(reopened)
    assert.deepEqual(all.map((e) => e.id).sort(), [
      'event-0',
      'event-1',
      'event-2',
      'event-60',
      'event-61',
      'event-62',
      'event-63',
    ])
    assert.equal(reopened.next(), 7)
    await reopened.close()
  })

  it('keeps every acknowledged record byte-identical', async () => {
    const dir = await tempDir()
    const log = await FileEventLog.open(dir)
    const records = Array.from({ length: 30 }, (_, i) => rec(i, i * 37))
    const seqs = await Promise.all(records.map((r) => log.append([r])))
    await log.close()
    const path = await segmentPath(dir)
    await appendFile(path, Buffer.from([1, 2, 3]))
    const reopened = await FileEventLog.open(dir)
    const got = await reopened.read(0, 100, 0)
    assert.equal(got.length, 30)
    for (let i = 0; i < 30; i++) assert.deepEqual(got[seqs[i]!]!.record, records[i])
    await reopened.close()
    assert.ok((await readFile(path)).length > 0)
  })
})

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, at)
    b[0] = b[0]! ^ 0xff
    await fh.write(b, 0, 1, at)
  } finally {
    await fh.close()
  }
}
