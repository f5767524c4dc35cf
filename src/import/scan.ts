/**
 * @module import/scan
 * One run over an import source: the listing (files outside the time window skipped, files the
 * manifest has as done left out, digest files read first with --validate-digests) feeds a queue
 * that `concurrency` workers drain, each importing one file at a time (file-import.ts) and
 * appending its entry to the job's manifest.
 */
import { gunzipSync } from 'node:zlib'
import type { Clock } from '../shared/clock.js'
import type { FileImporter } from './file-import.js'
import { Aborted, baseName, ImportError, type Job, newEntry, type RunContext } from './job.js'
import { addEntry, type FileEntry } from './manifest.js'
import { deliveryTimeOf, type SourceFile } from './sources.js'

/** Files delivered this long after --end-time are not read (CloudTrail delivers within minutes). */
export const END_TIME_SLACK_MS = 86_400_000

/**
 * Lists the source and imports its files, `concurrency` at a time, as the listing goes; each file's
 * manifest entry is appended when it is done. Errors end the run through `job.fail`.
 */
export async function runFiles(
  job: Job,
  ctx: RunContext,
  files: FileImporter,
  clock: Clock,
): Promise<void> {
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
      throw files.retentionError(f.key, ctx)
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
        ctx.digests = await loadDigests(
          job,
          ctx,
          all.filter((f) => f.digest),
          clock,
        )
        for (const f of all) if (!f.digest) accept(f)
      }
      job.info.listingComplete = true
    } catch (err) {
      job.fail(
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
        entry = await files.process(job, f, ctx)
      } catch (err) {
        if (err instanceof Aborted || ctx.signal.aborted) return
        job.fail(err as Error)
        return
      } finally {
        job.live.delete(f.key)
      }
      entry.t = clock.now().toISOString()
      const previous = job.store!.files.get(f.key)
      if (previous) addEntry(stats, previous, -1)
      addEntry(stats, entry)
      try {
        await job.store!.append(entry)
      } catch (err) {
        job.fail(err as Error)
        return
      }
    }
  }
  const n = Math.max(1, job.info.request.concurrency)
  await Promise.all([lister, ...Array.from({ length: n }, worker)])
}

/** The hashValue of every log file named by the digest files; unreadable digests are recorded. */
async function loadDigests(
  job: Job,
  ctx: RunContext,
  digests: SourceFile[],
  clock: Clock,
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
      const entry = newEntry(d, clock)
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
