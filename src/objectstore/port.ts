/**
 * @module objectstore/port
 * The object-store port that trail delivery, digests, validation and import use. Adapters: a local
 * directory acting as buckets (the embedded default) and any S3-compatible endpoint.
 */

export interface ObjectInfo {
  key: string
  size: number
  lastModified: Date
  /** Hex MD5 of the body for single-part objects, without quotes (S3's ETag unquoted). */
  etag: string
}

export interface StoredObject extends ObjectInfo {
  body: Buffer
  contentType?: string
  contentEncoding?: string
  /** User metadata (`x-amz-meta-*` without the prefix), e.g. `signature`, `signature-algorithm`. */
  metadata: Record<string, string>
}

export interface PutOptions {
  contentType?: string
  contentEncoding?: string
  metadata?: Record<string, string>
  /** KMS key to encrypt with (SSE-KMS on S3; OpenTrail's own envelope encryption locally). */
  kmsKeyId?: string
}

export interface ListResult {
  objects: ObjectInfo[]
  /** Present when more keys follow; pass back as `startAfter`. */
  nextStartAfter?: string
}

export class NoSuchBucketError extends Error {
  override name = 'NoSuchBucket'
}
export class NoSuchKeyError extends Error {
  override name = 'NoSuchKey'
}

export interface ObjectStore {
  bucketExists(bucket: string): Promise<boolean>
  /** Creates the bucket; no error when it already exists and is this store's. */
  createBucket(bucket: string): Promise<void>
  putObject(bucket: string, key: string, body: Buffer, opts?: PutOptions): Promise<void>
  /** Throws NoSuchBucketError / NoSuchKeyError. */
  getObject(bucket: string, key: string): Promise<StoredObject>
  headObject(bucket: string, key: string): Promise<Omit<StoredObject, 'body'>>
  listObjects(
    bucket: string,
    opts: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListResult>
  deleteObject(bucket: string, key: string): Promise<void>
}

/*
 * Optional capabilities. Both adapters implement them; code that only needs objects depends on
 * ObjectStore alone and checks with `hasBucketSettings` / `hasBucketAdmin` before using them.
 */

export class BucketNotEmptyError extends Error {
  override name = 'BucketNotEmpty'
}

export interface PublicAccessBlockConfig {
  blockPublicAcls: boolean
  ignorePublicAcls: boolean
  blockPublicPolicy: boolean
  restrictPublicBuckets: boolean
}

export interface BucketLoggingConfig {
  targetBucket: string
  targetPrefix: string
}

export interface BucketEncryptionConfig {
  sseAlgorithm: 'AES256' | 'aws:kms' | 'aws:kms:dsse'
  kmsMasterKeyId?: string
  bucketKeyEnabled?: boolean
}

/** A bucket's settings as the posture checks read them; an absent member means "not configured". */
export interface BucketConfiguration {
  /** The bucket policy document as JSON text. */
  policy?: string
  versioning?: 'Enabled' | 'Suspended'
  publicAccessBlock?: PublicAccessBlockConfig
  logging?: BucketLoggingConfig
  encryption?: BucketEncryptionConfig
}

/** A change to a bucket's settings: members left out stay as they are, `null` removes one. */
export type BucketConfigurationPatch = {
  [K in keyof BucketConfiguration]?: BucketConfiguration[K] | null
}

export interface BucketSettings {
  /** Throws NoSuchBucketError. */
  getBucketSettings(bucket: string): Promise<BucketConfiguration>
  /** Throws NoSuchBucketError. Returns the settings after the change. */
  putBucketSettings(bucket: string, patch: BucketConfigurationPatch): Promise<BucketConfiguration>
}

export interface BucketInfo {
  name: string
  creationDate: Date
  /** The bucket's region (LocationConstraint), where the store knows it. */
  region?: string
  /** The owning account, where the store keeps one (the embedded store does). */
  ownerAccountId?: string
}

export interface BucketAdmin {
  listBuckets(): Promise<BucketInfo[]>
  /** Throws NoSuchBucketError, BucketNotEmptyError. */
  deleteBucket(bucket: string): Promise<void>
}

export function hasBucketSettings<T extends ObjectStore>(s: T): s is T & BucketSettings {
  const o = s as Partial<BucketSettings>
  return typeof o.getBucketSettings === 'function' && typeof o.putBucketSettings === 'function'
}

export function hasBucketAdmin<T extends ObjectStore>(s: T): s is T & BucketAdmin {
  const o = s as Partial<BucketAdmin>
  return typeof o.listBuckets === 'function' && typeof o.deleteBucket === 'function'
}
