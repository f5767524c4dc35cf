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
 * would have had to cover (aws-cli issue 7054: the AWS CLI reports only the first of them), a
 * change of signing key between consecutive digests is reported, and log files that no valid digest
 * lists are reported as inserted when they claim (by the time in their name) or show (by their
 * LastModified) a delivery inside the time that valid digests cover. Files that other trails'
 * validly signed digests in the same folder list are accounted for.
 *
 * I/O goes through `ValidationSource` (S3 and ListPublicKeys in the CLI). Results are events in
 * the order the AWS CLI prints them; log file checks run concurrently, each event carrying its
 * pending result.
 */
import { promisify } from 'node:util'
import { createGunzip, gunzip } from 'node:zlib'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  dayFolder,
  digestFileKey,
  digestFileStamp,
  digestFolder,
  logFolder,
  type KeyScope,
} from '../delivery/keys.js'
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
  /** Objects under `prefix` with their LastModified; enables the inserted log file check. */
  listObjects?(bucket: string, prefix: string): AsyncIterable<{ key: string; lastModified: Date }>
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
  /** A log file in the time valid digests cover that none of them lists (inserted). */
  | { type: 'log-unlisted'; bucket: string; key: string }

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
const gunzipAsync = promisify(gunzip)
/** Digests fetched ahead of the chain walk. */
const DIGEST_PREFETCH = 8

/** Any trail's digest file name (`…_CloudTrail-Digest_<region>_<trail>_<home>_<stamp>.json.gz`). */
const OTHER_DIGEST = /_CloudTrail-Digest_[^/]+_\d{8}T\d{6}Z\.json\.gz$/

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

/** Bodies up to this size are gunzipped in one call (libuv's pool); larger ones stream. */
const ONE_SHOT_GUNZIP = 8 * 1024 * 1024

/** SHA-256 (hex) of the gunzipped content; rejects when the bytes are not gzip. */
export async function gunzipSha256(body: Buffer): Promise<string> {
  const hash = createHash('sha256')
  if (body.length <= ONE_SHOT_GUNZIP) return hash.update(await gunzipAsync(body)).digest('hex')
  await pipeline(Readable.from([body]), createGunzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) hash.update(chunk)
  })
  return hash.digest('hex')
}

export class DigestTraverser {
  private readonly scope: KeyScope
  private readonly run: <T>(task: () => Promise<T>) => Promise<T>
  /** Digest fetches: their own lane, so the walk never waits behind queued log files. */
  private readonly runDigest = limiter(DIGEST_PREFETCH)
  /** Digest fetches started ahead of the walk, by `bucket/key`. */
  private readonly prefetched = new Map<string, Promise<SourceObject>>()
  /** Durations of valid digests that continue a chain: what one interval is. */
  private readonly durations: number[] = []
  /** Time between consecutive listed digests: the interval when no durations are known. */
  private spacing: number[] = []
  /** Windows [start, end] (ms) of the valid standard digests in the trail's bucket. */
  private readonly covered: [number, number][] = []
  /** `bucket/key` of every log file a valid digest lists. */
  private readonly referenced = new Set<string>()
  /** Other trails' digests in the trail's digest folder and time range. */
  private readonly otherDigests: string[] = []
  private publicKeyMap = new Map<string, Buffer>()

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
    // The trail's log folders are listed while the chain is walked.
    const listing = this.listLogFiles()
    listing.catch(() => undefined)
    yield* this.traverse(false)
    yield* this.traverse(true)
    yield* this.unlisted(await listing)
  }

  /** Log files (with LastModified) in the trail's log folder for the days of the range. */
  private async listLogFiles(): Promise<{ key: string; lastModified: Date }[]> {
    const list = this.source.listObjects?.bind(this.source)
    if (!list) return []
    const { start, end } = this.t
    const folder = logFolder(this.scope)
    const days: string[] = []
    const first = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate())
    for (let day = first; day <= end.getTime(); day += 24 * HOUR)
      days.push(`${folder}/${dayFolder(new Date(day))}/`)
    const out: { key: string; lastModified: Date }[][] = await Promise.all(
      days.map((prefix) =>
        this.runDigest(async () => {
          const got: { key: string; lastModified: Date }[] = []
          for await (const o of list(this.t.bucket, prefix)) got.push(o)
          return got
        }),
      ),
    )
    return out.flat()
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
    const others = !backfill && bucket === this.t.bucket && this.otherDigests.length === 0
    const folder = digestFolder(this.scope)
    const lastDay = dayFolder(new Date(end.getTime() + HOUR))
    let past = false
    for await (const key of this.source.listKeys(bucket, folder, marker)) {
      // Past the range: only other trails' digests of the last day folder are still wanted.
      if (past && key.slice(folder.length + 1, folder.length + 11) > lastDay) break
      if (!re.test(key)) {
        // Other trails' digests in the same folder account for their own log files.
        if (others && OTHER_DIGEST.test(key)) {
          const stamp = digestKeyStamp(key)
          if (stamp >= from && stamp <= to) this.otherDigests.push(key)
        }
        continue
      }
      const stamp = digestKeyStamp(key)
      if (!parseStamp(stamp)) continue
      if (stamp > to) {
        if (!others) break
        past = true
        continue
      }
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
    if (!backfill) this.publicKeyMap = keys

    // The walk goes newest to oldest and mostly follows the listing: fetch ahead of it.
    const prefetch = () => {
      for (const k of digests.slice(-DIGEST_PREFETCH)) {
        const id = `${bucket}/${k}`
        if (this.prefetched.has(id)) continue
        const p = this.runDigest(() => this.source.getObject(bucket, k))
        p.catch(() => undefined) // observed when the walk reaches it
        this.prefetched.set(id, p)
      }
    }
    let key: string | undefined = digests.pop()
    const prefetchFirst = `${bucket}/${key!}`
    if (!this.prefetched.has(prefetchFirst))
      this.prefetched.set(
        prefetchFirst,
        this.runDigest(() => this.source.getObject(bucket, key!)),
      )
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
      prefetch()
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
      if (!backfill && bucket === this.t.bucket)
        this.covered.push([digestStart.getTime(), digestEnd.getTime()])
      for (const log of Array.isArray(digest.logFiles) ? digest.logFiles : []) {
        this.referenced.add(`${log.s3Bucket}/${log.s3Object}`)
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

  /**
   * Log files in the trail's log folder that no valid digest lists, although their name's time or
   * their LastModified falls inside the time the valid digests cover (away from the windows' edges,
   * where a file may belong to a neighbouring digest).
   */
  private async *unlisted(
    files: { key: string; lastModified: Date }[],
  ): AsyncGenerator<ValidationEvent> {
    if (files.length === 0 || this.covered.length === 0) return
    const windows = [...this.covered].sort((a, b) => a[0] - b[0])
    const merged: [number, number][] = []
    for (const [s, e] of windows) {
      const last = merged.at(-1)
      if (last && s <= last[1] + 1000) last[1] = Math.max(last[1], e)
      else merged.push([s, e])
    }
    const { start, end } = this.t
    const inside = (t: number, width: number) =>
      t >= start.getTime() &&
      t <= end.getTime() &&
      merged.some(([s, e]) => {
        const m = Math.min(60_000, (e - s) / 10)
        return t >= s + m && t + width <= e - m
      })
    const bucket = this.t.bucket
    const name = new RegExp(
      `/${escapeRe(this.t.accountId)}_CloudTrail_${escapeRe(this.t.sourceRegion)}_(\\d{8}T\\d{4}Z)_[^/]+\\.json\\.gz$`,
    )
    const candidates: string[] = []
    for (const o of files) {
      if (this.referenced.has(`${bucket}/${o.key}`)) continue
      const m = name.exec(o.key)
      if (!m) continue
      const stamp = parseStamp(`${m[1]!.slice(0, -1)}00Z`)
      if ((stamp && inside(stamp.getTime(), 60_000)) || inside(o.lastModified.getTime(), 1000))
        candidates.push(o.key)
    }
    if (candidates.length === 0) return
    // Files of other trails delivering to the same folder are listed by those trails' digests.
    await Promise.all(
      this.otherDigests.map((k) =>
        this.run(async () => {
          try {
            const d = await this.loadAndVerify(this.publicKeyMap, bucket, k, false)
            for (const f of Array.isArray(d.logFiles) ? d.logFiles : [])
              this.referenced.add(`${f.s3Bucket}/${f.s3Object}`)
          } catch {
            // Not a valid digest: it accounts for nothing.
          }
        }),
      ),
    )
    for (const key of candidates)
      if (!this.referenced.has(`${bucket}/${key}`)) yield { type: 'log-unlisted', bucket, key }
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
    const id = `${bucket}/${key}`
    const ahead = this.prefetched.get(id)
    this.prefetched.delete(id)
    const obj = await (ahead ?? this.runDigest(() => this.source.getObject(bucket, key)))
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
  if (body.length <= ONE_SHOT_GUNZIP) return gunzipAsync(body)
  const chunks: Buffer[] = []
  await pipeline(Readable.from([body]), createGunzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) chunks.push(chunk)
  })
  return Buffer.concat(chunks)
}
