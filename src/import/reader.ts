/**
 * @module import/reader
 * Turns a file's byte stream into decompressed chunks: gzip is recognised by its magic bytes (not
 * by the name) and inflated on libuv's thread pool; anything else passes through. The counts of
 * raw and decompressed bytes, and optionally the SHA-256 of the decompressed content (what a
 * CloudTrail digest file records), are kept as the stream is read.
 */
import { createHash, type Hash } from 'node:crypto'
import { pipeline, Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

export interface ReadCounters {
  rawBytes: number
  bytes: number
  gzip: boolean
}

export class FileFormatError extends Error {
  constructor(
    readonly code: 'CorruptGzip' | 'ReadError',
    message: string,
  ) {
    super(message)
    this.name = code
  }
}

/**
 * Yields the decompressed content of `stream` in chunks. `counters` is updated as it goes; with
 * `hash`, the decompressed bytes are hashed too. Stopping early destroys the stream.
 */
export async function* decompressed(
  stream: Readable,
  counters: ReadCounters,
  opts: { hash?: Hash; onRaw?: (n: number) => void } = {},
): AsyncGenerator<Buffer> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let head: Buffer = Buffer.alloc(0)
  try {
    while (head.length < 2) {
      const n = await it.next()
      if (n.done) break
      head = head.length === 0 ? n.value : Buffer.concat([head, n.value])
    }
  } catch (err) {
    stream.destroy()
    throw readError(err)
  }
  counters.rawBytes += head.length
  opts.onRaw?.(head.length)
  const rest = async function* (): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head
    for (;;) {
      let n: IteratorResult<Buffer>
      try {
        n = await it.next()
      } catch (err) {
        throw readError(err)
      }
      if (n.done) return
      counters.rawBytes += n.value.length
      opts.onRaw?.(n.value.length)
      yield n.value
    }
  }
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
  counters.gzip = gzip
  let source: AsyncIterable<Buffer>
  let cleanup = (): void => {
    stream.destroy()
  }
  if (gzip) {
    const raw = Readable.from(rest(), { objectMode: false })
    const gunzip = createGunzip({ chunkSize: 256 * 1024 })
    pipeline(raw, gunzip, () => undefined)
    source = gunzip
    cleanup = () => {
      gunzip.destroy()
      raw.destroy()
      stream.destroy()
    }
  } else source = rest()
  try {
    for await (const chunk of source) {
      const b = chunk
      counters.bytes += b.length
      opts.hash?.update(b)
      yield b
    }
  } catch (err) {
    if (err instanceof FileFormatError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (gzip && code.startsWith('Z_')) {
      throw new FileFormatError(
        'CorruptGzip',
        `Corrupt gzip data after ${counters.bytes} decompressed bytes: ${(err as Error).message}`,
      )
    }
    if (gzip && /unexpected end of file/i.test((err as Error).message)) {
      throw new FileFormatError(
        'CorruptGzip',
        'The gzip stream is truncated (unexpected end of file).',
      )
    }
    throw readError(err)
  } finally {
    cleanup()
  }
}

function readError(err: unknown): Error {
  if (err instanceof FileFormatError) return err
  return new FileFormatError(
    'ReadError',
    `Reading failed: ${(err as Error).message ?? String(err)}`,
  )
}

export function sha256(): Hash {
  return createHash('sha256')
}
