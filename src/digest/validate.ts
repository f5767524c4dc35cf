/**
 * @module digest/validate
 * Log file validation as the AWS CLI's `cloudtrail validate-logs` performs it: list the trail's
 * digest files in the time range, walk the chain from the newest digest backwards through
 * `previousDigestS3Object`, check each digest's location, public key and SHA256withRSA signature,
 * then each listed log file's SHA-256 (of the uncompressed content). A missing digest, an invalid
 * one, or a digest without a predecessor makes the walk continue at the next older listed digest,
 * reporting "not found", the reason, or a gap. Backfill digests (`_backfill.json.gz`) are a second
 * chain walked the same way.
 *
 * Beyond the AWS CLI: consecutive deleted digests are inferred from the time a missing digest
 * would have had to cover (aws-cli issue 7054: the AWS CLI reports only the first of them), and a
 * change of signing key between consecutive digests is reported.
 *
 * I/O goes through `ValidationSource` (S3 and ListPublicKeys in the CLI). Results are events in
 * the order the AWS CLI prints them; log file checks run concurrently, each event carrying its
 * pending result.
 */
import { createGunzip } from 'node:zlib'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { digestFileKey, digestFileStamp, digestFolder, type KeyScope } from '../delivery/keys.js'
import {
  publicKeyFromPkcs1Der,
  stringToSign,
  verifyHex,
  type DigestFile,
  type DigestLogFile,
} from './digest-file.js'

export interface SourceObject {
  body: Buffer
  metadata: Record<string, string>
}

export interface ValidationSource {
  /** Keys under `prefix` after `startAfter`, in S3 (byte) order. */
  listKeys(bucket: string, prefix: string, startAfter: string): AsyncIterable<string>
  /** Rejects with an error named (or coded) `NoSuchKey` when the object does not exist. */
  getObject(bucket: string, key: string): Promise<SourceObject>
  /** Public keys (PKCS#1 DER) whose validity overlaps [start, end], by fingerprint. */
  publicKeys(start: Date, end: Date): Promise<Map<string, Buffer>>
}

export interface ValidationTarget {
  accountId: string
  trailName: string
  homeRegion: string
  /** The region whose digests are validated (the AWS CLI's --region; default the home region). */
  sourceRegion: string
  organizationId?: string
  bucket: string
  prefix?: string
  start: Date
  end: Date
  /**
   * GetTrailStatus's LatestDigestDeliveryTime, read before listing: when it is an interval or more
   * after the newest digest found, the newest digests were deleted (the AWS CLI cannot tell).
   */
  latestDigestDelivery?: Date
}

export type LogResult =
  | { status: 'valid' }
  | { status: 'hash-mismatch' }
  | { status: 'not-found' }
  | { status: 'invalid-format' }
  | { status: 'error'; message: string }

export type ValidationEvent =
  | { type: 'listed'; digests: number; backfill: boolean }
  | { type: 'digest-valid'; bucket: string; key: string; backfill: boolean; digest: DigestFile }
  | { type: 'digest-invalid'; message: string; backfill: boolean }
  | { type: 'digest-missing'; bucket: string; key: string; backfill: boolean }
  | {
      type: 'digests-missing-inferred'
      bucket: string
      count: number
      /** End time of the older digest that was found. */
      from: Date
      /** End time of the missing digest that the newer one names. */
      to: Date
      folder: string
    }
  | {
      type: 'newest-missing'
      bucket: string
      count: number
      /** End time of the newest digest found. */
      newestEnd: Date
      latestDelivery: Date
      folder: string
    }
  | { type: 'gap'; nextEnd: Date; lastStart: Date; backfill: boolean }
  | {
      type: 'key-change'
      bucket: string
      newerKey: string
      olderKey: string
      newerFingerprint: string
      olderFingerprint: string
    }
  | { type: 'log'; bucket: string; key: string; result: Promise<LogResult> }

export class ValidationError extends Error {
  override name = 'ValidationError'
}

/** Raised for a digest that fails; `message` is the AWS CLI's whole output line. */
class DigestError extends Error {}

const REQUIRED = [
  'digestPublicKeyFingerprint',
  'digestS3Bucket',
  'digestS3Object',
  'previousDigestSignature',
  'digestEndTime',
  'digestStartTime',
] as const

const HOUR = 3_600_000

export const isBackfillKey = (key: string) => key.endsWith('_backfill.json.gz')

/** The `YYYYMMDDTHHmmssZ` end time embedded in a digest key. */
export const digestKeyStamp = (key: string) =>
  isBackfillKey(key) ? key.slice(-33, -17) : key.slice(-24, -8)

export function parseStamp(stamp: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)
  if (!m) return undefined
  const n = (i: number) => Number(m[i])
  return new Date(Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)))
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

export const isNoSuchKey = (err: unknown): boolean => {
  const e = err as { name?: unknown; Code?: unknown }
  return e?.name === 'NoSuchKey' || e?.Code === 'NoSuchKey'
}

const display = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Runs at most `n` tasks at a time. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const queue: (() => void)[] = []
  return async <T>(task: () => Promise<T>) => {
    if (active >= n) await new Promise<void>((r) => queue.push(r))
    active++
    try {
      return await task()
    } finally {
      active--
      queue.shift()?.()
    }
  }
}

/** SHA-256 (hex) of the gunzipped content; rejects when the bytes are not gzip. */
export async function gunzipSha256(body: Buffer): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(Readable.from([body]), createGunzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) hash.update(chunk)
  })
  return hash.digest('hex')
}

export class DigestTraverser {
  private readonly scope: KeyScope
  private readonly run: <T>(task: () => Promise<T>) => Promise<T>
  /** Durations of valid digests that continue a chain: what one interval is. */
  private readonly durations: number[] = []
  /** Time between consecutive listed digests: the interval when no durations are known. */
  private spacing: number[] = []

  constructor(
    private readonly source: ValidationSource,
    private readonly t: ValidationTarget,
    opts: { concurrency?: number } = {},
  ) {
    this.scope = {
      prefix: t.prefix,
      accountId: t.accountId,
      region: t.sourceRegion,
      organizationId: t.organizationId,
    }
    this.run = limiter(opts.concurrency ?? 16)
  }

  /** Standard digests, then backfill digests, as the AWS CLI validates them. */
  async *validate(): AsyncGenerator<ValidationEvent> {
    yield* this.traverse(false)
    yield* this.traverse(true)
  }

  private async listDigests(bucket: string, backfill: boolean): Promise<string[]> {
    const { start, end } = this.t
    const marker = digestFileKey(
      this.scope,
      this.t.trailName,
      this.t.homeRegion,
      new Date(start.getTime() - 60_000),
    )
    const re = new RegExp(
      '^' +
        (this.t.prefix ? escapeRe(this.t.prefix) + '/' : '') +
        `AWSLogs/${this.t.organizationId ? escapeRe(this.t.organizationId) + '/' : ''}` +
        `${escapeRe(this.t.accountId)}/CloudTrail-Digest/${escapeRe(this.t.sourceRegion)}/` +
        `\\d+/\\d+/\\d+/${escapeRe(this.t.accountId)}_CloudTrail-Digest_` +
        `${escapeRe(this.t.sourceRegion)}_${escapeRe(this.t.trailName)}_` +
        `${escapeRe(this.t.homeRegion)}_.+(?:_backfill)?\\.json\\.gz$`,
    )
    const from = digestFileStamp(start)
    const to = digestFileStamp(new Date(end.getTime() + HOUR))
    const out: string[] = []
    for await (const key of this.source.listKeys(bucket, digestFolder(this.scope), marker)) {
      if (!re.test(key)) continue
      const stamp = digestKeyStamp(key)
      if (!parseStamp(stamp)) continue
      if (stamp > to) break
      if (stamp < from) continue
      if (isBackfillKey(key) === backfill) out.push(key)
    }
    return out
  }

  private async loadKeys(start: Date, end: Date): Promise<Map<string, Buffer>> {
    const keys = await this.source.publicKeys(start, end)
    if (keys.size === 0) {
      throw new ValidationError(
        `No public keys found between ${display(start)} and ${display(end)}`,
      )
    }
    return keys
  }

  private async *traverse(backfill: boolean): AsyncGenerator<ValidationEvent> {
    const { start } = this.t
    let bucket = this.t.bucket
    let digests = await this.listDigests(bucket, backfill)
    yield { type: 'listed', digests: digests.length, backfill }
    if (digests.length === 0) return
    if (!backfill) {
      const times = digests.map((k) => parseStamp(digestKeyStamp(k))!.getTime())
      this.spacing = times.slice(1).map((t, i) => t - times[i]!)
    }
    const keys = backfill
      ? new Map<string, Buffer>()
      : await this.loadKeys(start, new Date(this.t.end.getTime() + 2 * HOUR))

    let key: string | undefined = digests.pop()
    let lastStart = parseStamp(digestKeyStamp(key!))!
    const newestEnd = lastStart
    let newer: { key: string; fingerprint: string } | undefined
    let missing: { key: string; end: Date } | undefined

    const next = (before: string) => {
      const limit = parseStamp(digestKeyStamp(before))?.getTime() ?? Number.NEGATIVE_INFINITY
      while (digests.length > 0) {
        const k = digests.pop()!
        const d = parseStamp(digestKeyStamp(k))!
        if (d.getTime() < limit) return { key: k, end: d }
      }
      return undefined
    }

    while (key && start.getTime() <= lastStart.getTime()) {
      let digest: DigestFile
      try {
        digest = await this.loadAndVerify(keys, bucket, key, backfill)
      } catch (err) {
        const found = next(key)
        if (isNoSuchKey(err)) {
          yield { type: 'digest-missing', bucket, key, backfill }
          if (!backfill && !missing) missing = { key, end: parseStamp(digestKeyStamp(key))! }
        } else {
          const message =
            err instanceof DigestError
              ? err.message
              : `Digest file\ts3://${bucket}/${key}\tINVALID: ${(err as Error).message}`
          yield { type: 'digest-invalid', message, backfill }
          missing = undefined
        }
        newer = undefined
        key = found?.key
        continue
      }
      const digestStart = new Date(digest.digestStartTime)
      const digestEnd = new Date(digest.digestEndTime)
      lastStart = digestStart
      if (missing) {
        yield* this.inferMissing(bucket, missing, digestEnd)
        missing = undefined
      }
      if (newer && newer.fingerprint !== digest.digestPublicKeyFingerprint) {
        yield {
          type: 'key-change',
          bucket,
          newerKey: newer.key,
          olderKey: key,
          newerFingerprint: newer.fingerprint,
          olderFingerprint: digest.digestPublicKeyFingerprint,
        }
      }
      newer = { key, fingerprint: digest.digestPublicKeyFingerprint }
      yield { type: 'digest-valid', bucket, key, backfill, digest }
      for (const log of Array.isArray(digest.logFiles) ? digest.logFiles : []) {
        yield {
          type: 'log',
          bucket: log.s3Bucket,
          key: log.s3Object,
          result: this.run(() => this.checkLog(log)),
        }
      }
      const prevBucket = digest.previousDigestS3Bucket ?? undefined
      const prevKey = digest.previousDigestS3Object ?? undefined
      if (!prevBucket || !prevKey) {
        const found = next(key)
        if (found) {
          yield { type: 'gap', nextEnd: found.end, lastStart: digestStart, backfill }
        }
        newer = undefined
        key = found?.key
      } else {
        this.durations.push(digestEnd.getTime() - digestStart.getTime())
        key = prevKey
        if (prevBucket !== bucket) {
          bucket = prevBucket
          digests = await this.listDigests(bucket, backfill)
        }
      }
    }
    if (!backfill) yield* this.newestMissing(this.t.bucket, newestEnd)
  }

  private interval(): number {
    // The lower median: a chain's last digest (or one after downtime) runs longer than the rest.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
    if (this.durations.length > 0) return median(this.durations)
    const spacing = this.spacing.filter((x) => x > 0)
    return spacing.length > 0 ? median(spacing) : HOUR
  }

  /** Digests delivered after the newest one found (per GetTrailStatus) were deleted. */
  private *newestMissing(bucket: string, newestEnd: Date): Generator<ValidationEvent> {
    const latest = this.t.latestDigestDelivery
    if (!latest || latest.getTime() > this.t.end.getTime() + HOUR) return
    const interval = this.interval()
    const span = latest.getTime() - newestEnd.getTime()
    if (interval <= 0 || span < interval * 0.9) return
    yield {
      type: 'newest-missing',
      bucket,
      count: Math.max(1, Math.round(span / interval)),
      newestEnd,
      latestDelivery: latest,
      folder: digestFolder(this.scope),
    }
  }

  /**
   * After a missing digest, the next digest found should be the one the missing digest named. When
   * the time between them is more than one interval, the digests in between were deleted too.
   */
  private *inferMissing(
    bucket: string,
    missing: { key: string; end: Date },
    foundEnd: Date,
  ): Generator<ValidationEvent> {
    const interval = this.interval()
    if (interval <= 0) return
    const span = missing.end.getTime() - foundEnd.getTime()
    if (span <= interval * 1.5) return
    const count = Math.max(1, Math.round(span / interval) - 1)
    yield {
      type: 'digests-missing-inferred',
      bucket,
      count,
      from: foundEnd,
      to: missing.end,
      folder: digestFolder(this.scope),
    }
  }

  private async loadAndVerify(
    keys: Map<string, Buffer>,
    bucket: string,
    key: string,
    backfill: boolean,
  ): Promise<DigestFile> {
    const obj = await this.source.getObject(bucket, key)
    const invalid = (why: string) =>
      new DigestError(`Digest file\ts3://${bucket}/${key}\tINVALID: ${why}`)
    let raw: Buffer
    let digest: DigestFile
    try {
      raw = await gunzipAll(obj.body)
      digest = JSON.parse(raw.toString('utf8')) as DigestFile
    } catch {
      throw invalid('invalid format')
    }
    const signature = obj.metadata['signature']
    if (signature === undefined || obj.metadata['signature-algorithm'] === undefined) {
      throw invalid('signature verification failed')
    }
    let generated: string | undefined
    if (backfill) {
      generated = obj.metadata['backfill-generation-timestamp']
      if (generated === undefined) throw invalid('invalid format')
    }
    if (digest === null || typeof digest !== 'object' || REQUIRED.some((k) => !(k in digest))) {
      throw invalid('invalid format')
    }
    if (digest.digestS3Bucket !== bucket || digest.digestS3Object !== key) {
      throw invalid('has been moved from its original location')
    }
    const fp = digest.digestPublicKeyFingerprint
    if (!keys.has(fp) && backfill && generated) {
      const at = new Date(generated).getTime()
      for (const [k, v] of await this.source.publicKeys(new Date(at - HOUR), new Date(at + HOUR))) {
        keys.set(k, v)
      }
    }
    const der = keys.get(fp)
    if (!der) {
      throw invalid(`public key not found in region ${this.t.homeRegion} for fingerprint ${fp}`)
    }
    let publicKey
    try {
      publicKey = publicKeyFromPkcs1Der(der)
    } catch {
      throw invalid(`Unable to load PKCS #1 key with fingerprint ${fp}`)
    }
    if (!verifyHex(publicKey, stringToSign(digest, raw), signature)) {
      throw invalid('signature verification failed')
    }
    if (
      Number.isNaN(Date.parse(digest.digestStartTime)) ||
      Number.isNaN(Date.parse(digest.digestEndTime))
    ) {
      throw invalid('invalid format')
    }
    return digest
  }

  private async checkLog(log: DigestLogFile): Promise<LogResult> {
    let body: Buffer
    try {
      body = (await this.source.getObject(log.s3Bucket, log.s3Object)).body
    } catch (err) {
      if (isNoSuchKey(err)) return { status: 'not-found' }
      return { status: 'error', message: String((err as Error).message ?? err) }
    }
    try {
      const hash = await gunzipSha256(body)
      return hash === log.hashValue ? { status: 'valid' } : { status: 'hash-mismatch' }
    } catch {
      return { status: 'invalid-format' }
    }
  }
}

async function gunzipAll(body: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = []
  await pipeline(Readable.from([body]), createGunzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) chunks.push(chunk)
  })
  return Buffer.concat(chunks)
}
