/**
 * @module digest/digest-writer
 * Digest chains: for every trail with log file validation, one signed digest file per region per
 * interval (also for intervals without log files), each naming the previous one. Digest end times
 * sit on a fixed grid (multiples of the interval), so every digest in a steady chain covers exactly
 * one interval; after downtime the missed intervals are caught up. A digest is written ahead into the
 * state (key, content, signature) before it is sent, so a crash re-sends the same object.
 *
 * A chain ends (after one last digest for the log files it still holds) when its trail stops
 * logging, turns validation off or is deleted; the next chain starts with null previous-digest
 * fields, which validators report as a gap, as with AWS.
 */
import { gzipSync } from 'node:zlib'
import type { Trail } from '../domains/trails/model.js'
import { digestFileKey, isoSeconds } from '../delivery/keys.js'
import type {
  ChainState,
  DeliveryState,
  DeliveryStateStore,
  PendingDigest,
} from '../delivery/state.js'
import type { ObjectStore } from '../objectstore/port.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import {
  HASH_ALGORITHM,
  SIGNATURE_ALGORITHM,
  sha256Hex,
  signHex,
  stringToSign,
  type DigestFile,
} from './digest-file.js'
import type { SigningKeyStore } from './keystore.js'

/** Missed intervals caught up one digest each; beyond this, one digest covers the rest. */
const MAX_CATCH_UP = 168

export interface DigestWriterDeps {
  state: DeliveryStateStore
  keys: SigningKeyStore
  store: ObjectStore
  clock: Clock
  logger: Logger
  intervalSeconds: number
  backoffMs: (attempts: number) => number
  errorCode: (err: unknown) => string
  trailKey: (t: Trail) => string
  /** Whether the log stream of a chain still has records not yet delivered. */
  streamBusy: (chainId: string) => boolean
  /**
   * How long a chain whose trail stopped logging (or validating, or was deleted) waits before its
   * last digest: records from before the stop may still be on their way through the pipeline.
   */
  finalGraceMs: number
}

export class DigestWriter {
  constructor(private readonly d: DigestWriterDeps) {}

  private get intervalMs(): number {
    return this.d.intervalSeconds * 1000
  }

  /** Creates chains for eligible trails, then emits and sends every digest that is due. */
  async tick(trails: readonly Trail[]): Promise<void> {
    const now = this.d.clock.now()
    const eligible = new Map<string, Trail>()
    for (const t of trails) {
      if (t.logFileValidationEnabled && t.isLogging) eligible.set(this.d.trailKey(t), t)
    }
    const chains = this.d.state.state.chains
    const missing = [...eligible.values()].filter(
      (t) => !chains[chainId(this.d.trailKey(t), t.homeRegion)],
    )
    const flip = Object.values(chains).filter(
      (c) => eligible.has(c.trailKey) === Boolean(c.ineligibleSince),
    )
    if (missing.length > 0 || flip.length > 0) {
      await this.d.state.commit((s) => {
        for (const t of missing) ensureChain(s, t, this.d.trailKey(t), t.homeRegion, now)
        for (const c of flip) {
          const chain = s.chains[c.id]
          if (!chain) continue
          if (eligible.has(c.trailKey)) delete chain.ineligibleSince
          else chain.ineligibleSince = now.toISOString()
        }
      })
    }
    for (const id of Object.keys(this.d.state.state.chains)) {
      try {
        await this.advance(id, eligible, now)
      } catch (err) {
        this.d.logger.error({ chain: id, err: String(err) }, 'Digest chain step failed.')
      }
    }
  }

  private async advance(id: string, eligible: Map<string, Trail>, now: Date): Promise<void> {
    for (let i = 0; i <= MAX_CATCH_UP + 1; i++) {
      const chain = this.d.state.state.chains[id]
      if (!chain) return
      if (chain.pending) {
        if (!(await this.send(chain, chain.pending, now))) return
        continue
      }
      const trail = eligible.get(chain.trailKey)
      const end = trail ? this.nextEnd(chain, now) : this.finalEnd(chain, now)
      if (!end) return
      await this.prepare(chain, trail, end, !trail)
    }
  }

  /** The next grid end time that is due, or undefined. */
  private nextEnd(chain: ChainState, now: Date): Date | undefined {
    const start = Math.floor(Date.parse(chain.startTime) / 1000) * 1000
    const iv = this.intervalMs
    let end = (Math.floor(start / iv) + 1) * iv
    if (end > now.getTime()) return undefined
    if ((now.getTime() - end) / iv > MAX_CATCH_UP) end = Math.floor(now.getTime() / iv) * iv
    return new Date(end)
  }

  /** A chain whose trail is no longer eligible gets one last digest once its logs are delivered. */
  private finalEnd(chain: ChainState, now: Date): Date | undefined {
    const since = chain.ineligibleSince ? Date.parse(chain.ineligibleSince) : now.getTime()
    if (now.getTime() - since < this.d.finalGraceMs) return undefined
    if (this.d.streamBusy(chain.id)) return undefined
    const end = Math.floor(now.getTime() / 1000) * 1000
    if (end <= Math.floor(Date.parse(chain.startTime) / 1000) * 1000) return undefined
    return new Date(end)
  }

  private async prepare(
    chain: ChainState,
    trail: Trail | undefined,
    end: Date,
    final: boolean,
  ): Promise<void> {
    const dest = trail
      ? {
          bucket: trail.s3BucketName,
          ...(trail.s3KeyPrefix ? { prefix: trail.s3KeyPrefix } : {}),
          ...(trail.kmsKeyId ? { kmsKeyId: trail.kmsKeyId } : {}),
        }
      : chain.destination
    const key = digestFileKey(
      { prefix: dest.prefix, accountId: chain.accountId, region: chain.region },
      chain.trailName,
      chain.homeRegion,
      end,
    )
    const signing = await this.d.keys.current(chain.region)
    const files = chain.logFiles.filter((f) => Date.parse(f.deliveredAt) <= end.getTime())
    const times = files.flatMap((f) => [f.oldestEventTime, f.newestEventTime]).sort()
    const digest: DigestFile = {
      awsAccountId: chain.accountId,
      digestStartTime: isoSeconds(new Date(chain.startTime)),
      digestEndTime: isoSeconds(end),
      digestS3Bucket: dest.bucket,
      digestS3Object: key,
      digestPublicKeyFingerprint: signing.info.fingerprint,
      digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
      newestEventTime: times.at(-1) ?? null,
      oldestEventTime: times[0] ?? null,
      previousDigestS3Bucket: chain.previous?.bucket ?? null,
      previousDigestS3Object: chain.previous?.key ?? null,
      previousDigestHashValue: chain.previous?.hash ?? null,
      previousDigestHashAlgorithm: chain.previous ? HASH_ALGORITHM : null,
      previousDigestSignature: chain.previous?.signature ?? null,
      logFiles: files.map((f) => ({
        s3Bucket: f.s3Bucket,
        s3Object: f.s3Object,
        hashValue: f.hashValue,
        hashAlgorithm: f.hashAlgorithm,
        newestEventTime: f.newestEventTime,
        oldestEventTime: f.oldestEventTime,
      })),
    }
    const body = JSON.stringify(digest)
    const bytes = Buffer.from(body, 'utf8')
    const pending: PendingDigest = {
      bucket: dest.bucket,
      key,
      body,
      hash: sha256Hex(bytes),
      signature: signHex(signing.privateKey, stringToSign(digest, bytes)),
      endTime: end.toISOString(),
      logObjects: files.map((f) => f.s3Object),
      attempts: 0,
      ...(final ? { final: true } : {}),
    }
    await this.d.state.commit((s) => {
      const c = s.chains[chain.id]
      if (c) {
        c.pending = pending
        c.destination = dest
      }
    })
  }

  /** Sends a written-ahead digest; true when it was delivered. */
  private async send(chain: ChainState, p: PendingDigest, now: Date): Promise<boolean> {
    if (p.nextAttemptAt && Date.parse(p.nextAttemptAt) > now.getTime()) return false
    try {
      await this.d.store.putObject(p.bucket, p.key, gzipSync(Buffer.from(p.body, 'utf8')), {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        metadata: { signature: p.signature, 'signature-algorithm': SIGNATURE_ALGORITHM },
        ...(chain.destination.kmsKeyId ? { kmsKeyId: chain.destination.kmsKeyId } : {}),
      })
    } catch (err) {
      const code = this.d.errorCode(err)
      this.d.logger.warn({ bucket: p.bucket, key: p.key, err: code }, 'Digest delivery failed.')
      await this.d.state.commit((s) => {
        const c = s.chains[chain.id]
        if (c?.pending) {
          c.pending.attempts += 1
          c.pending.nextAttemptAt = new Date(
            now.getTime() + this.d.backoffMs(c.pending.attempts),
          ).toISOString()
        }
        const st = (s.status[chain.trailKey] ??= {})
        st.latestDigestDeliveryError = code
      })
      return false
    }
    const at = this.d.clock.now().toISOString()
    await this.d.state.commit((s) => {
      const c = s.chains[chain.id]
      if (!c) return
      const st = (s.status[chain.trailKey] ??= {})
      st.latestDigestDeliveryTime = at
      delete st.latestDigestDeliveryError
      if (p.final) {
        delete s.chains[chain.id]
        return
      }
      const sent = new Set(p.logObjects)
      c.logFiles = c.logFiles.filter((f) => !sent.has(f.s3Object))
      c.previous = { bucket: p.bucket, key: p.key, hash: p.hash, signature: p.signature }
      c.startTime = p.endTime
      delete c.pending
    })
    return true
  }
}

export const chainId = (trailKey: string, region: string): string => `${trailKey}/${region}`

/** Returns the chain of `trail` in `region`, creating it (starting now) when absent. */
export function ensureChain(
  s: DeliveryState,
  trail: Trail,
  trailKey: string,
  region: string,
  now: Date,
): ChainState {
  const id = chainId(trailKey, region)
  return (s.chains[id] ??= {
    id,
    trailKey,
    trailArn: `arn:aws:cloudtrail:${trail.homeRegion}:${trail.accountId}:trail/${trail.name}`,
    trailName: trail.name,
    accountId: trail.accountId,
    homeRegion: trail.homeRegion,
    region,
    destination: {
      bucket: trail.s3BucketName,
      ...(trail.s3KeyPrefix ? { prefix: trail.s3KeyPrefix } : {}),
      ...(trail.kmsKeyId ? { kmsKeyId: trail.kmsKeyId } : {}),
    },
    startTime: now.toISOString(),
    logFiles: [],
  })
}
