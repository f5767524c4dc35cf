/**
 * @module objectstore/local-files
 * Crash-safe file commits for the local store. New files are written to `.tmp/` and fsynced; a
 * commit records its renames in a `.journal/` entry, performs them and drops the entry, and
 * `recover()` rolls interrupted commits forward and deletes temp files no commit names. Also the
 * small file-system helpers the store's modules share (not-found checks, directory fsync, whole
 * and hashed reads, short-write-safe writes).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

interface JournalEntry {
  renames: [string, string][]
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path)
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}

export async function readWhole(fh: FileHandle, size: number): Promise<Buffer> {
  const body = Buffer.alloc(size)
  let off = 0
  while (off < body.length) {
    const { bytesRead } = await fh.read(body, off, body.length - off, off)
    if (bytesRead === 0) break
    off += bytesRead
  }
  return body.subarray(0, off)
}

export async function md5OfHandle(fh: FileHandle): Promise<string> {
  const hash = createHash('md5')
  const buf = Buffer.allocUnsafe(1 << 20)
  let pos = 0
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
    if (bytesRead === 0) break
    hash.update(buf.subarray(0, bytesRead))
    pos += bytesRead
  }
  return hash.digest('hex')
}

/** Writes all of `chunk` at the handle's position (a write may be short). */
export async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off)
    off += bytesWritten
  }
}

export class FileCommits {
  readonly tmpDir: string
  private readonly journalDir: string

  constructor(private readonly root: string) {
    this.tmpDir = join(root, '.tmp')
    this.journalDir = join(root, '.journal')
  }

  /** Creates `.tmp/` and `.journal/` (then `recover()` finishes what a crash interrupted). */
  async open(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 })
    await mkdir(this.journalDir, { recursive: true, mode: 0o700 })
  }

  async recover(): Promise<void> {
    for (const name of await readdir(this.journalDir)) {
      const path = join(this.journalDir, name)
      let entry: JournalEntry | undefined
      try {
        entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry
      } catch {
        entry = undefined // torn entry: it was never complete, so no rename had started
      }
      for (const [from, to] of entry?.renames ?? []) {
        try {
          await rename(from, to)
        } catch (err) {
          if (!isNotFound(err)) throw err
        }
      }
      await unlink(path)
    }
    // Temp files that no journal entry names belong to puts that never committed.
    for (const name of await readdir(this.tmpDir))
      await rm(join(this.tmpDir, name), { force: true })
    await fsyncDir(this.root)
  }

  /** A fresh path in `.tmp/`. */
  tempPath(): string {
    return join(this.tmpDir, randomBytes(12).toString('hex'))
  }

  /** Writes `data` to a fresh temp file and fsyncs it. */
  async writeTemp(data: Buffer): Promise<string> {
    const tmp = this.tempPath()
    const fh = await open(tmp, 'w', 0o644)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    return tmp
  }

  /**
   * Journals `renames`, performs them, runs `after` (the entry still stands, so a crash in it is
   * rolled forward) and drops the entry.
   */
  async commit(renames: [string, string][], after: () => Promise<void>): Promise<void> {
    const journal = join(this.journalDir, randomBytes(12).toString('hex') + '.json')
    const jfh = await open(journal, 'w', 0o600)
    try {
      await jfh.writeFile(JSON.stringify({ renames } satisfies JournalEntry))
      await jfh.sync()
    } finally {
      await jfh.close()
    }
    for (const [from, to] of renames) await rename(from, to)
    await after()
    await unlink(journal)
  }
}
