/**
 * @module objectstore/port
 * The object-store port that trail delivery, digests, validation and import use. Adapters: a local
 * directory acting as buckets (the embedded default) and any S3-compatible endpoint.
 */

export interface ObjectInfo {
  key: string
  size: number
  lastModified: Date
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
