/**
 * @module objectstore/local-multipart
 * Multipart uploads in the local store. Parts live in `.uploads/<uploadId>/` (`upload.json`, then
 * `<nnnnn>.part` with its `<nnnnn>.json`) until the upload completes: the listed parts are checked
 * (order, ETags, minimum size) and joined into a normal object by the store's crash-safe put, with
 * S3's multipart ETag (`<md5 of the parts' md5s>-<parts>`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fsyncDir, isNotFound, writeAll, type FileCommits } from './local-files.js'
import { locate } from './local-keys.js'
import type { LocalPutOptions, ObjectHead } from './local-store.js'
import type { PutOptions } from './port.js'

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

/** What uploads need of the store: its buckets, and its put for the completed object. */
export interface UploadHost {
  /** The bucket's directory; throws NoSuchBucketError. */
  requireBucket(bucket: string): Promise<string>
  putObjectStream(
    bucket: string,
    key: string,
    source: AsyncIterable<Uint8Array>,
    opts: LocalPutOptions,
  ): Promise<ObjectHead>
}

export class LocalUploads {
  constructor(
    private readonly uploadsDir: string,
    private readonly files: FileCommits,
    private readonly host: UploadHost,
  ) {}

  private uploadDir(uploadId: string): string {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(uploadId))
      throw new NoSuchUploadError('The specified upload does not exist.')
    return join(this.uploadsDir, uploadId)
  }

  async createMultipartUpload(bucket: string, key: string, opts: PutOptions = {}): Promise<string> {
    const bucketDir = await this.host.requireBucket(bucket)
    locate(bucketDir, key) // validates the key now rather than at completion
    const uploadId = randomBytes(24).toString('base64url')
    const dir = join(this.uploadsDir, uploadId)
    await mkdir(dir)
    const file: UploadFile = { bucket, key, initiated: new Date().toISOString(), opts }
    const tmp = await this.files.writeTemp(Buffer.from(JSON.stringify(file)))
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
    const tmp = this.files.tempPath()
    let done = false
    try {
      const md5 = createHash('md5')
      let size = 0
      const fh = await open(tmp, 'w', 0o600)
      try {
        for await (const chunk of source) {
          md5.update(chunk)
          size += chunk.length
          await writeAll(fh, chunk)
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
      const metaTmp = await this.files.writeTemp(Buffer.from(JSON.stringify({ etag, size })))
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
    const head = await this.host.putObjectStream(upload.bucket, upload.key, joined(), {
      ...upload.opts,
      ...opts,
      etag,
    })
    await rm(dir, { recursive: true, force: true })
    return head
  }

  /** Uploads in progress in a bucket, oldest first. */
  async listUploads(bucket: string): Promise<(UploadFile & { uploadId: string })[]> {
    await this.host.requireBucket(bucket)
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
}
