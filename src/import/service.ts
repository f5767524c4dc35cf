/**
 * @module import/service
 * The importer: a reusable service that runs import jobs inside the process that owns the
 * destination (the server, or the CLI in-process). This module is the jobs' lifecycle: start (or
 * resume the unfinished job with the same source and options), stop, wait, list, the failures
 * report, statuses and statistics saved in each job's folder. A run lists its source and reads a
 * few files at a time (scan.ts); each file is checked whole before its records are written
 * (file-import.ts), then recorded in the job's manifest.
 *
 * Bad records are counted and sampled; bad files are reported and skipped; a stopped or interrupted
 * job resumes from its manifest, and deduplication in the target makes any re-read harmless.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { FileImporter } from './file-import.js'
import { Aborted, DAY_MS, ImportError, Job, type RunContext } from './job.js'
import { addEntry, JobStore } from './manifest.js'
import { ParsePool } from './parse-pool.js'
import { runFiles } from './scan.js'
import { openSource } from './sources.js'
import type { ImportTarget } from './target.js'
import {
  emptyStatistics,
  type ImportFailure,
  type ImportInfo,
  type ImportRequest,
  type ImportStatistics,
  type StoredRequest,
} from './types.js'

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

export class ImportService {
  private readonly jobs = new Map<string, Job>()
  private closing = false
  private readonly pool: ParsePool
  private readonly files: FileImporter

  private constructor(private readonly o: ImportServiceOptions) {
    this.pool = new ParsePool(o.parseWorkers)
    this.files = new FileImporter({
      target: o.target,
      clock: o.clock,
      pool: this.pool,
      stageBytes: o.stageBytes ?? 8 * 1024 * 1024,
      batchSize: o.batchSize ?? 5000,
    })
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
      await runFiles(job, ctx, this.files, this.o.clock)
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
