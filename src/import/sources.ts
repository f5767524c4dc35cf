/**
 * @module import/sources
 * Where import files come from: a local file or directory (walked recursively, in name order) or
 * `s3://bucket/prefix` (ListObjectsV2, GetObject; any S3-compatible endpoint). In a tree, log files
 * are the names ending in .json, .jsonl or .ndjson, optionally .gz; CloudTrail digest files
 * (`CloudTrail-Digest`) are listed apart, for --validate-digests. A single file is read whatever
 * its name.
 */
import { createReadStream } from 'node:fs'
import { opendir, stat } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'

export interface SourceFile {
  /** Path relative to the source root (local) or the object key (S3). */
  key: string
  size: number
  /** Local mtime or S3 ETag: a changed file is read again on resume. */
  version: string
  digest: boolean
}

export interface S3Options {
  endpointUrl?: string
  region?: string
}

export interface ImportSource {
  readonly location: string
  list(): AsyncIterable<SourceFile>
  open(file: SourceFile): Promise<Readable>
}

const LOG_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i
const DIGEST = /CloudTrail-Digest/

export class SourceError extends Error {
  override name = 'InvalidImportSource'
}

export async function openSource(location: string, s3: S3Options = {}): Promise<ImportSource> {
  if (/^s3:\/\//i.test(location)) return S3Source.create(location, s3)
  return LocalSource.create(location)
}

class LocalSource implements ImportSource {
  private constructor(
    readonly location: string,
    private readonly root: string,
    private readonly single: boolean,
  ) {}

  static async create(location: string): Promise<LocalSource> {
    const path = resolve(location)
    let st
    try {
      st = await stat(path)
    } catch (err) {
      throw new SourceError(`The source ${path} cannot be read: ${(err as Error).message}`)
    }
    if (st.isFile()) return new LocalSource(path, path, true)
    if (!st.isDirectory()) throw new SourceError(`The source ${path} is not a file or directory.`)
    return new LocalSource(path, path, false)
  }

  async *list(): AsyncIterable<SourceFile> {
    if (this.single) {
      const st = await stat(this.root)
      const name = this.root.split(sep).pop()!
      yield { key: name, size: st.size, version: String(st.mtimeMs), digest: DIGEST.test(name) }
      return
    }
    yield* this.walk(this.root)
  }

  private async *walk(dir: string): AsyncIterable<SourceFile> {
    const entries: { name: string; dir: boolean; file: boolean }[] = []
    for await (const d of await opendir(dir)) {
      if (d.name.startsWith('.')) continue
      entries.push({ name: d.name, dir: d.isDirectory(), file: d.isFile() })
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const full = join(dir, e.name)
      if (e.dir) yield* this.walk(full)
      else if (e.file && LOG_FILE.test(e.name)) {
        const st = await stat(full)
        const key = relative(this.root, full).split(sep).join('/')
        yield { key, size: st.size, version: String(st.mtimeMs), digest: DIGEST.test(key) }
      }
    }
  }

  async open(file: SourceFile): Promise<Readable> {
    const path = this.single ? this.root : join(this.root, ...file.key.split('/'))
    const stream = createReadStream(path, { highWaterMark: 256 * 1024 })
    await new Promise<void>((ok, fail) => {
      stream.once('open', () => ok())
      stream.once('error', fail)
    })
    return stream
  }
}

class S3Source implements ImportSource {
  private constructor(
    readonly location: string,
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  static create(location: string, opts: S3Options): S3Source {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(location)
    if (!m || !m[1]) throw new SourceError(`${location} is not an s3://bucket/prefix URI.`)
    const client = new S3Client({
      region: opts.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      ...(opts.endpointUrl ? { endpoint: opts.endpointUrl, forcePathStyle: true } : {}),
      maxAttempts: 5,
    })
    return new S3Source(location, client, m[1], m[2] ?? '')
  }

  async *list(): AsyncIterable<SourceFile> {
    let token: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      )
      for (const o of page.Contents ?? []) {
        const key = o.Key ?? ''
        const single = key === this.prefix
        if (!single && !LOG_FILE.test(key)) continue
        yield {
          key,
          size: o.Size ?? 0,
          version: o.ETag ?? '',
          digest: DIGEST.test(key),
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async open(file: SourceFile): Promise<Readable> {
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: file.key,
        ...(file.version ? { IfMatch: file.version } : {}),
      }),
    )
    return out.Body as Readable
  }
}

/** The delivery time in an AWS log file name (`..._20230710T1200Z_...`), or undefined. */
export function deliveryTimeOf(key: string): number | undefined {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/.exec(key.slice(key.lastIndexOf('/') + 1))
  if (!m) return undefined
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]))
  return Number.isNaN(t) ? undefined : t
}
