/**
 * @module import/service
 * The importer: a reusable service that runs import jobs inside the process that owns the
 * destination (the server, or the CLI in-process). A job lists its source, reads a few files at a
 * time, and for each file: streams it (gunzip), has a parse worker (parse-pool.ts) split, parse,
 * validate and filter its records and key them for dedupe, and only when the whole file has been
 * read without error (gzip CRC and JSON structure included) writes its records to the
 * ImportTarget in batches, then records the file in the job's manifest. A file over the staging limit is read twice instead (a checking pass,
 * then a writing pass), so memory stays bounded for any file size.
 *
 * Bad records are counted and sampled; bad files are reported and skipped; a stopped or interrupted
 * job resumes from its manifest, and deduplication in the target makes any re-read harmless.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { addEntry, JobStore, type FileEntry } from './manifest.js'
import { decompressed, FileFormatError, sha256, type ReadCounters } from './reader.js'
import {
  RetentionRefused,
  type ParseCounts,
  type ParsedChunk,
  type ParserOptions,
} from './file-parser.js'
import { ParsePool } from './parse-pool.js'
import { ScanError } from './scanner.js'
import {
  deliveryTimeOf,
  openSource,
  SourceError,
  type ImportSource,
  type SourceFile,
} from './sources.js'
import { TextBatch, type ImportTarget } from './target.js'
import {
  emptyStatistics,
  type ImportFailure,
  type ImportInfo,
  type ImportRequest,
  type ImportStatistics,
  type StoredRequest,
} from './types.js'

const DAY_MS = 86_400_000
/** Files delivered this long after --end-time are not read (CloudTrail delivers within minutes). */
export const END_TIME_SLACK_MS = DAY_MS

export class ImportError extends Error {
  constructor(
    readonly code:
      | 'InvalidImportSource'
      | 'InvalidParameter'
      | 'ImportNotFound'
      | 'OlderThanRetention'
      | 'ImportFailed',
    message: string,
  ) {
    super(message)
    this.name = code
  }
}

export interface ImportServiceOptions {
  /** Directory of the job folders (e.g. `<dataDir>/imports/jobs`). */
  dir: string
  target: ImportTarget
  logger: Logger
  clock: Clock
  /** Decoded bytes of one file's records kept before writing (default 8 MiB). */
  stageBytes?: number
  /** Records per target write (default 5000). */
  batchSize?: number
  /** Worker threads that parse files (default: CPUs - 1, 1 to 4; 0: parse on this thread). */
  parseWorkers?: number
}

interface Live {
  entry: FileEntry
  raw: number
}

interface RunContext {
  source: ImportSource
  req: StoredRequest
  start: number
  end: number
  cutoff: number
  digests?: Map<string, string>
  signal: AbortSignal
  parser: ParserOptions
}

class Job {
  store: JobStore | undefined
  controller: AbortController | undefined
  running: Promise<void> | undefined
  stats: ImportStatistics
  readonly live = new Map<string, Live>()
  fatal: Error | undefined

  constructor(public info: ImportInfo) {
    this.stats = info.statistics
  }
}

class Aborted extends Error {
  override name = 'AbortError'
}

export class ImportService {
  private readonly jobs = new Map<string, Job>()
  private readonly stageBytes: number
  private readonly batchSize: number
  private closing = false
  private readonly pool: ParsePool

  private constructor(private readonly o: ImportServiceOptions) {
    this.stageBytes = o.stageBytes ?? 8 * 1024 * 1024
    this.batchSize = o.batchSize ?? 5000
    this.pool = new ParsePool(o.parseWorkers)
  }

  /** Loads the jobs in `dir`; jobs that were running when the process ended become STOPPED. */
  static async open(o: ImportServiceOptions): Promise<ImportService> {
    const svc = new ImportService(o)
    await mkdir(o.dir, { recursive: true, mode: 0o700 })
    for (const id of await readdir(o.dir)) {
      const store = await JobStore.open(join(o.dir, id))
      const info = await store.readInfo()
      if (!info) continue
      const job = new Job(info)
      if (info.status === 'IN_PROGRESS' || info.status === 'INITIALIZING') {
        job.stats = statsFrom(store, info.statistics)
        job.info = {
          ...info,
          status: 'STOPPED',
          errorMessage:
            'Interrupted: the process stopped during the import. Start the same import again to resume it.',
          updatedAt: o.clock.now().toISOString(),
          statistics: job.stats,
        }
        await store.saveInfo(job.info)
      }
      await store.close()
      svc.jobs.set(info.importId, job)
    }
    return svc
  }

  /**
   * Starts an import, or resumes the unfinished one with the same source and options (or returns it
   * while it runs).
   */
  async start(req: ImportRequest, owner?: { accountId: string }): Promise<ImportInfo> {
    if (this.closing) throw new ImportError('ImportFailed', 'The import service is shutting down.')
    const stored = normalize(req)
    await openSource(stored.source, { endpointUrl: stored.s3EndpointUrl, region: stored.s3Region })
      .then((s) => (stored.source = s.location))
      .catch((err: unknown) => {
        throw new ImportError('InvalidImportSource', (err as Error).message)
      })
    const fp = fingerprint(stored)
    const same = [...this.jobs.values()].find(
      (j) =>
        fingerprint(j.info.request) === fp &&
        j.info.ownerAccountId === owner?.accountId &&
        j.info.status !== 'COMPLETED',
    )
    let job: Job
    if (same) {
      if (same.running) return this.snapshot(same)
      job = same
      job.info = { ...job.info, request: { ...job.info.request, concurrency: stored.concurrency } }
    } else {
      const now = this.o.clock.now().toISOString()
      const id = randomUUID()
      job = new Job({
        importId: id,
        source: stored.source,
        request: stored,
        status: 'INITIALIZING',
        createdAt: now,
        updatedAt: now,
        ...(owner ? { ownerAccountId: owner.accountId } : {}),
        listingComplete: false,
        statistics: emptyStatistics(),
      })
      this.jobs.set(id, job)
    }
    job.store = await JobStore.open(join(this.o.dir, job.info.importId))
    job.stats = statsFrom(job.store, emptyStatistics())
    job.fatal = undefined
    job.controller = new AbortController()
    await this.setStatus(job, 'INITIALIZING')
    job.running = this.run(job).finally(() => {
      job.running = undefined
    })
    return this.snapshot(job)
  }

  get(id: string): ImportInfo | undefined {
    const job = this.jobs.get(id)
    return job ? this.snapshot(job) : undefined
  }

  /** Newest first. */
  list(): ImportInfo[] {
    return [...this.jobs.values()]
      .map((j) => this.snapshot(j))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
  }

  /** Bad files and sampled bad records, in file order. */
  async failures(id: string): Promise<ImportFailure[]> {
    const job = this.jobs.get(id)
    if (!job) throw new ImportError('ImportNotFound', `Import ${id} does not exist.`)
    const store = job.store ?? (await JobStore.open(join(this.o.dir, id)))
    const out: ImportFailure[] = []
    const entries = [...store.files.values()].sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    for (const e of entries) {
      if (e.st === 'failed' && e.err) {
        out.push({
          location: e.k,
          kind: 'file',
          errorType: e.err.type,
          errorMessage: e.err.message,
          time: e.t,
        })
      }
      for (const s of e.samples ?? []) {
        out.push({
          location: `${e.k}#${s.i}`,
          kind: 'record',
          errorType: s.type,
          errorMessage: s.msg,
          time: e.t,
          ...(s.id ? { eventID: s.id } : {}),
        })
      }
    }
    if (!job.store) await store.close()
    return out
  }

  /** Stops a running import; it can be resumed by starting it again. */
  async stop(id: string): Promise<ImportInfo> {
    const job = this.jobs.get(id)
    if (!job) throw new ImportError('ImportNotFound', `Import ${id} does not exist.`)
    job.controller?.abort()
    await job.running
    return this.snapshot(job)
  }

  /** Resolves with the final state when the import ends. */
  async wait(id: string): Promise<ImportInfo> {
    const job = this.jobs.get(id)
    if (!job) throw new ImportError('ImportNotFound', `Import ${id} does not exist.`)
    await job.running
    return this.snapshot(job)
  }

  /** Stops every running import (they resume when started again). */
  async close(): Promise<void> {
    this.closing = true
    const running = [...this.jobs.values()].filter((j) => j.running !== undefined)
    for (const j of running) j.controller?.abort()
    await Promise.all(running.map((j) => j.running!))
    await this.pool.close()
  }

  private snapshot(job: Job): ImportInfo {
    const s: ImportStatistics = {
      ...job.stats,
      rejectedByReason: { ...job.stats.rejectedByReason },
    }
    for (const l of job.live.values()) {
      addEntry(s, { ...l.entry, s: 0 })
      s.bytesCompleted += Math.min(l.raw, l.entry.s)
      if (l.entry.st === 'done') s.filesCompleted--
      else s.filesFailed--
    }
    return { ...job.info, statistics: s }
  }

  private async setStatus(job: Job, status: ImportInfo['status'], error?: string): Promise<void> {
    job.info = {
      ...job.info,
      status,
      updatedAt: this.o.clock.now().toISOString(),
      statistics: job.stats,
    }
    if (error === undefined) delete job.info.errorMessage
    else job.info.errorMessage = error
    await job.store!.saveInfo({ ...job.info, statistics: this.snapshot(job).statistics })
  }

  private async run(job: Job): Promise<void> {
    const signal = job.controller!.signal
    const req = job.info.request
    try {
      await this.o.target.ready()
      const retention = this.o.target.retentionDays()
      const now = this.o.clock.now().getTime()
      job.info.retentionDays = retention
      job.info.listingComplete = false
      const source = await openSource(req.source, {
        endpointUrl: req.s3EndpointUrl,
        region: req.s3Region,
      })
      const start = req.startTime ? Date.parse(req.startTime) : -Infinity
      const end = req.endTime ? Date.parse(req.endTime) : Infinity
      const cutoff = retention === undefined ? -Infinity : now - retention * DAY_MS
      const ctx: RunContext = {
        source,
        req,
        start,
        end,
        cutoff,
        signal,
        parser: {
          start,
          end,
          cutoff,
          mode: req.olderThanRetention,
          ...(req.accounts?.length ? { accounts: req.accounts } : {}),
          ...(req.regions?.length ? { regions: req.regions } : {}),
        },
      }
      await this.setStatus(job, 'IN_PROGRESS')
      await this.runFiles(job, ctx)
      if (signal.aborted) throw job.fatal ?? new Aborted('stopped')
      await this.setStatus(job, 'COMPLETED')
      this.o.logger.info(
        { importId: job.info.importId, ...this.snapshot(job).statistics },
        'Import completed.',
      )
    } catch (err) {
      const fatal = job.fatal ?? (err instanceof Aborted ? undefined : (err as Error))
      if (fatal) {
        this.o.logger.warn({ importId: job.info.importId, err: fatal.message }, 'Import failed.')
        await this.setStatus(job, 'FAILED', fatal.message).catch(() => undefined)
      } else {
        const why = this.closing
          ? 'Stopped: the server shut down. Start the same import again to resume it.'
          : 'Stopped on request. Start the same import again to resume it.'
        await this.setStatus(job, 'STOPPED', why).catch(() => undefined)
      }
    } finally {
      await job.store?.close()
      job.store = undefined
      job.controller = undefined
    }
  }

  private fail(job: Job, err: Error): void {
    job.fatal ??= err
    job.controller?.abort()
  }

  private async runFiles(job: Job, ctx: RunContext): Promise<void> {
    const queue: SourceFile[] = []
    let listingDone = false
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const stats = job.stats
    stats.filesFound = 0
    stats.bytesFound = 0
    stats.filesSkipped = 0
    const all: SourceFile[] | undefined = job.info.request.validateDigests ? [] : undefined

    const accept = (f: SourceFile): void => {
      const delivered = deliveryTimeOf(f.key)
      stats.filesFound++
      stats.bytesFound += f.size
      if (
        delivered !== undefined &&
        (delivered < ctx.start || delivered > ctx.end + END_TIME_SLACK_MS)
      ) {
        stats.filesSkipped++
        stats.bytesCompleted += f.size
        return
      }
      const done = job.store!.files.get(f.key)
      if (done && done.st === 'done' && done.v === f.version && done.s === f.size) return
      if (
        ctx.req.olderThanRetention === 'refuse' &&
        delivered !== undefined &&
        delivered < ctx.cutoff
      ) {
        throw this.retentionError(f.key, ctx)
      }
      queue.push(f)
      notify()
    }

    const lister = (async () => {
      try {
        for await (const f of ctx.source.list()) {
          if (ctx.signal.aborted) break
          if (all) all.push(f)
          else if (!f.digest) accept(f)
        }
        if (all) {
          ctx.digests = await this.loadDigests(
            job,
            ctx,
            all.filter((f) => f.digest),
          )
          for (const f of all) if (!f.digest) accept(f)
        }
        job.info.listingComplete = true
      } catch (err) {
        this.fail(
          job,
          err instanceof ImportError
            ? err
            : new ImportError(
                'InvalidImportSource',
                `Listing ${ctx.req.source} failed: ${(err as Error).message}`,
              ),
        )
      } finally {
        listingDone = true
        notify()
      }
    })()

    const worker = async (): Promise<void> => {
      for (;;) {
        if (ctx.signal.aborted) return
        const f = queue.shift()
        if (!f) {
          if (listingDone) return
          await new Promise<void>((r) => {
            const prev = wake
            wake = () => {
              prev?.()
              r()
            }
          })
          continue
        }
        let entry: FileEntry
        try {
          entry = await this.processFile(job, f, ctx)
        } catch (err) {
          if (err instanceof Aborted || ctx.signal.aborted) return
          this.fail(job, err as Error)
          return
        } finally {
          job.live.delete(f.key)
        }
        entry.t = this.o.clock.now().toISOString()
        const previous = job.store!.files.get(f.key)
        if (previous) addEntry(stats, previous, -1)
        addEntry(stats, entry)
        try {
          await job.store!.append(entry)
        } catch (err) {
          this.fail(job, err as Error)
          return
        }
      }
    }
    const n = Math.max(1, job.info.request.concurrency)
    await Promise.all([lister, ...Array.from({ length: n }, worker)])
  }

  private retentionError(where: string, ctx: RunContext): ImportError {
    const days = Math.round((this.o.clock.now().getTime() - ctx.cutoff) / DAY_MS)
    return new ImportError(
      'OlderThanRetention',
      `${where} holds events older than ${this.o.target.description}'s retention of ${days} days ` +
        `(before ${new Date(ctx.cutoff).toISOString()}). Nothing from this file was imported. ` +
        `Choose how to import them: raise retentionDays in the server config (up to 3650) and ` +
        `restart the server to keep them searchable; or start again with ` +
        `--older-than-retention import (they are imported and reach trails and other sinks, but ` +
        `Event History drops them at its next hourly retention sweep) or --older-than-retention ` +
        `skip (they are left out and counted).`,
    )
  }

  private async loadDigests(
    job: Job,
    ctx: RunContext,
    digests: SourceFile[],
  ): Promise<Map<string, string>> {
    const map = new Map<string, string>()
    for (const d of digests) {
      try {
        const stream = await ctx.source.open(d)
        const chunks: Buffer[] = []
        for await (const c of stream) chunks.push(c as Buffer)
        let body = Buffer.concat(chunks)
        if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body)
        const json = JSON.parse(body.toString('utf8')) as {
          logFiles?: { s3Object?: string; hashValue?: string }[]
        }
        if (!Array.isArray(json.logFiles)) throw new Error('no logFiles list')
        for (const l of json.logFiles) {
          if (typeof l.s3Object === 'string' && typeof l.hashValue === 'string')
            map.set(baseName(l.s3Object), l.hashValue.toLowerCase())
        }
      } catch (err) {
        const entry = newEntry(d, this.o.clock)
        entry.st = 'failed'
        entry.err = {
          type: 'InvalidDigest',
          message: `Not a readable digest file: ${(err as Error).message}`,
        }
        addEntry(job.stats, entry)
        await job.store!.append(entry)
      }
    }
    return map
  }

  /** Reads, checks and writes one file; returns its manifest entry (done or failed). */
  private async processFile(job: Job, file: SourceFile, ctx: RunContext): Promise<FileEntry> {
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
          if (staged.chars > this.stageBytes) {
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
          if (staged.length >= this.batchSize) await this.writeStaged(staged, entry, false)
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
    while (staged.length >= this.batchSize || (all && staged.length > 0)) {
      writes.push(
        this.o.target.write(staged.take(this.batchSize)).then((r) => {
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
    const parser = this.pool.open(ctx.parser)
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

function newEntry(f: SourceFile, clock: Clock): FileEntry {
  return {
    k: f.key,
    v: f.version,
    s: f.size,
    st: 'done',
    ev: 0,
    dup: 0,
    flt: 0,
    rej: 0,
    old: 0,
    t: clock.now().toISOString(),
  }
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1)
}

function statsFrom(store: JobStore, base: ImportStatistics): ImportStatistics {
  const s: ImportStatistics = {
    ...emptyStatistics(),
    filesFound: base.filesFound,
    bytesFound: base.bytesFound,
    filesSkipped: base.filesSkipped,
  }
  for (const e of store.files.values()) addEntry(s, e)
  return s
}

function fingerprint(r: StoredRequest): string {
  const rest: Partial<StoredRequest> = { ...r }
  delete rest.concurrency
  return JSON.stringify(rest, Object.keys(rest).sort())
}

function normalize(req: ImportRequest): StoredRequest {
  if (!req.source || typeof req.source !== 'string')
    throw new ImportError('InvalidParameter', 'The import source is required.')
  const bad = (m: string) => new ImportError('InvalidParameter', m)
  for (const [name, d] of [
    ['startTime', req.startTime],
    ['endTime', req.endTime],
  ] as const) {
    if (d && Number.isNaN(d.getTime())) throw bad(`${name} is not a valid time.`)
  }
  if (req.startTime && req.endTime && req.startTime > req.endTime)
    throw bad('The start time must not be after the end time.')
  const concurrency = req.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw bad('Concurrency must be an integer from 1 to 64.')
  const mode = req.olderThanRetention ?? 'refuse'
  if (!['refuse', 'import', 'skip'].includes(mode))
    throw bad('olderThanRetention must be refuse, import or skip.')
  const out: StoredRequest = { source: req.source, olderThanRetention: mode, concurrency }
  if (req.startTime) out.startTime = req.startTime.toISOString()
  if (req.endTime) out.endTime = req.endTime.toISOString()
  if (req.accounts?.length) out.accounts = [...new Set(req.accounts)].sort()
  if (req.regions?.length) out.regions = [...new Set(req.regions)].sort()
  if (req.validateDigests) out.validateDigests = true
  if (req.s3EndpointUrl) out.s3EndpointUrl = req.s3EndpointUrl
  if (req.s3Region) out.s3Region = req.s3Region
  return out
}
