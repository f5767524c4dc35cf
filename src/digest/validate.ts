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
 * pending result. This module walks the chain; the port and events are in validation-events.ts,
 * the listings in digest-listing.ts and the per-file checks in digest-check.ts.
 */
import { digestFolder, isoSeconds, type KeyScope } from '../delivery/keys.js'
import { checkLogFile, DigestError, isNoSuchKey, verifyDigest } from './digest-check.js'
import type { DigestFile } from './digest-file.js'
import {
  digestKeyStamp,
  escapeRe,
  HOUR,
  listDigests,
  listLogFiles,
  parseStamp,
} from './digest-listing.js'
import {
  ValidationError,
  type SourceObject,
  type ValidationEvent,
  type ValidationSource,
  type ValidationTarget,
} from './validation-events.js'

/** Digests fetched ahead of the chain walk. */
const DIGEST_PREFETCH = 8

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
    const listing = listLogFiles(this.source, this.t, this.scope, this.runDigest)
    listing.catch(() => undefined)
    yield* this.traverse(false)
    yield* this.traverse(true)
    yield* this.unlisted(await listing)
  }

  private listDigests(bucket: string, backfill: boolean): Promise<string[]> {
    return listDigests(this.source, this.t, this.scope, bucket, backfill, this.otherDigests)
  }

  private async loadKeys(start: Date, end: Date): Promise<Map<string, Buffer>> {
    const keys = await this.source.publicKeys(start, end)
    if (keys.size === 0) {
      throw new ValidationError(
        `No public keys found between ${isoSeconds(start)} and ${isoSeconds(end)}`,
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
          result: this.run(() => checkLogFile(this.source, log)),
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
    return verifyDigest(
      obj,
      { bucket, key, backfill, homeRegion: this.t.homeRegion },
      keys,
      this.source,
    )
  }
}
