/**
 * @module objectstore/local-store
 * The embedded object store: a local directory acting as buckets.
 *
 * Layout under the root (`<data-dir>/buckets`):
 * - `<bucket>/<key>`: the object's bytes, one directory per `/`-separated key segment, so that
 *   delivered log files can be read with plain tools. Segments are escaped only where a file system
 *   needs it (`%` → `%25`, control characters → `%XX`, `.`/`..` → `%2E`, an empty segment → `%`).
 * - `<bucket>/<key>%meta.json`: the sidecar with content type and encoding, user metadata, ETag
 *   (MD5), checksums, size and last-modified time. No escaped segment can end in `%meta.json`, so a
 *   sidecar never collides with a key. A file without a sidecar (dropped in by hand) is served with
 *   a computed ETag and no metadata; a sidecar that does not match its file is ignored likewise.
 * - `<bucket>/%bucket.json`: creation date and bucket settings (policy, versioning, public access
 *   block, logging, encryption).
 * - When keys `a` and `a/b` both exist, the object `a` is kept as `a%obj` beside the directory `a`.
 * - `.tmp/` and `.journal/` (bucket names cannot start with a dot): a put writes body and sidecar
 *   to temp files and fsyncs them, records the two renames in a journal entry, renames, fsyncs the
 *   directory and drops the entry. `open()` rolls interrupted commits forward, so after a crash an
 *   object is either the old or the new version, body and metadata together.
 *
 * Listing walks the directory tree in S3 order (UTF-8 byte order of whole keys) and stops as soon
 * as it has enough keys; prefixes, `startAfter` and a `/` delimiter prune whole directories.
 *
 * `PutOptions.kmsKeyId` is recorded with the object (and reported as SSE-KMS); the bytes are
 * stored as given. Versioning is a recorded setting only: an overwrite replaces the object.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Dirent, Stats } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import {
  BucketNotEmptyError,
  NoSuchBucketError,
  NoSuchKeyError,
  type BucketAdmin,
  type BucketConfiguration,
  type BucketConfigurationPatch,
  type BucketInfo,
  type BucketSettings,
  type ListResult,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './port.js'

/** A bucket name that breaks S3's naming rules. */
export class InvalidBucketNameError extends Error {
  override name = 'InvalidBucketName'
}
/** A key that this store cannot hold (empty, over 1024 bytes, or a segment over 240 bytes). */
export class InvalidObjectKeyError extends Error {
  override name = 'InvalidObjectKey'
}

export type ObjectHead = Omit<StoredObject, 'body'> & {
  /** Additional checksums given at put time, e.g. `{ CRC32: 'base64…' }`. */
  checksums?: Record<string, string>
  kmsKeyId?: string
}

export interface LocalPutOptions extends PutOptions {
  checksums?: Record<string, string>
  /** The ETag to record instead of the body's MD5 (multipart objects: `<md5 of md5s>-<parts>`). */
  etag?: string
  /**
   * Called after the body is on disk and fsynced, before it replaces anything. Throwing aborts
   * the put and leaves the previous object in place (used to check payload hashes and checksums).
   */
  beforeCommit?: (written: {
    size: number
    md5: string
  }) => void | Record<string, string> | Promise<void | Record<string, string>>
}

export type ListEntry = { key: string } | { commonPrefix: string }

const META_SUFFIX = '%meta.json'
const OBJ_SUFFIX = '%obj'
const BUCKET_FILE = '%bucket.json'
const MAX_SEGMENT_BYTES = 240

interface Sidecar {
  v: 1
  etag: string
  /** MD5 of the body when the ETag is not (multipart objects). */
  md5?: string
  size: number
  mtimeMs: number
  lastModified: string
  contentType?: string
  contentEncoding?: string
  metadata: Record<string, string>
  checksums?: Record<string, string>
  kmsKeyId?: string
}

interface BucketFile {
  creationDate: string
  region?: string
  ownerAccountId?: string
  settings: BucketConfiguration
}

export interface UploadFile {
  bucket: string
  key: string
  initiated: string
  opts: PutOptions
}

/** Thrown for an unknown or finished multipart upload. */
export class NoSuchUploadError extends Error {
  override name = 'NoSuchUpload'
}
/** A CompleteMultipartUpload part list that does not match the uploaded parts. */
export class InvalidPartError extends Error {
  constructor(
    readonly code: 'InvalidPart' | 'InvalidPartOrder' | 'EntityTooSmall',
    message: string,
  ) {
    super(message)
    this.name = code
  }
}

/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024

interface JournalEntry {
  renames: [string, string][]
}

/** S3's bucket naming rules (general purpose buckets). */
export function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  )
}

export function encodeSegment(seg: string): string {
  if (seg === '') return '%'
  let out = ''
  for (const ch of seg) {
    const c = ch.codePointAt(0)!
    out +=
      ch === '%' || c < 0x20 || c === 0x7f
        ? '%' + c.toString(16).toUpperCase().padStart(2, '0')
        : ch
  }
  if (out === '.' || out === '..') out = out.replace(/\./g, '%2E')
  return out
}

export function decodeSegment(name: string): string {
  if (name === '%') return ''
  return name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
}

/** S3 orders keys by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path)
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}

async function md5OfHandle(fh: FileHandle): Promise<string> {
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

/** Serialises commits per bucket inside this process. */
class KeyedMutex {
  private tails = new Map<string, Promise<void>>()

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((r) => (release = r))
    const tail = prev.then(() => mine)
    this.tails.set(name, tail)
    await prev
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(name) === tail) this.tails.delete(name)
    }
  }
}

export class LocalObjectStore implements ObjectStore, BucketSettings, BucketAdmin {
  private readonly tmpDir: string
  private readonly journalDir: string
  private readonly uploadsDir: string
  private readonly locks = new KeyedMutex()

  private constructor(readonly root: string) {
    this.tmpDir = join(root, '.tmp')
    this.journalDir = join(root, '.journal')
    this.uploadsDir = join(root, '.uploads')
  }

  /** Opens (creating) the store at `root` and finishes any commit a crash interrupted. */
  static async open(root: string): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(root)
    await mkdir(store.tmpDir, { recursive: true, mode: 0o700 })
    await mkdir(store.journalDir, { recursive: true, mode: 0o700 })
    await mkdir(store.uploadsDir, { recursive: true, mode: 0o700 })
    await store.recover()
    return store
  }

  private async recover(): Promise<void> {
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

  // ---- buckets -------------------------------------------------------------------------------

  private bucketDir(bucket: string): string {
    if (!validBucketName(bucket))
      throw new InvalidBucketNameError(`The specified bucket is not valid: ${bucket}`)
    return join(this.root, bucket)
  }

  private async requireBucket(bucket: string): Promise<string> {
    const dir = this.bucketDir(bucket)
    const st = await statOrUndefined(dir)
    if (!st?.isDirectory())
      throw new NoSuchBucketError(`The specified bucket does not exist: ${bucket}`)
    return dir
  }

  async bucketExists(bucket: string): Promise<boolean> {
    if (!validBucketName(bucket)) return false
    const st = await statOrUndefined(join(this.root, bucket))
    return st?.isDirectory() ?? false
  }

  async createBucket(bucket: string): Promise<void> {
    await this.createBucketIfAbsent(bucket)
  }

  /** Creates the bucket; returns false (and changes nothing) when it already exists. */
  async createBucketIfAbsent(
    bucket: string,
    info: { region?: string; ownerAccountId?: string } = {},
  ): Promise<boolean> {
    const dir = this.bucketDir(bucket)
    return this.locks.run(bucket, async () => {
      try {
        await mkdir(dir, { mode: 0o755 })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw err
      }
      await this.writeBucketFile(dir, {
        creationDate: new Date().toISOString(),
        ...(info.region ? { region: info.region } : {}),
        ...(info.ownerAccountId ? { ownerAccountId: info.ownerAccountId } : {}),
        settings: {},
      })
      await fsyncDir(this.root)
      return true
    })
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const out: BucketInfo[] = []
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || !validBucketName(e.name)) continue
      out.push(this.infoOf(e.name, await this.readBucketFile(join(this.root, e.name))))
    }
    return out.sort((a, b) => compareKeys(a.name, b.name))
  }

  /** Throws NoSuchBucketError. */
  async bucketInfo(bucket: string): Promise<BucketInfo> {
    return this.infoOf(bucket, await this.readBucketFile(await this.requireBucket(bucket)))
  }

  private infoOf(name: string, f: BucketFile): BucketInfo {
    return {
      name,
      creationDate: new Date(f.creationDate),
      ...(f.region ? { region: f.region } : {}),
      ...(f.ownerAccountId ? { ownerAccountId: f.ownerAccountId } : {}),
    }
  }

  async deleteBucket(bucket: string): Promise<void> {
    const dir = await this.requireBucket(bucket)
    await this.locks.run(bucket, async () => {
      if (await this.hasAnyKey(dir))
        throw new BucketNotEmptyError('The bucket you tried to delete is not empty')
      await rm(dir, { recursive: true, force: true })
      await fsyncDir(this.root)
    })
  }

  async getBucketSettings(bucket: string): Promise<BucketConfiguration> {
    const dir = await this.requireBucket(bucket)
    return (await this.readBucketFile(dir)).settings
  }

  async putBucketSettings(
    bucket: string,
    patch: BucketConfigurationPatch,
  ): Promise<BucketConfiguration> {
    const dir = await this.requireBucket(bucket)
    return this.locks.run(bucket, async () => {
      const file = await this.readBucketFile(dir)
      const settings: Record<string, unknown> = { ...file.settings }
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete settings[k]
        else if (v !== undefined) settings[k] = v
      }
      file.settings = settings
      await this.writeBucketFile(dir, file)
      return file.settings
    })
  }

  private async readBucketFile(dir: string): Promise<BucketFile> {
    try {
      const f = JSON.parse(await readFile(join(dir, BUCKET_FILE), 'utf8')) as BucketFile
      return { ...f, settings: f.settings ?? {} }
    } catch (err) {
      if (!isNotFound(err)) throw err
      // A directory made by hand: a bucket with default settings.
      const st = await stat(dir)
      return {
        creationDate: (st.birthtimeMs ? st.birthtime : st.mtime).toISOString(),
        settings: {},
      }
    }
  }

  private async writeBucketFile(dir: string, file: BucketFile): Promise<void> {
    const tmp = await this.writeTemp(Buffer.from(JSON.stringify(file, null, 2) + '\n'))
    await rename(tmp, join(dir, BUCKET_FILE))
    await fsyncDir(dir)
  }

  // ---- key paths -----------------------------------------------------------------------------

  private segments(key: string): string[] {
    if (key === '') throw new InvalidObjectKeyError('Object keys cannot be empty.')
    if (Buffer.byteLength(key) > 1024)
      throw new InvalidObjectKeyError('Your key is too long (over 1024 bytes).')
    const segs = key.split('/').map(encodeSegment)
    for (const s of segs) {
      if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES)
        throw new InvalidObjectKeyError(
          `Key segments longer than ${MAX_SEGMENT_BYTES} bytes are not supported by the local store.`,
        )
    }
    return segs
  }

  /** Directory and escaped file name of a key inside a bucket directory. */
  private locate(bucketDir: string, key: string): { dir: string; name: string } {
    const segs = this.segments(key)
    const name = segs.pop()!
    return { dir: join(bucketDir, ...segs), name }
  }

  /** Where the object's bytes are, or undefined when there is no such object. */
  private async dataPath(dir: string, name: string): Promise<string | undefined> {
    const plain = join(dir, name)
    const st = await statOrUndefined(plain)
    if (st?.isFile()) return plain
    const alt = plain + OBJ_SUFFIX
    const st2 = await statOrUndefined(alt)
    return st2?.isFile() ? alt : undefined
  }

  /**
   * Makes `dir` (inside `bucketDir`) a directory chain. A file in the way is an object whose key is
   * also a prefix of another: it moves aside to `<name>%obj`.
   */
  private async ensureDirs(bucketDir: string, dir: string): Promise<void> {
    const rel = dir.slice(bucketDir.length).split('/').filter(Boolean)
    let cur = bucketDir
    for (const seg of rel) {
      const next = join(cur, seg)
      try {
        await mkdir(next)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const st = await stat(next)
        if (!st.isDirectory()) {
          await rename(next, next + OBJ_SUFFIX)
          await mkdir(next)
          await fsyncDir(cur)
        }
      }
      cur = next
    }
  }

  private async writeTemp(data: Buffer): Promise<string> {
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    const fh = await open(tmp, 'w', 0o644)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    return tmp
  }

  // ---- objects -------------------------------------------------------------------------------

  async putObject(bucket: string, key: string, body: Buffer, opts?: PutOptions): Promise<void> {
    await this.putObjectStream(bucket, key, [body], opts)
  }

  /**
   * Writes an object from a stream of chunks without holding it in memory, crash-safely. Returns
   * the stored object's head.
   */
  async putObjectStream(
    bucket: string,
    key: string,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    opts: LocalPutOptions = {},
  ): Promise<ObjectHead> {
    const bucketDir = await this.requireBucket(bucket)
    const { dir, name } = this.locate(bucketDir, key)
    const dataTmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    let metaTmp: string | undefined
    let committed = false
    try {
      const md5 = createHash('md5')
      let size = 0
      const fh = await open(dataTmp, 'w', 0o644)
      let st: Stats
      try {
        for await (const chunk of source) {
          md5.update(chunk)
          size += chunk.length
          let off = 0
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off)
            off += bytesWritten
          }
        }
        await fh.sync()
        st = await fh.stat()
      } finally {
        await fh.close()
      }
      const bodyMd5 = md5.digest('hex')
      const verified = await opts.beforeCommit?.({ size, md5: bodyMd5 })
      const checksums = { ...(opts.checksums ?? {}), ...(verified ?? {}) }
      const etag = opts.etag ?? bodyMd5
      const sidecar: Sidecar = {
        v: 1,
        etag,
        ...(etag !== bodyMd5 ? { md5: bodyMd5 } : {}),
        size,
        mtimeMs: st.mtimeMs,
        lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000).toISOString(),
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...(opts.contentEncoding ? { contentEncoding: opts.contentEncoding } : {}),
        metadata: { ...(opts.metadata ?? {}) },
        ...(Object.keys(checksums).length ? { checksums } : {}),
        ...(opts.kmsKeyId ? { kmsKeyId: opts.kmsKeyId } : {}),
      }
      metaTmp = await this.writeTemp(Buffer.from(JSON.stringify(sidecar)))
      await this.locks.run(bucket, async () => {
        await this.requireBucket(bucket)
        await this.ensureDirs(bucketDir, dir)
        const plain = join(dir, name)
        const plainSt = await statOrUndefined(plain)
        const target = plainSt?.isDirectory() ? plain + OBJ_SUFFIX : plain
        const renames: [string, string][] = [
          [metaTmp!, plain + META_SUFFIX],
          [dataTmp, target],
        ]
        const journal = join(this.journalDir, randomBytes(12).toString('hex') + '.json')
        const jfh = await open(journal, 'w', 0o600)
        try {
          await jfh.writeFile(JSON.stringify({ renames } satisfies JournalEntry))
          await jfh.sync()
        } finally {
          await jfh.close()
        }
        for (const [from, to] of renames) await rename(from, to)
        committed = true
        if (target === plain) await rm(plain + OBJ_SUFFIX, { force: true })
        await fsyncDir(dir)
        await unlink(journal)
      })
      return this.headFromSidecar(key, sidecar)
    } finally {
      if (!committed) {
        await rm(dataTmp, { force: true })
        if (metaTmp) await rm(metaTmp, { force: true })
      }
    }
  }

  private headFromSidecar(key: string, s: Sidecar): ObjectHead {
    return {
      key,
      size: s.size,
      lastModified: new Date(s.lastModified),
      etag: s.etag,
      ...(s.contentType ? { contentType: s.contentType } : {}),
      ...(s.contentEncoding ? { contentEncoding: s.contentEncoding } : {}),
      metadata: { ...s.metadata },
      ...(s.checksums ? { checksums: { ...s.checksums } } : {}),
      ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}),
    }
  }

  /** The head of an open data file: its sidecar when that matches the file, else computed. */
  private async headOf(key: string, fh: FileHandle, metaPath: string): Promise<ObjectHead> {
    const st = await fh.stat()
    let sidecar: Sidecar | undefined
    try {
      sidecar = JSON.parse(await readFile(metaPath, 'utf8')) as Sidecar
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err
    }
    if (sidecar && sidecar.size === st.size) {
      if (sidecar.mtimeMs === st.mtimeMs) return this.headFromSidecar(key, sidecar)
      // Copied or restored (mtime changed): trust the sidecar if the bytes are the same.
      if ((await md5OfHandle(fh)) === (sidecar.md5 ?? sidecar.etag))
        return this.headFromSidecar(key, sidecar)
    }
    return {
      key,
      size: st.size,
      lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
      etag: await md5OfHandle(fh),
      metadata: {},
    }
  }

  /**
   * Opens an object for reading. The handle is taken under the bucket's commit lock, so body and
   * head always belong to the same version. The caller must close the returned handle.
   */
  private async openObject(
    bucket: string,
    key: string,
  ): Promise<{ fh: FileHandle; head: ObjectHead }> {
    const bucketDir = await this.requireBucket(bucket)
    const { dir, name } = this.locate(bucketDir, key)
    return this.locks.run(bucket, async () => {
      const path = await this.dataPath(dir, name)
      const missing = () => new NoSuchKeyError('The specified key does not exist.')
      if (!path) throw missing()
      let fh: FileHandle
      try {
        fh = await open(path, 'r')
      } catch (err) {
        if (isNotFound(err)) throw missing()
        throw err
      }
      try {
        return { fh, head: await this.headOf(key, fh, join(dir, name) + META_SUFFIX) }
      } catch (err) {
        await fh.close()
        throw err
      }
    })
  }

  async headObject(bucket: string, key: string): Promise<ObjectHead> {
    const { fh, head } = await this.openObject(bucket, key)
    await fh.close()
    return head
  }

  async getObject(bucket: string, key: string): Promise<StoredObject & ObjectHead> {
    const { fh, head } = await this.openObject(bucket, key)
    try {
      const body = Buffer.alloc(head.size)
      let off = 0
      while (off < body.length) {
        const { bytesRead } = await fh.read(body, off, body.length - off, off)
        if (bytesRead === 0) break
        off += bytesRead
      }
      return { ...head, body: body.subarray(0, off) }
    } finally {
      await fh.close()
    }
  }

  /**
   * Streams an object (or the inclusive byte range `start`..`end`) without reading it whole. The
   * stream closes the file when it ends or is destroyed.
   */
  async getObjectStream(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ head: ObjectHead; stream: Readable }> {
    const { fh, head } = await this.openObject(bucket, key)
    const stream = fh.createReadStream({
      ...(range ? { start: range.start, end: range.end } : { start: 0 }),
      autoClose: true,
    })
    return { head, stream }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const bucketDir = await this.requireBucket(bucket)
    const { dir, name } = this.locate(bucketDir, key)
    await this.locks.run(bucket, async () => {
      const path = await this.dataPath(dir, name)
      if (path) await unlink(path)
      await rm(join(dir, name) + META_SUFFIX, { force: true })
      if (!path) return
      await fsyncDir(dir)
      // S3 has no directories: drop the ones this delete emptied.
      let cur = dir
      while (cur.length > bucketDir.length) {
        try {
          await rmdir(cur)
        } catch {
          break
        }
        const parent = join(cur, '..')
        const base = cur.slice(parent.length + 1)
        // An object `a` parked as `a%obj` goes back to `a` once the directory `a` is gone.
        const parked = join(parent, base + OBJ_SUFFIX)
        if ((await statOrUndefined(parked))?.isFile()) await rename(parked, join(parent, base))
        cur = parent
      }
    })
  }

  // ---- multipart uploads ---------------------------------------------------------------------
  // Parts live in `.uploads/<uploadId>/` until the upload completes into a normal object.

  private uploadDir(uploadId: string): string {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(uploadId))
      throw new NoSuchUploadError('The specified upload does not exist.')
    return join(this.uploadsDir, uploadId)
  }

  async createMultipartUpload(bucket: string, key: string, opts: PutOptions = {}): Promise<string> {
    const bucketDir = await this.requireBucket(bucket)
    this.locate(bucketDir, key) // validates the key now rather than at completion
    const uploadId = randomBytes(24).toString('base64url')
    const dir = join(this.uploadsDir, uploadId)
    await mkdir(dir)
    const file: UploadFile = { bucket, key, initiated: new Date().toISOString(), opts }
    const tmp = await this.writeTemp(Buffer.from(JSON.stringify(file)))
    await rename(tmp, join(dir, 'upload.json'))
    await fsyncDir(dir)
    return uploadId
  }

  /** Throws NoSuchUploadError. */
  async getUpload(uploadId: string): Promise<UploadFile> {
    try {
      return JSON.parse(
        await readFile(join(this.uploadDir(uploadId), 'upload.json'), 'utf8'),
      ) as UploadFile
    } catch (err) {
      if (isNotFound(err)) throw new NoSuchUploadError('The specified upload does not exist.')
      throw err
    }
  }

  async uploadPart(
    uploadId: string,
    partNumber: number,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    beforeCommit?: LocalPutOptions['beforeCommit'],
  ): Promise<{ etag: string; size: number }> {
    await this.getUpload(uploadId)
    const dir = this.uploadDir(uploadId)
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    let done = false
    try {
      const md5 = createHash('md5')
      let size = 0
      const fh = await open(tmp, 'w', 0o600)
      try {
        for await (const chunk of source) {
          md5.update(chunk)
          size += chunk.length
          let off = 0
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off)
            off += bytesWritten
          }
        }
        await fh.sync()
      } finally {
        await fh.close()
      }
      const etag = md5.digest('hex')
      await beforeCommit?.({ size, md5: etag })
      const name = String(partNumber).padStart(5, '0')
      await rename(tmp, join(dir, `${name}.part`))
      done = true
      const metaTmp = await this.writeTemp(Buffer.from(JSON.stringify({ etag, size })))
      await rename(metaTmp, join(dir, `${name}.json`))
      await fsyncDir(dir)
      return { etag, size }
    } catch (err) {
      if (isNotFound(err)) throw new NoSuchUploadError('The specified upload does not exist.')
      throw err
    } finally {
      if (!done) await rm(tmp, { force: true })
    }
  }

  async listParts(uploadId: string): Promise<{ partNumber: number; etag: string; size: number }[]> {
    const dir = this.uploadDir(uploadId)
    await this.getUpload(uploadId)
    const out: { partNumber: number; etag: string; size: number }[] = []
    for (const name of (await readdir(dir)).sort()) {
      const m = /^(\d{5})\.json$/.exec(name)
      if (!m) continue
      const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
        etag: string
        size: number
      }
      out.push({ partNumber: Number(m[1]), ...meta })
    }
    return out
  }

  /**
   * Joins the named parts into the object (crash-safely, like any put) and ends the upload.
   * Throws NoSuchUploadError or InvalidPartError.
   */
  async completeMultipartUpload(
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    opts: Pick<LocalPutOptions, 'checksums'> = {},
  ): Promise<ObjectHead> {
    const upload = await this.getUpload(uploadId)
    const dir = this.uploadDir(uploadId)
    const have = new Map((await this.listParts(uploadId)).map((p) => [p.partNumber, p]))
    if (parts.length === 0)
      throw new InvalidPartError('InvalidPart', 'You must specify at least one part.')
    let prev = 0
    const md5s: Buffer[] = []
    for (const [i, p] of parts.entries()) {
      if (p.partNumber <= prev)
        throw new InvalidPartError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order.',
        )
      prev = p.partNumber
      const got = have.get(p.partNumber)
      if (!got || got.etag !== p.etag.replace(/^"|"$/g, ''))
        throw new InvalidPartError(
          'InvalidPart',
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        )
      if (i < parts.length - 1 && got.size < MIN_PART_SIZE)
        throw new InvalidPartError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
        )
      md5s.push(Buffer.from(got.etag, 'hex'))
    }
    const etag = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${parts.length}`
    async function* joined(): AsyncGenerator<Buffer> {
      for (const p of parts) {
        const fh = await open(join(dir, `${String(p.partNumber).padStart(5, '0')}.part`), 'r')
        try {
          for await (const c of fh.createReadStream({ autoClose: false })) yield c as Buffer
        } finally {
          await fh.close()
        }
      }
    }
    const head = await this.putObjectStream(upload.bucket, upload.key, joined(), {
      ...upload.opts,
      ...opts,
      etag,
    })
    await rm(dir, { recursive: true, force: true })
    return head
  }

  /** Uploads in progress in a bucket, oldest first. */
  async listUploads(bucket: string): Promise<(UploadFile & { uploadId: string })[]> {
    await this.requireBucket(bucket)
    const out: (UploadFile & { uploadId: string })[] = []
    for (const uploadId of await readdir(this.uploadsDir)) {
      try {
        const u = await this.getUpload(uploadId)
        if (u.bucket === bucket) out.push({ ...u, uploadId })
      } catch (err) {
        if (!(err instanceof NoSuchUploadError)) throw err
      }
    }
    return out.sort((a, b) => a.initiated.localeCompare(b.initiated))
  }

  async abortMultipartUpload(uploadId: string): Promise<void> {
    const dir = this.uploadDir(uploadId)
    await this.getUpload(uploadId)
    await rm(dir, { recursive: true, force: true })
  }

  // ---- listing -------------------------------------------------------------------------------

  async listObjects(
    bucket: string,
    opts: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListResult> {
    const maxKeys = opts.maxKeys ?? 1000
    const bucketDir = await this.requireBucket(bucket)
    const objects: ObjectInfo[] = []
    let nextStartAfter: string | undefined
    if (maxKeys <= 0) return { objects }
    for await (const entry of this.walk(bucketDir, {
      prefix: opts.prefix ?? '',
      startAfter: opts.startAfter ?? '',
    })) {
      if (!('key' in entry)) continue
      if (objects.length === maxKeys) {
        nextStartAfter = objects[objects.length - 1]!.key
        break
      }
      try {
        const h = await this.headObject(bucket, entry.key)
        objects.push({ key: h.key, size: h.size, lastModified: h.lastModified, etag: h.etag })
      } catch (err) {
        if (!(err instanceof NoSuchKeyError)) throw err // deleted while listing
      }
    }
    return nextStartAfter ? { objects, nextStartAfter } : { objects }
  }

  /**
   * Keys (and, with a delimiter, common prefixes) after `startAfter` that start with `prefix`, in
   * S3 order. Lazy: stop iterating to stop walking.
   */
  async *listEntries(
    bucket: string,
    opts: { prefix?: string; startAfter?: string; delimiter?: string },
  ): AsyncGenerator<ListEntry> {
    const bucketDir = await this.requireBucket(bucket)
    yield* this.walk(bucketDir, {
      prefix: opts.prefix ?? '',
      startAfter: opts.startAfter ?? '',
      ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
    })
  }

  private async *walk(
    bucketDir: string,
    q: { prefix: string; startAfter: string; delimiter?: string },
  ): AsyncGenerator<ListEntry> {
    let lastPrefix: string | undefined
    for await (const key of this.keysUnder(bucketDir, '', q)) {
      if ('commonPrefix' in key) {
        if (key.commonPrefix !== lastPrefix) yield key
        lastPrefix = key.commonPrefix
        continue
      }
      if (q.delimiter) {
        const i = key.key.indexOf(q.delimiter, q.prefix.length)
        if (i >= 0) {
          const cp = key.key.slice(0, i + q.delimiter.length)
          // A common prefix given back as startAfter (a continuation) is not repeated.
          if (cp !== lastPrefix && cp !== q.startAfter) yield { commonPrefix: cp }
          lastPrefix = cp
          continue
        }
      }
      yield key
    }
  }

  /** Sorted entries of one directory: escaped name, decoded key segment, kind. */
  private async sortedEntries(
    dir: string,
  ): Promise<{ name: string; seg: string; isDir: boolean }[]> {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      if (isNotFound(err)) return []
      throw err
    }
    const out: { name: string; seg: string; isDir: boolean; sortKey: Buffer }[] = []
    for (const e of entries) {
      if (e.name === BUCKET_FILE || e.name.endsWith(META_SUFFIX)) continue
      if (e.isDirectory()) {
        const seg = decodeSegment(e.name)
        out.push({ name: e.name, seg, isDir: true, sortKey: Buffer.from(seg + '/') })
      } else if (e.isFile()) {
        const base = e.name.endsWith(OBJ_SUFFIX) ? e.name.slice(0, -OBJ_SUFFIX.length) : e.name
        const seg = decodeSegment(base)
        out.push({ name: e.name, seg, isDir: false, sortKey: Buffer.from(seg) })
      }
    }
    out.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey))
    return out
  }

  private async *keysUnder(
    dir: string,
    path: string,
    q: { prefix: string; startAfter: string; delimiter?: string },
  ): AsyncGenerator<ListEntry> {
    for (const e of await this.sortedEntries(dir)) {
      if (!e.isDir) {
        const key = path + e.seg
        if (key.startsWith(q.prefix) && compareKeys(key, q.startAfter) > 0) yield { key }
        continue
      }
      const p = path + e.seg + '/'
      // Only directories that can hold keys with the prefix.
      if (!p.startsWith(q.prefix) && !q.prefix.startsWith(p)) continue
      // Every key below starts with `p`: all of them sort before startAfter in this case.
      if (compareKeys(p, q.startAfter) <= 0 && !q.startAfter.startsWith(p)) continue
      const sub = join(dir, e.name)
      if (q.delimiter === '/' && p.length > q.prefix.length && p.startsWith(q.prefix)) {
        // The whole directory rolls up into one common prefix: no need to walk it.
        const cp = p.slice(0, p.indexOf('/', q.prefix.length) + 1)
        if (cp === q.startAfter) continue
        if (compareKeys(cp, q.startAfter) > 0) {
          if (await this.hasAnyKey(sub)) yield { commonPrefix: cp }
          continue
        }
      }
      yield* this.keysUnder(sub, p, q)
    }
  }

  private async hasAnyKey(dir: string): Promise<boolean> {
    for (const e of await this.sortedEntries(dir)) {
      if (!e.isDir) return true
      if (await this.hasAnyKey(join(dir, e.name))) return true
    }
    return false
  }
}
