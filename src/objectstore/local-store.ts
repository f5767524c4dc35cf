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
 * The parts: buckets (local-buckets.ts, which this class extends), key paths (local-keys.ts),
 * crash-safe commits (local-files.ts), sidecars and bucket files (local-metadata.ts), listing
 * (local-listing.ts), multipart uploads (local-multipart.ts), encryption at rest
 * (local-encryption.ts). This module holds the objects: put, read, stream, delete.
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
import { createHash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { mkdir, open, rm, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { LocalBucketStore } from './local-buckets.js'
import {
  decryptingStream,
  decryptor,
  decryptWhole,
  encryptor,
  type ObjectEncryption,
} from './local-encryption.js'
import { fsyncDir, isNotFound, readWhole, statOrUndefined, writeAll } from './local-files.js'
import {
  dataPath,
  ensureDirs,
  locate,
  META_SUFFIX,
  OBJ_SUFFIX,
  pruneEmptyDirs,
} from './local-keys.js'
import { walk, type ListEntry } from './local-listing.js'
import { headFromSidecar, type Sidecar } from './local-metadata.js'
import { LocalUploads, type UploadFile } from './local-multipart.js'
import type { MasterKeyStore } from './master-keys.js'
import {
  NoSuchKeyError,
  type ListResult,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './port.js'

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

/** Encrypted objects up to this size are decrypted and authenticated whole before serving. */
const WHOLE_DECRYPT_BYTES = 64 * 1024 * 1024

export interface LocalStoreOptions {
  /** Encrypts puts that name a KMS key (see the module comment). */
  masterKeys?: MasterKeyStore
  /** Encrypted objects up to this size are authenticated before streaming (default 64 MiB). */
  wholeDecryptMaxBytes?: number
}

export class LocalObjectStore extends LocalBucketStore implements ObjectStore {
  private readonly uploadsDir: string
  private readonly uploads: LocalUploads

  private constructor(
    root: string,
    private readonly masterKeys: MasterKeyStore | undefined,
    private readonly wholeDecryptMaxBytes: number,
  ) {
    super(root)
    this.uploadsDir = join(root, '.uploads')
    this.uploads = new LocalUploads(this.uploadsDir, this.files, {
      requireBucket: (bucket) => this.requireBucket(bucket),
      putObjectStream: (bucket, key, source, opts) =>
        this.putObjectStream(bucket, key, source, opts),
    })
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
    await store.files.open()
    await mkdir(store.uploadsDir, { recursive: true, mode: 0o700 })
    await store.files.recover()
    return store
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
    const { dir, name } = locate(bucketDir, key)
    const dataTmp = this.files.tempPath()
    let metaTmp: string | undefined
    let committed = false
    try {
      const md5 = createHash('md5')
      let size = 0
      const enc =
        opts.kmsKeyId && this.masterKeys
          ? await encryptor(this.masterKeys, bucket, key, opts.kmsKeyId)
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
          await writeAll(fh, chunk)
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
      metaTmp = await this.files.writeTemp(Buffer.from(JSON.stringify(sidecar)))
      await this.locks.run(bucket, async () => {
        await this.requireBucket(bucket)
        await ensureDirs(bucketDir, dir)
        const plain = join(dir, name)
        const plainSt = await statOrUndefined(plain)
        const target = plainSt?.isDirectory() ? plain + OBJ_SUFFIX : plain
        const renames: [string, string][] = [
          [metaTmp!, plain + META_SUFFIX],
          [dataTmp, target],
        ]
        await this.files.commit(renames, async () => {
          committed = true
          if (target === plain) await rm(plain + OBJ_SUFFIX, { force: true })
          await fsyncDir(dir)
        })
      })
      return headFromSidecar(key, sidecar)
    } finally {
      if (!committed) {
        await rm(dataTmp, { force: true })
        if (metaTmp) await rm(metaTmp, { force: true })
      }
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
    const { dir, name } = locate(bucketDir, key)
    return this.locks.read(bucket, async () => {
      const path = await dataPath(dir, name)
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
        return { fh, ...(await this.metadata.headOf(key, fh, join(dir, name) + META_SUFFIX)) }
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
    return {
      ...head,
      body: sse ? await decryptWhole(this.masterKeys, bucket, key, sse, data) : data,
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
      const plain = await decryptWhole(this.masterKeys, bucket, key, sse, data)
      return { head, stream: Readable.from([plain.subarray(start, end)]) }
    }
    // Large objects: decrypted as they stream; a failed tag check ends the stream with an error.
    let decipher
    try {
      decipher = await decryptor(this.masterKeys, bucket, key, sse)
    } catch (err) {
      await fh.close()
      throw err
    }
    return { head, stream: decryptingStream(fh, decipher, key, start, end) }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const bucketDir = await this.requireBucket(bucket)
    const { dir, name } = locate(bucketDir, key)
    await this.locks.run(bucket, async () => {
      const path = await dataPath(dir, name)
      if (path) await unlink(path)
      await rm(join(dir, name) + META_SUFFIX, { force: true })
      if (!path) return
      await fsyncDir(dir)
      await pruneEmptyDirs(bucketDir, dir)
    })
  }

  // ---- multipart uploads (local-multipart.ts) ------------------------------------------------

  createMultipartUpload(bucket: string, key: string, opts: PutOptions = {}): Promise<string> {
    return this.uploads.createMultipartUpload(bucket, key, opts)
  }

  /** Throws NoSuchUploadError. */
  getUpload(uploadId: string): Promise<UploadFile> {
    return this.uploads.getUpload(uploadId)
  }

  uploadPart(
    uploadId: string,
    partNumber: number,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    beforeCommit?: LocalPutOptions['beforeCommit'],
  ): Promise<{ etag: string; size: number }> {
    return this.uploads.uploadPart(uploadId, partNumber, source, beforeCommit)
  }

  listParts(uploadId: string): Promise<{ partNumber: number; etag: string; size: number }[]> {
    return this.uploads.listParts(uploadId)
  }

  /** Throws NoSuchUploadError or InvalidPartError. */
  completeMultipartUpload(
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    opts: Pick<LocalPutOptions, 'checksums'> = {},
  ): Promise<ObjectHead> {
    return this.uploads.completeMultipartUpload(uploadId, parts, opts)
  }

  /** Uploads in progress in a bucket, oldest first. */
  listUploads(bucket: string): Promise<(UploadFile & { uploadId: string })[]> {
    return this.uploads.listUploads(bucket)
  }

  abortMultipartUpload(uploadId: string): Promise<void> {
    return this.uploads.abortMultipartUpload(uploadId)
  }

  // ---- listing (local-listing.ts) ------------------------------------------------------------

  async listObjects(
    bucket: string,
    opts: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListResult> {
    const maxKeys = opts.maxKeys ?? 1000
    const bucketDir = await this.requireBucket(bucket)
    const objects: ObjectInfo[] = []
    let nextStartAfter: string | undefined
    if (maxKeys <= 0) return { objects }
    for await (const entry of walk(bucketDir, {
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
    yield* walk(bucketDir, {
      prefix: opts.prefix ?? '',
      startAfter: opts.startAfter ?? '',
      ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
    })
  }
}
