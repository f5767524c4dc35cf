/**
 * @module digest/validation-events
 * What log file validation reads and reports: the I/O port (`ValidationSource`: S3 listing and
 * reads, ListPublicKeys), the trail and time range validated (`ValidationTarget`), and the events
 * the walk yields in the order the AWS CLI prints them, each log file's check a pending result.
 */
import type { DigestFile } from './digest-file.js'

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
