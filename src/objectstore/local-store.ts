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
 * Encryption at rest: with a master-key store (`open(root, { masterKeys })`, as the server opens it),
 * a put with `PutOptions.kmsKeyId` is encrypted: AES-256-GCM under a fresh data key per object, the
 * data key wrapped by the master key named by the KmsKeyId (created on first use), and both the
 * wrap and the body bound to `<bucket>/<key>`. The file on disk holds ciphertext of the same size;
 * the sidecar holds the wrapped key, IV and tag. Reads decrypt (and authenticate) transparently;
 * callers that must check permission to decrypt (the S3 API: kms:Decrypt) read `head.kmsKeyId`.
 * Without a master-key store the key id is only recorded (and reported as SSE-KMS). Parts of a
 * multipart upload are encrypted when the upload completes. Versioning is a recorded setting only:
 * an overwrite replaces the object.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import type { Dirent, Stats } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { KmsKeyUnavailableError, type MasterKeyStore } from './master-keys.js'
import type { SealedBox } from './sealed.js'
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
  /** Present when the bytes on disk are encrypted (then `md5` is the ciphertext's MD5). */
  sse?: ObjectEncryption
}

/** How an object's bytes are encrypted (see the module comment). */
interface ObjectEncryption {
  alg: 'AES256-GCM'
  /** The master key's name (the object's KmsKeyId). */
  keyId: string
  dataKey: SealedBox
  iv: string
  tag: string
}

/** An encrypted object whose ciphertext, tag or wrapped key does not authenticate. */
export class ObjectDecryptionError extends Error {
  override name = 'ObjectDecryptionError'
}

/** Encrypted objects up to this size are decrypted and authenticated whole before serving. */
const WHOLE_DECRYPT_BYTES = 64 * 1024 * 1024

export interface LocalStoreOptions {
  /** Encrypts puts that name a KMS key (see the module comment). */
  masterKeys?: MasterKeyStore
  /** Encrypted objects up to this size are authenticated before streaming (default 64 MiB). */
  wholeDecryptMaxBytes?: number
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

async function readWhole(fh: FileHandle, size: number): Promise<Buffer> {
  const body = Buffer.alloc(size)
  let off = 0
  while (off < body.length) {
    const { bytesRead } = await fh.read(body, off, body.length - off, off)
    if (bytesRead === 0) break
    off += bytesRead
  }
  return body.subarray(0, off)
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

/**
 * Per-bucket readers-writer lock inside this process: commits (`run`) are exclusive, opens of an
 * object for reading (`read`) share the lock with each other. Waiters are served in arrival order;
 * readers that arrive together behind a writer go in together after it.
 */
class KeyedRwLock {
  private readonly states = new Map<
    string,
    { readers: number; writer: boolean; queue: { write: boolean; go: () => void }[] }
  >()

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.with(name, true, fn)
  }

  read<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.with(name, false, fn)
  }

  private async with<T>(name: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    let st = this.states.get(name)
    if (!st) this.states.set(name, (st = { readers: 0, writer: false, queue: [] }))
    const free = write ? !st.writer && st.readers === 0 : !st.writer && st.queue.length === 0
    if (free && st.queue.length === 0) {
      if (write) st.writer = true
      else st.readers++
    } else {
      await new Promise<void>((go) => st.queue.push({ write, go }))
    }
    try {
      return await fn()
    } finally {
      if (write) st.writer = false
      else st.readers--
      this.grant(name, st)
    }
  }

  private grant(
    name: string,
    st: { readers: number; writer: boolean; queue: { write: boolean; go: () => void }[] },
  ): void {
    while (st.queue.length > 0 && !st.writer) {
      const next = st.queue[0]!
      if (next.write) {
        if (st.readers > 0) break
        st.queue.shift()
        st.writer = true
        next.go()
        break
      }
      st.queue.shift()
      st.readers++
      next.go()
    }
    if (!st.writer && st.readers === 0 && st.queue.length === 0) this.states.delete(name)
  }
}

export class LocalObjectStore implements ObjectStore, BucketSettings, BucketAdmin {
  private readonly tmpDir: string
  private readonly journalDir: string
  private readonly uploadsDir: string
  private readonly locks = new KeyedRwLock()

  private constructor(
    readonly root: string,
    private readonly masterKeys: MasterKeyStore | undefined,
    private readonly wholeDecryptMaxBytes: number,
  ) {
    this.tmpDir = join(root, '.tmp')
    this.journalDir = join(root, '.journal')
    this.uploadsDir = join(root, '.uploads')
  }

  /**
   * Opens (creating) the store at `root` and finishes any commit a crash interrupted. With
   * `masterKeys`, puts that name a KMS key are encrypted at rest.
   */
  static async open(root: string, opts: LocalStoreOptions = {}): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(
      root,
      opts.masterKeys,
      opts.wholeDecryptMaxBytes ?? WHOLE_DECRYPT_BYTES,
    )
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

  /** Sidecar texts by path, with the identity of the file they were read from (see bucketFiles). */
  private readonly sidecars = new Map<string, { key: string; text: string }>()

  private async readSidecarText(path: string): Promise<string> {
    const st = await stat(path)
    const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
    const cached = this.sidecars.get(path)
    if (cached?.key === key) return cached.text
    const text = await readFile(path, 'utf8')
    if (this.sidecars.size >= 10_000) this.sidecars.clear()
    this.sidecars.set(path, { key, text })
    return text
  }

  /**
   * Parsed bucket files by path, with the identity of the file they were read from: every S3 call
   * reads its bucket's file (owner, policy) two or three times, and one stat then replaces a read.
   */
  private readonly bucketFiles = new Map<string, { key: string; text: string }>()

  private async readBucketFile(dir: string): Promise<BucketFile> {
    const path = join(dir, BUCKET_FILE)
    try {
      const st = await stat(path)
      const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
      let cached = this.bucketFiles.get(path)
      if (cached?.key !== key) {
        cached = { key, text: await readFile(path, 'utf8') }
        if (this.bucketFiles.size > 1000) this.bucketFiles.clear()
        this.bucketFiles.set(path, cached)
      }
      const f = JSON.parse(cached.text) as BucketFile
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
      const enc =
        opts.kmsKeyId && this.masterKeys
          ? await this.encryptor(bucket, key, opts.kmsKeyId)
          : undefined
      const diskMd5 = enc ? createHash('md5') : undefined
      const fh = await open(dataTmp, 'w', 0o644)
      let st: Stats
      try {
        for await (const plain of source) {
          md5.update(plain)
          size += plain.length
          const chunk = enc ? enc.cipher.update(plain) : plain
          diskMd5?.update(chunk)
          let off = 0
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off)
            off += bytesWritten
          }
        }
        if (enc) enc.cipher.final() // GCM: no trailing bytes, only the tag
        await fh.sync()
        st = await fh.stat()
      } finally {
        await fh.close()
      }
      const bodyMd5 = md5.digest('hex')
      const verified = await opts.beforeCommit?.({ size, md5: bodyMd5 })
      const checksums = { ...(opts.checksums ?? {}), ...(verified ?? {}) }
      const etag = opts.etag ?? bodyMd5
      const fileMd5 = diskMd5 ? diskMd5.digest('hex') : bodyMd5
      const sidecar: Sidecar = {
        v: 1,
        etag,
        ...(etag !== fileMd5 ? { md5: fileMd5 } : {}),
        size,
        mtimeMs: st.mtimeMs,
        lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000).toISOString(),
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...(opts.contentEncoding ? { contentEncoding: opts.contentEncoding } : {}),
        metadata: { ...(opts.metadata ?? {}) },
        ...(Object.keys(checksums).length ? { checksums } : {}),
        ...(opts.kmsKeyId ? { kmsKeyId: opts.kmsKeyId } : {}),
        ...(enc
          ? {
              sse: {
                ...enc.info,
                tag: enc.cipher.getAuthTag().toString('base64'),
              },
            }
          : {}),
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

  /** A cipher for a new object's body under a fresh data key of master key `keyId`. */
  private async encryptor(bucket: string, key: string, keyId: string) {
    const context = `${bucket}/${key}`
    const dk = await this.masterKeys!.generateDataKey(keyId, context)
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', dk.plaintext, iv)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const info: Omit<ObjectEncryption, 'tag'> = {
      alg: 'AES256-GCM',
      keyId,
      dataKey: dk.wrapped,
      iv: iv.toString('base64'),
    }
    return { cipher, info }
  }

  /** A decipher for an encrypted object's body; throws ObjectDecryptionError. */
  private async decryptor(bucket: string, key: string, sse: ObjectEncryption) {
    if (!this.masterKeys)
      throw new ObjectDecryptionError(
        `The object ${key} is encrypted at rest and this store was opened without its keys.`,
      )
    const context = `${bucket}/${key}`
    let dataKey: Buffer
    try {
      dataKey = await this.masterKeys.decryptDataKey(sse.keyId, context, sse.dataKey)
    } catch (err) {
      if (err instanceof KmsKeyUnavailableError) throw new ObjectDecryptionError(err.message)
      throw err
    }
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sse.iv, 'base64'))
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(Buffer.from(sse.tag, 'base64'))
    return decipher
  }

  private async decryptWhole(
    bucket: string,
    key: string,
    sse: ObjectEncryption,
    data: Buffer,
  ): Promise<Buffer> {
    const decipher = await this.decryptor(bucket, key, sse)
    try {
      return Buffer.concat([decipher.update(data), decipher.final()])
    } catch {
      throw new ObjectDecryptionError(
        `The encrypted object ${key} does not authenticate: it was altered on disk.`,
      )
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
  private async headOf(
    key: string,
    fh: FileHandle,
    metaPath: string,
  ): Promise<{ head: ObjectHead; sse?: ObjectEncryption }> {
    const st = await fh.stat()
    let sidecar: Sidecar | undefined
    try {
      sidecar = JSON.parse(await this.readSidecarText(metaPath)) as Sidecar
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err
    }
    if (sidecar && sidecar.size === st.size) {
      const found = {
        head: this.headFromSidecar(key, sidecar),
        ...(sidecar.sse ? { sse: sidecar.sse } : {}),
      }
      if (sidecar.mtimeMs === st.mtimeMs) return found
      // Copied or restored (mtime changed): trust the sidecar if the bytes are the same.
      if ((await md5OfHandle(fh)) === (sidecar.md5 ?? sidecar.etag)) return found
    }
    return {
      head: {
        key,
        size: st.size,
        lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
        etag: await md5OfHandle(fh),
        metadata: {},
      },
    }
  }

  /**
   * Opens an object for reading. The handle is taken under the bucket's commit lock, so body and
   * head always belong to the same version. The caller must close the returned handle.
   */
  private async openObject(
    bucket: string,
    key: string,
  ): Promise<{ fh: FileHandle; head: ObjectHead; sse?: ObjectEncryption }> {
    const bucketDir = await this.requireBucket(bucket)
    const { dir, name } = this.locate(bucketDir, key)
    return this.locks.read(bucket, async () => {
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
        return { fh, ...(await this.headOf(key, fh, join(dir, name) + META_SUFFIX)) }
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

  /** Throws NoSuchBucketError, NoSuchKeyError, ObjectDecryptionError. */
  async getObject(bucket: string, key: string): Promise<StoredObject & ObjectHead> {
    const { fh, head, sse } = await this.openObject(bucket, key)
    let data: Buffer
    try {
      data = await readWhole(fh, head.size)
    } finally {
      await fh.close()
    }
    return { ...head, body: sse ? await this.decryptWhole(bucket, key, sse, data) : data }
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
    const { fh, head, sse } = await this.openObject(bucket, key)
    if (!sse) {
      const stream = fh.createReadStream({
        ...(range ? { start: range.start, end: range.end } : { start: 0 }),
        autoClose: true,
      })
      return { head, stream }
    }
    const start = range?.start ?? 0
    const end = range ? range.end + 1 : head.size
    if (head.size <= this.wholeDecryptMaxBytes) {
      // Authenticated before the first byte is served.
      let data: Buffer
      try {
        data = await readWhole(fh, head.size)
      } finally {
        await fh.close()
      }
      const plain = await this.decryptWhole(bucket, key, sse, data)
      return { head, stream: Readable.from([plain.subarray(start, end)]) }
    }
    // Large objects: decrypted as they stream; a failed tag check ends the stream with an error.
    let decipher
    try {
      decipher = await this.decryptor(bucket, key, sse)
    } catch (err) {
      await fh.close()
      throw err
    }
    let pos = 0
    const slice = new Transform({
      transform(chunk: Buffer, _enc, done) {
        const from = Math.max(0, start - pos)
        const to = Math.min(chunk.length, end - pos)
        pos += chunk.length
        done(null, to > from ? chunk.subarray(from, to) : undefined)
      },
    })
    const file = fh.createReadStream({ start: 0, autoClose: true })
    file.on('error', (err) => slice.destroy(err))
    decipher.on('error', () =>
      slice.destroy(
        new ObjectDecryptionError(`The encrypted object ${key} does not authenticate.`),
      ),
    )
    file.pipe(decipher).pipe(slice)
    slice.on('close', () => file.destroy())
    return { head, stream: slice }
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
