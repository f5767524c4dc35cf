/**
 * @module objectstore/s3-store
 * The object-store port over any S3-compatible endpoint (AWS S3, MinIO, Ceph, moto) through the
 * AWS SDK. Path-style addressing by default, so plain host:port endpoints work without DNS.
 * `PutOptions.kmsKeyId` asks the bucket for SSE-KMS with that key; user metadata travels as
 * `x-amz-meta-*`. ETags are returned without their quotes.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketEncryptionCommand,
  DeleteObjectCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketLoggingCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type BucketLocationConstraint,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3'
import {
  BucketNotEmptyError,
  NoSuchBucketError,
  NoSuchKeyError,
  type BucketAdmin,
  type BucketConfiguration,
  type BucketConfigurationPatch,
  type BucketEncryptionConfig,
  type BucketInfo,
  type BucketSettings,
  type ListResult,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './port.js'

export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:9000`; omitted: AWS's regional endpoint. */
  endpoint?: string
  region: string
  /** Omitted: the SDK's default credential chain (environment, profile, instance role). */
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** Path-style addressing (`/bucket/key`); default true. */
  forcePathStyle?: boolean
  maxAttempts?: number
}

export type S3ObjectHead = Omit<StoredObject, 'body'> & { kmsKeyId?: string }

interface AwsError {
  name?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
}

function code(err: unknown): string {
  const e = err as AwsError
  return e?.Code ?? e?.name ?? ''
}
function status(err: unknown): number | undefined {
  return (err as AwsError)?.$metadata?.httpStatusCode
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '')

export class S3ObjectStore implements ObjectStore, BucketSettings, BucketAdmin {
  readonly client: S3Client

  constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? true,
      ...(opts.accessKeyId && opts.secretAccessKey
        ? {
            credentials: {
              accessKeyId: opts.accessKeyId,
              secretAccessKey: opts.secretAccessKey,
              ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
            },
          }
        : {}),
      ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    })
  }

  destroy(): void {
    this.client.destroy()
  }

  /** Translates S3's not-found errors to the port's. */
  private rethrow(err: unknown, bucket: string, key?: string): never {
    const c = code(err)
    if (c === 'NoSuchBucket')
      throw new NoSuchBucketError(`The specified bucket does not exist: ${bucket}`)
    if (c === 'NoSuchKey' && key !== undefined)
      throw new NoSuchKeyError(`The specified key does not exist: ${key}`)
    if (c === 'BucketNotEmpty')
      throw new BucketNotEmptyError('The bucket you tried to delete is not empty')
    throw err
  }

  async bucketExists(bucket: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }))
      return true
    } catch (err) {
      if (status(err) === 404 || code(err) === 'NotFound' || code(err) === 'NoSuchBucket')
        return false
      throw err
    }
  }

  async createBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(this.opts.region !== 'us-east-1'
            ? {
                CreateBucketConfiguration: {
                  LocationConstraint: this.opts.region as BucketLocationConstraint,
                },
              }
            : {}),
        }),
      )
    } catch (err) {
      if (code(err) === 'BucketAlreadyOwnedByYou') return
      throw err
    }
  }

  async putObject(bucket: string, key: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          ...(opts.contentEncoding ? { ContentEncoding: opts.contentEncoding } : {}),
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          ...(opts.kmsKeyId
            ? {
                ServerSideEncryption: 'aws:kms',
                SSEKMSKeyId: opts.kmsKeyId,
              }
            : {}),
        }),
      )
    } catch (err) {
      this.rethrow(err, bucket, key)
    }
  }

  private head(key: string, out: HeadObjectCommandOutput | GetObjectCommandOutput): S3ObjectHead {
    return {
      key,
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified ?? new Date(0),
      etag: unquote(out.ETag),
      ...(out.ContentType ? { contentType: out.ContentType } : {}),
      ...(out.ContentEncoding ? { contentEncoding: out.ContentEncoding } : {}),
      metadata: { ...(out.Metadata ?? {}) },
      ...(out.ServerSideEncryption === 'aws:kms' && out.SSEKMSKeyId
        ? { kmsKeyId: out.SSEKMSKeyId }
        : {}),
    }
  }

  async getObject(bucket: string, key: string): Promise<StoredObject & S3ObjectHead> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array())
      return { ...this.head(key, out), size: body.length, body }
    } catch (err) {
      this.rethrow(err, bucket, key)
    }
  }

  async headObject(bucket: string, key: string): Promise<S3ObjectHead> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      return this.head(key, out)
    } catch (err) {
      // HEAD responses have no body: a 404 is either a missing bucket or a missing key.
      if (status(err) === 404 || code(err) === 'NotFound') {
        if (!(await this.bucketExists(bucket)))
          throw new NoSuchBucketError(`The specified bucket does not exist: ${bucket}`)
        throw new NoSuchKeyError(`The specified key does not exist: ${key}`)
      }
      this.rethrow(err, bucket, key)
    }
  }

  async listObjects(
    bucket: string,
    opts: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListResult> {
    const want = opts.maxKeys ?? 1000
    const objects: ObjectInfo[] = []
    let token: string | undefined
    let truncated = false
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(opts.prefix ? { Prefix: opts.prefix } : {}),
            ...(opts.startAfter && !token ? { StartAfter: opts.startAfter } : {}),
            ...(token ? { ContinuationToken: token } : {}),
            MaxKeys: Math.min(1000, want - objects.length),
          }),
        )
        for (const o of out.Contents ?? []) {
          objects.push({
            key: o.Key!,
            size: o.Size ?? 0,
            lastModified: o.LastModified ?? new Date(0),
            etag: unquote(o.ETag),
          })
        }
        truncated = out.IsTruncated ?? false
        token = out.NextContinuationToken
      } while (truncated && token && objects.length < want)
    } catch (err) {
      this.rethrow(err, bucket)
    }
    return truncated && objects.length > 0
      ? { objects, nextStartAfter: objects[objects.length - 1]!.key }
      : { objects }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    } catch (err) {
      this.rethrow(err, bucket, key)
    }
  }

  // ---- BucketAdmin ---------------------------------------------------------------------------

  async listBuckets(): Promise<BucketInfo[]> {
    const out = await this.client.send(new ListBucketsCommand({}))
    return (out.Buckets ?? []).map((b) => ({
      name: b.Name!,
      creationDate: b.CreationDate ?? new Date(0),
    }))
  }

  async deleteBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new DeleteBucketCommand({ Bucket: bucket }))
    } catch (err) {
      this.rethrow(err, bucket)
    }
  }

  // ---- BucketSettings ------------------------------------------------------------------------

  /** Runs a Get* call whose "not configured" error means absent. */
  private async optional<T>(
    bucket: string,
    notConfigured: string,
    fn: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await fn()
    } catch (err) {
      if (code(err) === notConfigured) return undefined
      this.rethrow(err, bucket)
    }
  }

  async getBucketSettings(bucket: string): Promise<BucketConfiguration> {
    const c = this.client
    const [policy, versioning, pab, logging, encryption] = await Promise.all([
      this.optional(bucket, 'NoSuchBucketPolicy', () =>
        c.send(new GetBucketPolicyCommand({ Bucket: bucket })),
      ),
      this.optional(bucket, '', () => c.send(new GetBucketVersioningCommand({ Bucket: bucket }))),
      this.optional(bucket, 'NoSuchPublicAccessBlockConfiguration', () =>
        c.send(new GetPublicAccessBlockCommand({ Bucket: bucket })),
      ),
      this.optional(bucket, '', () => c.send(new GetBucketLoggingCommand({ Bucket: bucket }))),
      this.optional(bucket, 'ServerSideEncryptionConfigurationNotFoundError', () =>
        c.send(new GetBucketEncryptionCommand({ Bucket: bucket })),
      ),
    ])
    const out: BucketConfiguration = {}
    if (policy?.Policy) out.policy = policy.Policy
    if (versioning?.Status === 'Enabled' || versioning?.Status === 'Suspended')
      out.versioning = versioning.Status
    const p = pab?.PublicAccessBlockConfiguration
    if (p) {
      out.publicAccessBlock = {
        blockPublicAcls: p.BlockPublicAcls ?? false,
        ignorePublicAcls: p.IgnorePublicAcls ?? false,
        blockPublicPolicy: p.BlockPublicPolicy ?? false,
        restrictPublicBuckets: p.RestrictPublicBuckets ?? false,
      }
    }
    const l = logging?.LoggingEnabled
    if (l?.TargetBucket)
      out.logging = { targetBucket: l.TargetBucket, targetPrefix: l.TargetPrefix ?? '' }
    const rule = encryption?.ServerSideEncryptionConfiguration?.Rules?.[0]
    const def = rule?.ApplyServerSideEncryptionByDefault
    if (def?.SSEAlgorithm) {
      out.encryption = {
        sseAlgorithm: def.SSEAlgorithm as BucketEncryptionConfig['sseAlgorithm'],
        ...(def.KMSMasterKeyID ? { kmsMasterKeyId: def.KMSMasterKeyID } : {}),
        ...(rule?.BucketKeyEnabled !== undefined
          ? { bucketKeyEnabled: rule.BucketKeyEnabled }
          : {}),
      }
    }
    return out
  }

  async putBucketSettings(
    bucket: string,
    patch: BucketConfigurationPatch,
  ): Promise<BucketConfiguration> {
    const c = this.client
    try {
      if (patch.policy === null) await c.send(new DeleteBucketPolicyCommand({ Bucket: bucket }))
      else if (patch.policy !== undefined)
        await c.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: patch.policy }))
      if (patch.versioning !== undefined) {
        await c.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: patch.versioning ?? 'Suspended' },
          }),
        )
      }
      if (patch.publicAccessBlock === null)
        await c.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }))
      else if (patch.publicAccessBlock !== undefined) {
        const p = patch.publicAccessBlock
        await c.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: p.blockPublicAcls,
              IgnorePublicAcls: p.ignorePublicAcls,
              BlockPublicPolicy: p.blockPublicPolicy,
              RestrictPublicBuckets: p.restrictPublicBuckets,
            },
          }),
        )
      }
      if (patch.logging !== undefined) {
        await c.send(
          new PutBucketLoggingCommand({
            Bucket: bucket,
            BucketLoggingStatus: patch.logging
              ? {
                  LoggingEnabled: {
                    TargetBucket: patch.logging.targetBucket,
                    TargetPrefix: patch.logging.targetPrefix,
                  },
                }
              : {},
          }),
        )
      }
      if (patch.encryption === null)
        await c.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }))
      else if (patch.encryption !== undefined) {
        const e = patch.encryption
        await c.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [
                {
                  ApplyServerSideEncryptionByDefault: {
                    SSEAlgorithm: e.sseAlgorithm,
                    ...(e.kmsMasterKeyId ? { KMSMasterKeyID: e.kmsMasterKeyId } : {}),
                  },
                  ...(e.bucketKeyEnabled !== undefined
                    ? { BucketKeyEnabled: e.bucketKeyEnabled }
                    : {}),
                },
              ],
            },
          }),
        )
      }
    } catch (err) {
      this.rethrow(err, bucket)
    }
    return this.getBucketSettings(bucket)
  }
}
