/**
 * @module objectstore/local-metadata
 * The local store's metadata files: an object's `%meta.json` sidecar (content type and encoding,
 * user metadata, ETag, checksums, size, times, encryption) and a bucket's `%bucket.json` (creation
 * date, region, owner, settings). Both are read through a cache keyed by the file's identity, so
 * one stat replaces a read. A sidecar that does not match its data file is ignored: the head is
 * then computed from the file.
 */
import type { FileHandle } from 'node:fs/promises'
import { readFile, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ObjectEncryption } from './local-encryption.js'
import { fsyncDir, isNotFound, md5OfHandle, type FileCommits } from './local-files.js'
import { BUCKET_FILE } from './local-keys.js'
import type { ObjectHead } from './local-store.js'
import type { BucketConfiguration } from './port.js'

export interface Sidecar {
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

export interface BucketFile {
  creationDate: string
  region?: string
  ownerAccountId?: string
  settings: BucketConfiguration
}

export function headFromSidecar(key: string, s: Sidecar): ObjectHead {
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

export class MetadataFiles {
  /** Sidecar texts by path, with the identity of the file they were read from (see bucketFiles). */
  private readonly sidecars = new Map<string, { key: string; text: string }>()
  /**
   * Bucket file texts by path, with the identity of the file they were read from: every S3 call
   * reads its bucket's file (owner, policy) two or three times, and one stat then replaces a read.
   */
  private readonly bucketFiles = new Map<string, { key: string; text: string }>()

  constructor(private readonly files: FileCommits) {}

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

  /** The head of an open data file: its sidecar when that matches the file, else computed. */
  async headOf(
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
        head: headFromSidecar(key, sidecar),
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

  async readBucketFile(dir: string): Promise<BucketFile> {
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

  async writeBucketFile(dir: string, file: BucketFile): Promise<void> {
    const tmp = await this.files.writeTemp(Buffer.from(JSON.stringify(file, null, 2) + '\n'))
    await rename(tmp, join(dir, BUCKET_FILE))
    await fsyncDir(dir)
  }
}
