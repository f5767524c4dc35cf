import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { readAllRows, readPage, ResultWriter } from './result-file.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ot-result-file-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const row = (i: number): (string | null)[] => [
  String(i),
  i % 5 === 0 ? null : `é ${'x'.repeat(i % 9)}`,
]

describe('domains/lake/result-file: rows written as they stream, read back by page', () => {
  it('pages across chunk and block boundaries return exactly the rows written', async () => {
    const file = join(dir, 'q.jsonl')
    const w = new ResultWriter(file)
    const n = 2_501
    // Chunks of 700 rows: block starts (every 1000th row) fall inside chunks.
    for (let i = 0; i < n; i += 700) {
      await w.write(Array.from({ length: Math.min(700, n - i) }, (_, k) => row(i + k)))
    }
    const offsets = await w.close()
    assert.equal(offsets.length, 4, 'rows 0, 1000, 2000 and the size')
    for (const [first, count] of [
      [0, 1000],
      [999, 3],
      [1000, 1000],
      [1500, 1000],
      [2499, 2],
      [2500, 1],
    ] as const) {
      const got = await readPage(file, offsets, first, count)
      assert.deepEqual(
        got,
        Array.from({ length: count }, (_, k) => row(first + k)),
        `rows ${first}..${first + count - 1}`,
      )
    }
    assert.equal((await readAllRows(file)).length, n)
  })

  it('an empty result has one offset, its size 0', async () => {
    const w = new ResultWriter(join(dir, 'empty.jsonl'))
    assert.deepEqual(await w.close(), [0])
  })
})
