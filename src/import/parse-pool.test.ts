import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RetentionRefused, type ParseCounts, type ParserOptions } from './file-parser.js'
import { ParsePool, defaultParseWorkers, type ParserHandle } from './parse-pool.js'
import { ScanError } from './scanner.js'

const T0 = Date.UTC(2024, 0, 1)
const rec = (i: number, extra: Record<string, unknown> = {}) => ({
  eventVersion: '1.08',
  eventID: i % 2 ? `1b2c3d4e-0000-4000-8000-${String(i).padStart(12, '0')}` : `plain-${i}`,
  eventTime: new Date(T0 + i * 60_000).toISOString(),
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: i % 3 ? 'us-east-1' : 'eu-west-1',
  recipientAccountId: '111122223333',
  ...extra,
})

/** A CloudTrail file with 60 good records, one without eventID, one too large and one non-object. */
function file(): Buffer {
  const records: unknown[] = Array.from({ length: 60 }, (_, i) => rec(i))
  records.splice(10, 0, { eventTime: new Date(T0).toISOString() })
  records.splice(20, 0, rec(999, { pad: 'x'.repeat(300 * 1024) }))
  records.splice(30, 0, 'not an object')
  return Buffer.from(JSON.stringify({ Records: records }))
}

const ALL: ParserOptions = { start: -Infinity, end: Infinity, cutoff: -Infinity, mode: 'refuse' }

interface Result {
  texts: string[]
  times: number[]
  keys: number[]
  counts: ParseCounts
}

/** Feeds `body` in chunks of `size` bytes (splitting records and UTF-8 anywhere). */
async function parse(h: ParserHandle, body: Buffer, size: number, scanOnly = false) {
  const out: Result = { texts: [], times: [], keys: [], counts: undefined! }
  try {
    for (let o = 0; o < body.length; o += size) {
      const c = await h.push(body.subarray(o, o + size), scanOnly)
      out.texts.push(...c.texts)
      out.times.push(...c.timesMs)
      out.keys.push(...c.keys)
    }
    out.counts = await h.end()
    return out
  } finally {
    h.close()
  }
}

describe('ParsePool', () => {
  const pool = new ParsePool(2)
  const local = new ParsePool(0)
  after(() => pool.close())

  it('gives the same records, times, keys and counts in a worker as on this thread', async () => {
    const body = file()
    const a = await parse(local.open(ALL), body, 1000)
    const b = await parse(pool.open(ALL), body, 777)
    assert.equal(a.texts.length, 60)
    assert.equal(a.keys.length, 240)
    assert.deepEqual(b, a)
    assert.equal(a.counts.rejected, 3)
    assert.deepEqual(a.counts.byReason, { MissingEventId: 1, RecordTooLarge: 1, NotAnObject: 1 })
    // Samples name the element's position in the file, however the chunks fall.
    assert.deepEqual(
      a.counts.samples.map((x) => [x.i, x.type]),
      [
        [10, 'MissingEventId'],
        [20, 'RecordTooLarge'],
        [30, 'NotAnObject'],
      ],
    )
    assert.equal(a.counts.sawContainer, true)
    assert.equal(a.times[5], T0 + 5 * 60_000)
  })

  it('applies the time window, region filter and retention modes in the worker', async () => {
    const body = file()
    const opts: ParserOptions = {
      start: T0 + 10 * 60_000,
      end: T0 + 49 * 60_000,
      cutoff: T0 + 20 * 60_000,
      mode: 'skip',
      regions: ['us-east-1'],
    }
    const r = await parse(pool.open(opts), body, 4096)
    // Minutes 10..49 in us-east-1 (i % 3 != 0): 27 events, of which 10..19 older than the cutoff.
    assert.equal(r.counts.filtered, 60 - 27)
    assert.equal(r.counts.older, 7)
    assert.equal(r.texts.length, 20)
    const refused = parse(pool.open({ ...opts, mode: 'refuse' }), body, 4096)
    await assert.rejects(refused, RetentionRefused)
    // Also when only checking (scan-only pass of a large file): nothing of it may be written later.
    const checking = parse(pool.open({ ...opts, mode: 'refuse' }), body, 4096, true)
    await assert.rejects(checking, RetentionRefused)
    const scanned = await parse(pool.open({ ...opts, mode: 'import' }), body, 4096, true)
    assert.equal(scanned.texts.length, 0)
  })

  it('reports structural errors as ScanErrors with their code', async () => {
    const body = file().subarray(0, 5000)
    await assert.rejects(parse(pool.open(ALL), body, 1024), (err: unknown) => {
      assert.ok(err instanceof ScanError)
      assert.equal(err.code, 'TruncatedJson')
      return true
    })
    await assert.rejects(parse(pool.open(ALL), Buffer.from('hello, world'), 4), ScanError)
  })

  it('replaces a worker that died; its open files fail, new ones parse', async () => {
    const one = new ParsePool(1)
    try {
      const h = one.open(ALL)
      const workers = (one as unknown as { workers: { terminate(): Promise<number> }[] }).workers
      await workers[0]!.terminate()
      await assert.rejects(parse(h, file(), 1000), /exited/)
      const r = await parse(one.open(ALL), file(), 1000)
      assert.equal(r.texts.length, 60)
    } finally {
      await one.close()
    }
  })

  it("close() resolves in a process that has nothing else to do (idle workers are unref'd)", async () => {
    const script =
      `import { ParsePool } from ${JSON.stringify(new URL('./parse-pool.ts', import.meta.url).href)}\n` +
      `const pool = new ParsePool(1)\n` +
      `const h = pool.open({ start: -Infinity, end: Infinity, cutoff: -Infinity, mode: 'refuse' })\n` +
      `await h.push(Buffer.from('{"Records":[]}'), false)\n` +
      `await h.end()\n` +
      `h.close()\n` +
      `await pool.close()\n` +
      `process.stdout.write('closed')\n`
    const dir = await mkdtemp(join(tmpdir(), 'parse-pool-'))
    await writeFile(join(dir, 'close.mjs'), script)
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(dir, 'close.mjs')],
          { timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        )
      },
    )
    await rm(dir, { recursive: true, force: true })
    assert.equal(out.stderr, '')
    assert.deepEqual([out.code, out.stdout], [0, 'closed'])
  })

  it('takes its size from OPENTRAIL_IMPORT_WORKERS when set', () => {
    assert.equal(defaultParseWorkers({ OPENTRAIL_IMPORT_WORKERS: '0' }), 0)
    assert.equal(defaultParseWorkers({ OPENTRAIL_IMPORT_WORKERS: '3' }), 3)
    const d = defaultParseWorkers({})
    assert.ok(d >= 1 && d <= 4)
  })
})
