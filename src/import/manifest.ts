/**
 * @module import/manifest
 * The durable state of one import, in `imports/jobs/<id>/`: `job.json` (the request and status,
 * replaced atomically) and `files.jsonl`, the manifest: one line per file that finished (imported
 * or failed), appended and fsynced in groups. A file is written to the manifest only after all of
 * its events were acknowledged, so a resumed import skips exactly the files that are complete and
 * reads the others again (deduplication drops what an interrupted file had already written). The
 * statistics of an import are the sums over its manifest; a torn last line is ignored.
 */
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import type { ImportInfo, ImportStatistics } from './types.js'

export interface RecordSample {
  /** The record's position in the file (0-based). */
  i: number
  id?: string
  type: string
  msg: string
}

export interface FileEntry {
  k: string
  v: string
  s: number
  st: 'done' | 'failed'
  ev: number
  dup: number
  flt: number
  rej: number
  old: number
  rr?: Record<string, number>
  err?: { type: string; message: string }
  samples?: RecordSample[]
  t: string
}

export class JobStore {
  readonly files = new Map<string, FileEntry>()
  private fh: FileHandle | undefined
  private queue: { line: string; done: (err?: Error) => void }[] = []
  private flushing = false

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<JobStore> {
    const store = new JobStore(dir)
    const path = join(dir, 'files.jsonl')
    let text = ''
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    let good = 0
    let at = 0
    while (at < text.length) {
      const nl = text.indexOf('\n', at)
      if (nl < 0) break
      try {
        const e = JSON.parse(text.slice(at, nl)) as FileEntry
        store.files.set(e.k, e)
      } catch {
        break
      }
      at = nl + 1
      good = Buffer.byteLength(text.slice(0, at))
    }
    if (good < Buffer.byteLength(text)) await truncate(path, good)
    return store
  }

  async readInfo(): Promise<ImportInfo | undefined> {
    return readJsonFile<ImportInfo>(join(this.dir, 'job.json'))
  }

  async saveInfo(info: ImportInfo): Promise<void> {
    await writeJsonFileAtomic(join(this.dir, 'job.json'), info, 0o600)
  }

  /** Appends a manifest line durably (grouped with concurrent appends into one fsync). */
  append(entry: FileEntry): Promise<void> {
    this.files.set(entry.k, entry)
    return new Promise((resolve, reject) => {
      this.queue.push({
        line: JSON.stringify(entry) + '\n',
        done: (e?: Error) => (e ? reject(e) : resolve()),
      })
      if (!this.flushing) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        try {
          this.fh ??= await open(join(this.dir, 'files.jsonl'), 'a', 0o600)
          await this.fh.write(batch.map((b) => b.line).join(''))
          await this.fh.datasync()
          for (const b of batch) b.done()
        } catch (err) {
          for (const b of batch) b.done(err as Error)
        }
      }
    } finally {
      this.flushing = false
    }
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5))
    await this.fh?.close()
    this.fh = undefined
  }
}

/** Adds a manifest entry's figures to statistics (or, with sign -1, takes them away). */
export function addEntry(s: ImportStatistics, e: FileEntry, sign = 1): void {
  if (e.st === 'done') s.filesCompleted += sign
  else s.filesFailed += sign
  s.bytesCompleted += sign * e.s
  s.eventsImported += sign * e.ev
  s.duplicatesSkipped += sign * e.dup
  s.eventsFiltered += sign * e.flt
  s.recordsRejected += sign * e.rej
  s.eventsOlderThanRetention += sign * e.old
  for (const [k, n] of Object.entries(e.rr ?? {})) {
    s.rejectedByReason[k] = (s.rejectedByReason[k] ?? 0) + sign * n
    if (s.rejectedByReason[k] === 0) delete s.rejectedByReason[k]
  }
}
