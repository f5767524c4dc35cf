import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RecordScanner, ScanError, type ScanOutput } from './scanner.js'

function scanAll(text: string, cuts: number[] = [], max = 1 << 20): ScanOutput {
  const s = new RecordScanner(max)
  const bytes = Buffer.from(text)
  const all: ScanOutput = { records: [], oversize: [], nonObjects: 0, skipped: [] }
  let prev = 0
  for (const c of [...cuts.filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b)]) {
    add(all, s.push(bytes.subarray(prev, c)))
    prev = c
  }
  add(all, s.push(bytes.subarray(prev)))
  s.end()
  return all
}

function add(a: ScanOutput, b: ScanOutput): void {
  a.records.push(...b.records)
  a.oversize.push(...b.oversize)
  a.nonObjects += b.nonObjects
  for (const k of b.skipped)
    a.skipped.push({ ...k, at: a.records.length - b.records.length + k.at })
}

const rec = (i: number) => ({
  eventID: `id-${i}`,
  eventTime: '2024-01-01T00:00:00Z',
  requestParameters: { policy: `{"a":"b\\\\"}\\"x`, list: [1, { y: [] }], q: '\\' },
  s: 'Records',
  u: 'é€𝄞 \u0000',
  '"Records"': ['[', '{', '}'],
})

describe('RecordScanner', () => {
  it('splits a CloudTrail file, an array and JSON Lines, at any chunk boundary', () => {
    const recs = [rec(1), rec(2), rec(3)]
    const texts = [
      JSON.stringify({ Records: recs }),
      JSON.stringify({ Records: recs }, null, 2),
      '\uFEFF' + JSON.stringify(recs),
      recs.map((r) => JSON.stringify(r)).join('\n') + '\n',
    ]
    for (const text of texts) {
      for (let cut = 0; cut < text.length + 10; cut += 3) {
        const out = scanAll(text, [cut, cut + 1, cut + 2])
        assert.deepEqual(
          out.records.map((r) => JSON.parse(r) as unknown),
          recs,
        )
      }
    }
  })

  it('keeps random records intact under random chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom('container', 'array', 'lines'),
        (recs, cuts, kind) => {
          const text =
            kind === 'container'
              ? JSON.stringify({ Records: recs })
              : kind === 'array'
                ? JSON.stringify(recs)
                : recs.map((r) => JSON.stringify(r)).join('\n')
          const out = scanAll(
            text,
            cuts.map((c) => c % (Buffer.byteLength(text) + 1)),
          )
          assert.deepEqual(
            out.records.map((r) => JSON.parse(r) as unknown),
            recs.map((r) => JSON.parse(JSON.stringify(r)) as unknown),
          )
        },
      ),
    )
  })

  it('reports non-object elements and skips over-limit records', () => {
    const big = { eventID: 'x'.repeat(5000) }
    const text = JSON.stringify({ Records: [1, 'two', [3, { a: 1 }], rec(1), big, null, rec(2)] })
    const cuts = Array.from({ length: 40 }, (_, i) => i * 300)
    const out = scanAll(text, cuts, 1000)
    assert.equal(out.records.length, 2)
    assert.equal(out.nonObjects, 4)
    assert.equal(out.oversize.length, 1)
    assert.equal(out.oversize[0], JSON.stringify(big).length)
    // In element order, whatever the chunking: 1, 'two', [...] before rec(1); big, null after it.
    assert.deepEqual(out.skipped, [
      { at: 0 },
      { at: 0 },
      { at: 0 },
      { at: 1, bytes: JSON.stringify(big).length },
      { at: 1 },
    ])
  })

  it('refuses truncated and non-JSON input', () => {
    const text = JSON.stringify({ Records: [rec(1), rec(2)] })
    assert.throws(
      () => scanAll(text.slice(0, text.length - 30)),
      (e: ScanError) => {
        assert.equal(e.code, 'TruncatedJson')
        return true
      },
    )
    assert.throws(
      () => scanAll('hello world'),
      (e: ScanError) => e.code === 'NotJson',
    )
    assert.throws(
      () => scanAll('{"a":1}}'),
      (e: ScanError) => e.code === 'UnbalancedJson',
    )
  })

  it('treats an object without Records as one record (a JSON Lines file of one line)', () => {
    const out = scanAll('{"awsAccountId":"1","logFiles":[]}')
    assert.equal(out.records.length, 1)
  })
})
