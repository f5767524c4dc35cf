/**
 * @module import/file-import
 * Importing one file: it is streamed (gunzip), a parse worker (parse-pool.ts) splits, parses,
 * validates and filters its records and keys them for dedupe, and only when the whole file has been
 * read without error (gzip CRC, JSON structure and, with --validate-digests, its SHA-256) are its
 * records written to the ImportTarget in batches. A file over the staging limit is read twice
 * instead (a checking pass, then a writing pass), so memory stays bounded for any file size. The
 * result is the file's manifest entry: done with its counts, or failed with the reason.
 */
import type { Clock } from '../shared/clock.js'
import {
  Aborted,
  baseName,
  type ImportError,
  type Job,
  type Live,
  newEntry,
  retentionError,
  type RunContext,
} from './job.js'
import type { FileEntry } from './manifest.js'
import { decompressed, FileFormatError, sha256, type ReadCounters } from './reader.js'
import { RetentionRefused, type ParseCounts, type ParsedChunk } from './file-parser.js'
import type { ParsePool } from './parse-pool.js'
import { ScanError } from './scanner.js'
import { SourceError, type SourceFile } from './sources.js'
import { TextBatch, type ImportTarget } from './target.js'

export interface FileImporterOptions {
  target: ImportTarget
  clock: Clock
  pool: ParsePool
  /** Decoded bytes of one file's records kept before writing. */
  stageBytes: number
  /** Records per target write. */
  batchSize: number
}

export class FileImporter {
  constructor(private readonly o: FileImporterOptions) {}

  /** The run's OlderThanRetention error for `where`. */
  retentionError(where: string, ctx: RunContext): ImportError {
    return retentionError(where, ctx, this.o.clock.now().getTime(), this.o.target.description)
  }

  /** Reads, checks and writes one file; returns its manifest entry (done or failed). */
  async process(job: Job, file: SourceFile, ctx: RunContext): Promise<FileEntry> {
    const entry = newEntry(file, this.o.clock)
    const live: Live = { entry, raw: 0 }
    job.live.set(file.key, live)
    const failed = (type: string, message: string): FileEntry => {
      // A bad file counts as one failure, not as its records; events a large file had already
      // written (second pass) stay counted.
      entry.st = 'failed'
      entry.err = { type, message }
      entry.flt = entry.rej = entry.old = 0
      delete entry.rr
      delete entry.samples
      return entry
    }
    let expected: string | undefined
    if (ctx.digests) {
      expected = ctx.digests.get(baseName(file.key))
      if (!expected)
        return failed(
          'NoDigest',
          'No digest file in the source lists this file (--validate-digests).',
        )
    }

    // Pass 1: read everything and stage the records; nothing is written unless the whole file
    // (gzip CRC, JSON structure) checks out. Over the staging limit, only the check goes on.
    const staged = new Staging()
    let large = false
    const hash = expected ? sha256() : undefined
    let counts: ParseCounts
    try {
      counts = await this.readFile(
        ctx,
        file,
        live,
        hash,
        (out) => {
          if (large) return
          staged.add(out)
          if (staged.chars > this.o.stageBytes) {
            large = true
            staged.clear()
          }
        },
        () => large,
      )
    } catch (err) {
      if (isFileError(err)) return failed(errorType(err), err.message)
      if (err instanceof RetentionRefused) throw this.retentionError(file.key, ctx)
      throw err
    }
    if (hash && hash.digest('hex') !== expected) {
      return failed(
        'DigestMismatch',
        'The SHA-256 of the file content differs from the hashValue in its digest file.',
      )
    }
    if (!large) {
      if (!counts.sawContainer && counts.candidates === 0)
        return failed('NotCloudTrail', notCloudTrailMessage(counts))
      setCounts(entry, counts)
      await this.writeStaged(staged, entry, true)
      return entry
    }

    // Pass 2 (large files only): the structure checked out; read again and write as we go.
    live.raw = 0
    try {
      counts = await this.readFile(
        ctx,
        file,
        live,
        undefined,
        (out) => staged.add(out),
        () => false,
        async () => {
          if (staged.length >= this.o.batchSize) await this.writeStaged(staged, entry, false)
        },
      )
      setCounts(entry, counts)
      await this.writeStaged(staged, entry, true)
    } catch (err) {
      if (err instanceof RetentionRefused) throw this.retentionError(file.key, ctx)
      if (isFileError(err)) {
        return failed(
          errorType(err),
          `${err.message} (on the second read of a large file; ${entry.ev} events were imported ` +
            `before it, and are not imported again when the file is read once more)`,
        )
      }
      throw err
    }
    return entry
  }

  /** Writes staged batches, all at once: the event log commits them in one group. */
  private async writeStaged(staged: Staging, entry: FileEntry, all: boolean): Promise<void> {
    const writes: Promise<void>[] = []
    while (staged.length >= this.o.batchSize || (all && staged.length > 0)) {
      writes.push(
        this.o.target.write(staged.take(this.o.batchSize)).then((r) => {
          entry.ev += r.written
          entry.dup += r.duplicates
        }),
      )
    }
    const results = await Promise.allSettled(writes)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  }

  private async readFile(
    ctx: RunContext,
    file: SourceFile,
    live: Live,
    hash: ReturnType<typeof sha256> | undefined,
    onChunk: (out: ParsedChunk) => void,
    scanOnly: () => boolean,
    afterChunk?: () => Promise<void>,
  ): Promise<ParseCounts> {
    const parser = this.o.pool.open(ctx.parser)
    try {
      let stream
      try {
        stream = await ctx.source.open(file)
      } catch (err) {
        throw new FileFormatError('ReadError', `Opening failed: ${(err as Error).message}`)
      }
      const counters: ReadCounters = { rawBytes: 0, bytes: 0, gzip: false }
      for await (const chunk of decompressed(stream, counters, {
        ...(hash ? { hash } : {}),
        onRaw: (n) => (live.raw += n),
      })) {
        if (ctx.signal.aborted) throw new Aborted('stopped')
        onChunk(await parser.push(chunk, scanOnly()))
        await afterChunk?.()
      }
      return await parser.end()
    } finally {
      parser.close()
    }
  }
}

/** Parsed chunks waiting to be written, taken out in batches. */
class Staging {
  private chunks: ParsedChunk[] = []
  private offset = 0
  length = 0
  chars = 0

  add(c: ParsedChunk): void {
    if (c.texts.length === 0) return
    this.chunks.push(c)
    this.length += c.texts.length
    for (const t of c.texts) this.chars += t.length
  }

  clear(): void {
    this.chunks = []
    this.offset = 0
    this.length = 0
    this.chars = 0
  }

  take(max: number): TextBatch {
    const n = Math.min(max, this.length)
    const texts = new Array<string>(n)
    const times = new Float64Array(n)
    const keys = new Uint32Array(n * 4)
    let k = 0
    while (k < n) {
      const c = this.chunks[0]!
      const m = Math.min(n - k, c.texts.length - this.offset)
      for (let j = 0; j < m; j++) {
        const t = c.texts[this.offset + j]!
        texts[k + j] = t
        this.chars -= t.length
      }
      times.set(c.timesMs.subarray(this.offset, this.offset + m), k)
      keys.set(c.keys.subarray(this.offset * 4, (this.offset + m) * 4), k * 4)
      k += m
      this.offset += m
      if (this.offset === c.texts.length) {
        this.chunks.shift()
        this.offset = 0
      }
    }
    this.length -= n
    return new TextBatch(texts, times, keys)
  }
}

function setCounts(entry: FileEntry, c: ParseCounts): void {
  entry.flt = c.filtered
  entry.rej = c.rejected
  entry.old = c.older
  if (c.rejected > 0) {
    entry.rr = c.byReason
    entry.samples = c.samples
  }
}

function isFileError(err: unknown): err is ScanError | FileFormatError | SourceError {
  return err instanceof ScanError || err instanceof FileFormatError || err instanceof SourceError
}

function errorType(err: ScanError | FileFormatError | SourceError): string {
  return err instanceof SourceError ? 'ReadError' : err.code
}

function notCloudTrailMessage(c: ParseCounts): string {
  const first = c.firstReject
  if (!first) return 'The file holds no CloudTrail records (no Records array and no event objects).'
  return `The file holds no CloudTrail records: ${c.rejected} record(s) rejected, the first: ${first.reason}: ${first.message}`
}
