/**
 * @module delivery/state
 * The delivery sink's durable state, one JSON file written atomically: the pipeline checkpoint, the
 * per-trail-and-region spool streams (open batch length, sealed batches waiting for delivery), the
 * digest chains, and the delivery status GetTrailStatus reports.
 *
 * Every change is a `commit`: a copy of the state is changed and written (temp file, fsync,
 * rename), and only then becomes the state in memory. Batches and digests are written ahead here
 * (object key, content identity) before they are sent, so a retry after a crash writes the same
 * object key again instead of a second object.
 */
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import type { DigestLogFile } from '../digest/digest-file.js'
import { Mutex } from './mutex.js'

/** Where a trail's files go; a snapshot of the trail's settings, kept for retries and deleted trails. */
export interface Destination {
  bucket: string
  prefix?: string
  kmsKeyId?: string
}

export interface SealedBatch {
  gen: number
  bytes: number
  count: number
  bucket: string
  key: string
  kmsKeyId?: string
  sealedAt: string
  oldestEventTime: string
  newestEventTime: string
  attempts: number
  nextAttemptAt?: string
}

/** The log records of one trail in one region, on their way to log files. */
export interface StreamState {
  id: string
  trailKey: string
  trailArn: string
  trailName: string
  accountId: string
  homeRegion: string
  region: string
  /** Insights events, delivered to the trail's `CloudTrail-Insight` folder (no digests). */
  insight?: boolean
  destination: Destination
  /** The spool generation records are appended to now; earlier generations are sealed. */
  openGen: number
  openBytes: number
  openCount: number
  openFirstSeq?: number
  openOldest?: string
  openNewest?: string
  pending: SealedBatch[]
}

export interface AccumulatedLogFile extends DigestLogFile {
  deliveredAt: string
}

export interface PendingDigest {
  bucket: string
  key: string
  /** The uncompressed digest JSON exactly as signed. */
  body: string
  hash: string
  signature: string
  endTime: string
  /** The s3Object of every log file the digest lists (removed from the chain when delivered). */
  logObjects: string[]
  attempts: number
  nextAttemptAt?: string
  /** The last digest of a chain whose trail stopped logging or validating: the chain ends with it. */
  final?: boolean
}

/** One trail's digest chain in one region. */
export interface ChainState {
  id: string
  trailKey: string
  trailArn: string
  trailName: string
  accountId: string
  homeRegion: string
  region: string
  destination: Destination
  startTime: string
  previous?: { bucket: string; key: string; hash: string; signature: string }
  logFiles: AccumulatedLogFile[]
  pending?: PendingDigest
  /** Since when the trail no longer logs with validation; the chain ends after a grace period. */
  ineligibleSince?: string
}

export interface TrailDeliveryStatus {
  latestDeliveryTime?: string
  latestDeliveryError?: string
  latestDeliveryAttemptTime?: string
  /** The time of the latest successful attempt (AWS reports a time here, not a boolean). */
  latestDeliveryAttemptSucceeded?: string
  latestDigestDeliveryTime?: string
  latestDigestDeliveryError?: string
}

export interface DeliveryState {
  version: 1
  checkpoint: number
  streams: Record<string, StreamState>
  chains: Record<string, ChainState>
  status: Record<string, TrailDeliveryStatus>
}

const empty = (): DeliveryState => ({
  version: 1,
  checkpoint: 0,
  streams: {},
  chains: {},
  status: {},
})

export class DeliveryStateStore {
  private readonly mutex = new Mutex()

  private constructor(
    private readonly file: string,
    private current: DeliveryState,
  ) {}

  static async open(file: string): Promise<DeliveryStateStore> {
    return new DeliveryStateStore(file, (await readJsonFile<DeliveryState>(file)) ?? empty())
  }

  /** The committed state. Read-only: change it only through `commit`. */
  get state(): Readonly<DeliveryState> {
    return this.current
  }

  /**
   * Runs `change` on a copy of the state, one commit at a time, writes the copy durably and makes it
   * current. When `change` or the write throws, the state is unchanged.
   */
  commit<T>(change: (next: DeliveryState) => T | Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const next = structuredClone(this.current)
      const result = await change(next)
      await writeJsonFileAtomic(this.file, next)
      this.current = next
      return result
    })
  }
}
