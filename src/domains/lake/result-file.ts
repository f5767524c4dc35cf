/**
 * @module domains/lake/result-file
 * A finished query's rows on disk: `<id>.jsonl`, one JSON array of cells per line, written as the
 * query streams its chunks (a large result is never held in memory whole), with the byte offset of
 * every 1000th row so that a GetQueryResults page reads at most two blocks.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import type { ResultRow } from '../../lake/engine.js'

const OFFSET_EVERY = 1000

/** Appends rows to a result file; `close` returns the offsets of rows 0, 1000, 2000, ... and the size. */
export class ResultWriter {
  private readonly out: WriteStream
  private readonly done: Promise<void>
  private readonly offsets: number[] = []
  private at = 0
  private count = 0

  constructor(file: string) {
    this.out = createWriteStream(file, { mode: 0o600 })
    this.done = new Promise<void>((ok, fail) => {
      this.out.on('finish', ok)
      this.out.on('error', fail)
    })
    // An error before close is reported by close.
    this.done.catch(() => undefined)
  }

  async write(rows: ResultRow[]): Promise<void> {
    let text = ''
    for (const row of rows) {
      if (this.count++ % OFFSET_EVERY === 0) this.offsets.push(this.at + Buffer.byteLength(text))
      text += JSON.stringify(row) + '\n'
    }
    this.at += Buffer.byteLength(text)
    if (!this.out.write(text)) {
      // A failed stream never drains: its error ends the wait.
      await Promise.race([new Promise<void>((ok) => this.out.once('drain', () => ok())), this.done])
    }
  }

  async close(): Promise<number[]> {
    this.out.end()
    await this.done
    return [...this.offsets, this.at]
  }

  /** Stops writing (the query failed); the caller removes the file. */
  abort(): void {
    this.out.destroy()
  }
}

/** Rows `first` to `first + count - 1` (count ≤ 1000) of a result file with these offsets. */
export async function readPage(
  file: string,
  offsets: number[],
  first: number,
  count: number,
): Promise<ResultRow[]> {
  const block = Math.floor(first / OFFSET_EVERY)
  const blocks = Math.ceil((first + count - block * OFFSET_EVERY) / OFFSET_EVERY)
  const from = offsets[block]!
  const to = offsets[Math.min(block + blocks, offsets.length - 1)]!
  const fh = await open(file, 'r')
  let text: string
  try {
    const buf = Buffer.alloc(to - from)
    await fh.read(buf, 0, buf.length, from)
    text = buf.toString('utf8')
  } finally {
    await fh.close()
  }
  const skip = first - block * OFFSET_EVERY
  return text
    .split('\n')
    .slice(skip, skip + count)
    .map((line) => JSON.parse(line) as ResultRow)
}

/** Every row of a result file. */
export async function readAllRows(file: string): Promise<ResultRow[]> {
  const text = await readFile(file, 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ResultRow)
}
