/**
 * @module s3api/operations
 * The S3 operations over the embedded store: wire (headers, query, XML) in, store calls, wire out.
 * Authentication, the operation's own IAM check and the CloudTrail event are the handler's.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { Principal } from '../iam/identities.js'
import {
  InvalidBucketNameError,
  InvalidObjectKeyError,
  InvalidPartError,
  NoSuchUploadError,
  validBucketName,
  type LocalObjectStore,
  type ObjectHead,
} from '../objectstore/local-store.js'
import { kmsKeyArn } from '../objectstore/master-keys.js'
import {
  BucketNotEmptyError,
  NoSuchBucketError,
  NoSuchKeyError,
  type BucketEncryptionConfig,
  type BucketInfo,
  type PutOptions,
} from '../objectstore/port.js'
import { isPublicPolicy, parseBucketPolicy } from './bucket-policy.js'
import {
  accessDenied,
  invalidBucketName,
  malformedXml,
  noSuchBucket,
  noSuchKey,
  S3Error,
} from './errors.js'
import {
  checksumHeaderName,
  decodePayload,
  readSmallBody,
  type ChecksumAlgorithm,
  type PayloadSpec,
} from './payload.js'
import { xmlDocumentParameters } from './events.js'
import { parseXml, xmlBool, xmlDocument, xmlText, type XmlObject, type XmlValue } from './xml.js'

export interface OpContext {
  req: IncomingMessage
  store: LocalObjectStore
  principal: Principal
  defaultAccountId: string
  region: string
  bucket?: string
  key?: string
  query: URLSearchParams
  host: string
  now: Date
  /** What the event logs as requestParameters; operations add parsed documents. */
  requestParameters: Record<string, unknown>
  payload: PayloadSpec
  state: { bytesIn: number; bodyRead: boolean }
  /** IAM check for a further action/resource (copy sources, multi-object delete). */
  authorize(action: string, bucket?: string, key?: string): Promise<void>
  /** IAM check of `kms:<action>` on a key ARN (kms:Decrypt to read an object encrypted at rest). */
  authorizeKms(action: string, keyArn: string): Promise<void>
}

export interface OpResult {
  status?: number
  headers?: Record<string, string>
  body?: string | Buffer | Readable
  responseElements?: unknown
  additionalEventData?: Record<string, unknown>
  bytesOut?: number
  bucketOwner?: string
  /** Keys touched by a multi-object call, for the event's resources. */
  objectArns?: string[]
  /** The listed prefix, for the event's ARNPrefix resource. */
  listPrefix?: string
}

const MAX_CONFIG_BODY = 1024 * 1024
const MAX_PUT_SIZE = 5 * 1024 ** 3
const MAX_METADATA_BYTES = 2048

// ---- helpers ---------------------------------------------------------------------------------

/** S3-style canonical user ID for an account (64 hex digits, stable). */
export function canonicalId(accountId: string): string {
  return createHash('sha256').update(`opentrail-canonical-user:${accountId}`).digest('hex')
}

function xmlHeaders(): Record<string, string> {
  return { 'content-type': 'application/xml' }
}

function xml(root: string, content: XmlObject, extra: OpResult = {}): OpResult {
  return {
    ...extra,
    headers: { ...xmlHeaders(), ...(extra.headers ?? {}) },
    body: xmlDocument(root, content),
  }
}

function header(ctx: OpContext, name: string): string | undefined {
  const v = ctx.req.headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

async function bucketOf(ctx: OpContext): Promise<BucketInfo> {
  try {
    return await ctx.store.bucketInfo(ctx.bucket!)
  } catch (err) {
    if (err instanceof NoSuchBucketError) throw noSuchBucket(ctx.bucket!)
    if (err instanceof InvalidBucketNameError) throw noSuchBucket(ctx.bucket!)
    throw err
  }
}

function ownerOf(ctx: OpContext, info: BucketInfo): string {
  return info.ownerAccountId ?? ctx.defaultAccountId
}

async function readBody(ctx: OpContext): Promise<string> {
  const { body, bytesIn } = await readSmallBody(ctx.req, ctx.payload, MAX_CONFIG_BODY)
  ctx.state.bodyRead = true
  ctx.state.bytesIn = bytesIn
  return body.toString('utf8')
}

/** The document in the body, parsed and added to the event's requestParameters. */
async function readXmlBody(ctx: OpContext, root: string, optional = false): Promise<XmlObject> {
  const text = await readBody(ctx)
  if (optional && text.trim() === '') return {}
  const doc = parseXml(text, root)
  Object.assign(ctx.requestParameters, xmlDocumentParameters(root, doc))
  return doc
}

function httpDate(d: Date): string {
  return d.toUTCString()
}

function isoDate(d: Date): string {
  return d.toISOString()
}

/** Header-safe text: metadata values are carried as the bytes of their UTF-8 form. */
function headerSafe(v: string): string {
  return /[^\x20-\x7e\x80-\xff\t]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v
}

function objectHeaders(head: ObjectHead): Record<string, string> {
  const h: Record<string, string> = {
    'last-modified': httpDate(head.lastModified),
    etag: `"${head.etag}"`,
    'content-type': head.contentType ?? 'binary/octet-stream',
    'accept-ranges': 'bytes',
    'x-amz-server-side-encryption': head.kmsKeyId ? 'aws:kms' : 'AES256',
  }
  if (head.kmsKeyId) h['x-amz-server-side-encryption-aws-kms-key-id'] = head.kmsKeyId
  if (head.contentEncoding) h['content-encoding'] = head.contentEncoding
  for (const [k, v] of Object.entries(head.metadata))
    h[`x-amz-meta-${k.toLowerCase()}`] = headerSafe(v)
  return h
}

/** PutOptions from a PutObject / CreateMultipartUpload / CopyObject(REPLACE) request's headers. */
function putOptionsFrom(ctx: OpContext): PutOptions {
  const metadata: Record<string, string> = {}
  let metaBytes = 0
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue
    const k = name.slice('x-amz-meta-'.length)
    const v = Array.isArray(value) ? value.join(',') : value
    metadata[k] = v
    metaBytes += Buffer.byteLength(k) + Buffer.byteLength(v)
  }
  if (metaBytes > MAX_METADATA_BYTES)
    throw new S3Error(
      'MetadataTooLarge',
      'Your metadata headers exceed the maximum allowed metadata size.',
      400,
    )
  // aws-chunked is a transfer coding of the request, not the object's content encoding.
  const encoding = (header(ctx, 'content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e.toLowerCase() !== 'aws-chunked')
    .join(', ')
  const sse = header(ctx, 'x-amz-server-side-encryption')
  if (sse && sse !== 'AES256' && sse !== 'aws:kms' && sse !== 'aws:kms:dsse')
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', 400)
  const kmsKeyId =
    sse?.startsWith('aws:kms') === true
      ? (header(ctx, 'x-amz-server-side-encryption-aws-kms-key-id') ?? 'aws/s3')
      : undefined
  return {
    ...(header(ctx, 'content-type') ? { contentType: header(ctx, 'content-type') } : {}),
    ...(encoding ? { contentEncoding: encoding } : {}),
    metadata,
    ...(kmsKeyId ? { kmsKeyId } : {}),
  }
}

/** Bucket default encryption applies when a put names none. */
async function withDefaultEncryption(ctx: OpContext, opts: PutOptions): Promise<PutOptions> {
  if (opts.kmsKeyId) return opts
  const enc = (await ctx.store.getBucketSettings(ctx.bucket!)).encryption
  return enc?.sseAlgorithm.startsWith('aws:kms') === true
    ? { ...opts, kmsKeyId: enc.kmsMasterKeyId ?? 'aws/s3' }
    : opts
}

function requireContentLength(ctx: OpContext): void {
  const len = header(ctx, 'content-length')
  const te = header(ctx, 'transfer-encoding')
  if (len === undefined && te === undefined)
    throw new S3Error(
      'MissingContentLength',
      'You must provide the Content-Length HTTP header.',
      411,
    )
  const decoded = ctx.payload.decodedLength ?? Number(len ?? 0)
  if (decoded > MAX_PUT_SIZE)
    throw new S3Error(
      'EntityTooLarge',
      'Your proposed upload exceeds the maximum allowed object size.',
      400,
    )
}

function checksumHeaders(checksums: Record<string, string> | undefined): Record<string, string> {
  const h: Record<string, string> = {}
  for (const [alg, v] of Object.entries(checksums ?? {}))
    h[checksumHeaderName(alg as ChecksumAlgorithm)] = v
  return h
}

function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/')
}

function maxKeysParam(ctx: OpContext): number {
  const raw = ctx.query.get('max-keys')
  if (raw === null) return 1000
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    throw new S3Error(
      'InvalidArgument',
      'Provided max-keys not an integer or within integer range',
      400,
      {
        ArgumentName: 'max-keys',
        ArgumentValue: raw,
      },
    )
  return Math.min(n, 1000)
}

/** Evaluates If-Match / If-None-Match / If-(Un)Modified-Since for GET and HEAD. */
function preconditions(ctx: OpContext, head: ObjectHead): number | undefined {
  const ifMatch = header(ctx, 'if-match')
  const ifNoneMatch = header(ctx, 'if-none-match')
  const ifModified = header(ctx, 'if-modified-since')
  const ifUnmodified = header(ctx, 'if-unmodified-since')
  const matches = (list: string) =>
    list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^"|"$/g, '') === head.etag)
  if (ifMatch !== undefined && !matches(ifMatch)) return 412
  if (ifUnmodified !== undefined && ifMatch === undefined) {
    const d = Date.parse(ifUnmodified)
    if (!isNaN(d) && head.lastModified.getTime() > d) return 412
  }
  if (ifNoneMatch !== undefined && matches(ifNoneMatch)) return 304
  if (ifModified !== undefined && ifNoneMatch === undefined) {
    const d = Date.parse(ifModified)
    if (!isNaN(d) && head.lastModified.getTime() <= d) return 304
  }
  return undefined
}

function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!value) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim())
  if (!m || (m[1] === '' && m[2] === '')) return undefined // not a single range: whole object
  let start: number
  let end: number
  if (m[1] === '') {
    const n = Number(m[2])
    if (n === 0) throw invalidRange(size)
    start = Math.max(0, size - n)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (m[2] !== '' && Number(m[2]) < start) return undefined
  }
  if (start >= size) throw invalidRange(size)
  return { start, end }
}

const invalidRange = (size: number) =>
  new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
    RangeRequested: '',
    ActualObjectSize: String(size),
  })

// ---- the operations --------------------------------------------------------------------------

type Op = (ctx: OpContext) => Promise<OpResult>

const ops: Record<string, Op> = {
  async ListBuckets(ctx) {
    const mine = (await ctx.store.listBuckets()).filter(
      (b) => (b.ownerAccountId ?? ctx.defaultAccountId) === ctx.principal.accountId,
    )
    return xml('ListAllMyBucketsResult', {
      Owner: { ID: canonicalId(ctx.principal.accountId) },
      Buckets: {
        Bucket: mine.map((b) => ({
          Name: b.name,
          CreationDate: isoDate(b.creationDate),
          BucketRegion: b.region ?? 'us-east-1',
        })),
      },
    })
  },

  async CreateBucket(ctx) {
    const bucket = ctx.bucket!
    const doc = await readXmlBody(ctx, 'CreateBucketConfiguration', true)
    if (!validBucketName(bucket)) throw invalidBucketName(bucket)
    const constraint = xmlText(doc['LocationConstraint'])
    if (constraint !== undefined && constraint !== '') {
      if (constraint === 'us-east-1' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(constraint))
        throw new S3Error(
          'InvalidLocationConstraint',
          'The specified location-constraint is not valid',
          400,
          {
            LocationConstraint: constraint,
          },
        )
      if (constraint !== ctx.region)
        throw new S3Error(
          'IllegalLocationConstraintException',
          `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
          400,
        )
    } else if (ctx.region !== 'us-east-1') {
      throw new S3Error(
        'IllegalLocationConstraintException',
        'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
        400,
      )
    }
    const region = constraint || 'us-east-1'
    const created = await ctx.store.createBucketIfAbsent(bucket, {
      region,
      ownerAccountId: ctx.principal.accountId,
    })
    if (!created) {
      const info = await bucketOf(ctx)
      if (ownerOf(ctx, info) === ctx.principal.accountId)
        throw new S3Error(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          409,
          { BucketName: bucket },
        )
      throw new S3Error(
        'BucketAlreadyExists',
        'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        409,
        { BucketName: bucket },
      )
    }
    return { headers: { location: `/${bucket}` }, bucketOwner: ctx.principal.accountId }
  },

  async DeleteBucket(ctx) {
    const info = await bucketOf(ctx)
    if ((await ctx.store.listUploads(ctx.bucket!)).length > 0)
      throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
        BucketName: ctx.bucket!,
      })
    await ctx.store.deleteBucket(ctx.bucket!)
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async HeadBucket(ctx) {
    const info = await bucketOf(ctx)
    return {
      headers: {
        'x-amz-bucket-region': info.region ?? 'us-east-1',
        'x-amz-access-point-alias': 'false',
      },
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async GetBucketLocation(ctx) {
    const info = await bucketOf(ctx)
    const region = info.region ?? 'us-east-1'
    return {
      headers: xmlHeaders(),
      body: xmlDocument('LocationConstraint', { '#text': region === 'us-east-1' ? '' : region }),
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async ListObjects(ctx) {
    return listObjects(ctx, 1)
  },

  async ListObjectsV2(ctx) {
    return listObjects(ctx, 2)
  },

  async ListObjectVersions(ctx) {
    // Overwrites replace objects here, so every object has exactly one version, "null".
    const info = await bucketOf(ctx)
    const prefix = ctx.query.get('prefix') ?? ''
    const delimiter = ctx.query.get('delimiter') ?? ''
    const marker = ctx.query.get('key-marker') ?? ''
    const maxKeys = maxKeysParam(ctx)
    const page = await collect(ctx, prefix, marker, delimiter, maxKeys)
    return xml(
      'ListVersionsResult',
      {
        Name: ctx.bucket!,
        Prefix: prefix,
        KeyMarker: marker,
        VersionIdMarker: '',
        MaxKeys: maxKeys,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        IsTruncated: page.truncated,
        ...(page.truncated ? { NextKeyMarker: page.last, NextVersionIdMarker: 'null' } : {}),
        Version: page.objects.map((o) => ({
          Key: o.key,
          VersionId: 'null',
          IsLatest: true,
          LastModified: isoDate(o.lastModified),
          ETag: `"${o.etag}"`,
          Size: o.size,
          Owner: { ID: canonicalId(ownerOf(ctx, info)) },
          StorageClass: 'STANDARD',
        })),
        CommonPrefixes: page.prefixes.map((p) => ({ Prefix: p })),
      },
      { bucketOwner: ownerOf(ctx, info), listPrefix: prefix },
    )
  },

  async ListMultipartUploads(ctx) {
    const info = await bucketOf(ctx)
    const uploads = await ctx.store.listUploads(ctx.bucket!)
    const prefix = ctx.query.get('prefix') ?? ''
    return xml(
      'ListMultipartUploadsResult',
      {
        Bucket: ctx.bucket!,
        KeyMarker: '',
        UploadIdMarker: '',
        Prefix: prefix,
        MaxUploads: 1000,
        IsTruncated: false,
        Upload: uploads
          .filter((u) => u.key.startsWith(prefix))
          .map((u) => ({
            Key: u.key,
            UploadId: u.uploadId,
            Initiator: { ID: ctx.principal.arn, DisplayName: ctx.principal.userName ?? '' },
            Owner: { ID: canonicalId(ownerOf(ctx, info)) },
            StorageClass: 'STANDARD',
            Initiated: u.initiated,
          })),
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async GetBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    const policy = (await ctx.store.getBucketSettings(ctx.bucket!)).policy
    if (!policy)
      throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
        BucketName: ctx.bucket!,
      })
    return {
      headers: { 'content-type': 'application/json' },
      body: policy,
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async PutBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    // Only the owning account may change a bucket's policy, whatever the policy says.
    if (ownerOf(ctx, info) !== ctx.principal.accountId) throw accessDenied()
    const text = await readBody(ctx)
    const parsed = parseBucketPolicy(text)
    const settings = await ctx.store.getBucketSettings(ctx.bucket!)
    if (settings.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(text)) throw accessDenied()
    ctx.requestParameters['bucketPolicy'] = {
      ...(JSON.parse(text) as object),
      Statement: parsed.Statement,
    }
    ctx.requestParameters['policy'] = ''
    await ctx.store.putBucketSettings(ctx.bucket!, { policy: text })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async DeleteBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    if (ownerOf(ctx, info) !== ctx.principal.accountId) throw accessDenied()
    await ctx.store.putBucketSettings(ctx.bucket!, { policy: null })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketPolicyStatus(ctx) {
    const info = await bucketOf(ctx)
    const s = await ctx.store.getBucketSettings(ctx.bucket!)
    if (!s.policy)
      throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {
        BucketName: ctx.bucket!,
      })
    const isPublic = isPublicPolicy(s.policy) && !s.publicAccessBlock?.restrictPublicBuckets
    return xml('PolicyStatus', { IsPublic: isPublic }, { bucketOwner: ownerOf(ctx, info) })
  },

  async GetBucketVersioning(ctx) {
    const info = await bucketOf(ctx)
    const v = (await ctx.store.getBucketSettings(ctx.bucket!)).versioning
    return xml('VersioningConfiguration', v ? { Status: v } : {}, {
      bucketOwner: ownerOf(ctx, info),
    })
  },

  async PutBucketVersioning(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'VersioningConfiguration')
    const status = xmlText(doc['Status'])
    if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml()
    if (xmlText(doc['MfaDelete']) === 'Enabled')
      throw new S3Error('InvalidRequest', 'MFA delete is not supported by this endpoint.', 400)
    await ctx.store.putBucketSettings(ctx.bucket!, { versioning: status })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async GetPublicAccessBlock(ctx) {
    const info = await bucketOf(ctx)
    const p = (await ctx.store.getBucketSettings(ctx.bucket!)).publicAccessBlock
    if (!p)
      throw new S3Error(
        'NoSuchPublicAccessBlockConfiguration',
        'The public access block configuration was not found',
        404,
        { BucketName: ctx.bucket! },
      )
    return xml(
      'PublicAccessBlockConfiguration',
      {
        BlockPublicAcls: p.blockPublicAcls,
        IgnorePublicAcls: p.ignorePublicAcls,
        BlockPublicPolicy: p.blockPublicPolicy,
        RestrictPublicBuckets: p.restrictPublicBuckets,
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutPublicAccessBlock(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'PublicAccessBlockConfiguration')
    await ctx.store.putBucketSettings(ctx.bucket!, {
      publicAccessBlock: {
        blockPublicAcls: xmlBool(doc['BlockPublicAcls']),
        ignorePublicAcls: xmlBool(doc['IgnorePublicAcls']),
        blockPublicPolicy: xmlBool(doc['BlockPublicPolicy']),
        restrictPublicBuckets: xmlBool(doc['RestrictPublicBuckets']),
      },
    })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async DeletePublicAccessBlock(ctx) {
    const info = await bucketOf(ctx)
    await ctx.store.putBucketSettings(ctx.bucket!, { publicAccessBlock: null })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketLogging(ctx) {
    const info = await bucketOf(ctx)
    const l = (await ctx.store.getBucketSettings(ctx.bucket!)).logging
    return xml(
      'BucketLoggingStatus',
      l ? { LoggingEnabled: { TargetBucket: l.targetBucket, TargetPrefix: l.targetPrefix } } : {},
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutBucketLogging(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'BucketLoggingStatus', true)
    const enabled = doc['LoggingEnabled'] as XmlObject | undefined
    if (enabled && typeof enabled === 'object') {
      const target = xmlText(enabled['TargetBucket'])
      if (!target) throw malformedXml()
      if (!(await ctx.store.bucketExists(target)))
        throw new S3Error(
          'InvalidTargetBucketForLogging',
          'The target bucket for logging does not exist',
          400,
          { TargetBucket: target },
        )
      const targetInfo = await ctx.store.bucketInfo(target)
      if (ownerOf(ctx, targetInfo) !== ownerOf(ctx, info))
        throw new S3Error(
          'InvalidTargetBucketForLogging',
          'The owner for the bucket to be logged and the target bucket must be the same.',
          400,
          { TargetBucket: target },
        )
      await ctx.store.putBucketSettings(ctx.bucket!, {
        logging: { targetBucket: target, targetPrefix: xmlText(enabled['TargetPrefix']) ?? '' },
      })
    } else {
      await ctx.store.putBucketSettings(ctx.bucket!, { logging: null })
    }
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketEncryption(ctx) {
    const info = await bucketOf(ctx)
    // Every S3 bucket has default encryption (SSE-S3) unless configured otherwise.
    const e = (await ctx.store.getBucketSettings(ctx.bucket!)).encryption ?? {
      sseAlgorithm: 'AES256',
      bucketKeyEnabled: false,
    }
    return xml(
      'ServerSideEncryptionConfiguration',
      {
        Rule: {
          ApplyServerSideEncryptionByDefault: {
            SSEAlgorithm: e.sseAlgorithm,
            ...(e.kmsMasterKeyId ? { KMSMasterKeyID: e.kmsMasterKeyId } : {}),
          },
          BucketKeyEnabled: e.bucketKeyEnabled ?? false,
        },
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutBucketEncryption(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'ServerSideEncryptionConfiguration')
    const rule = (doc['Rule'] as XmlValue[] | undefined)?.[0] as XmlObject | undefined
    const def = rule?.['ApplyServerSideEncryptionByDefault'] as XmlObject | undefined
    const alg = xmlText(def?.['SSEAlgorithm'])
    if (alg !== 'AES256' && alg !== 'aws:kms' && alg !== 'aws:kms:dsse') throw malformedXml()
    const kms = xmlText(def?.['KMSMasterKeyID'])
    if (kms && alg === 'AES256')
      throw new S3Error(
        'InvalidArgument',
        'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
        400,
      )
    const encryption: BucketEncryptionConfig = {
      sseAlgorithm: alg,
      ...(kms ? { kmsMasterKeyId: kms } : {}),
      ...(rule?.['BucketKeyEnabled'] !== undefined
        ? { bucketKeyEnabled: xmlBool(rule['BucketKeyEnabled']) }
        : {}),
    }
    await ctx.store.putBucketSettings(ctx.bucket!, { encryption })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async DeleteBucketEncryption(ctx) {
    const info = await bucketOf(ctx)
    await ctx.store.putBucketSettings(ctx.bucket!, { encryption: null })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketAcl(ctx) {
    const info = await bucketOf(ctx)
    return aclResult(ownerOf(ctx, info))
  },

  async GetBucketOwnershipControls(ctx) {
    const info = await bucketOf(ctx)
    return xml(
      'OwnershipControls',
      { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  GetBucketTagging: notConfigured('NoSuchTagSet', 'The TagSet does not exist'),
  GetBucketLifecycleConfiguration: notConfigured(
    'NoSuchLifecycleConfiguration',
    'The lifecycle configuration does not exist',
  ),
  GetBucketCors: notConfigured('NoSuchCORSConfiguration', 'The CORS configuration does not exist'),
  GetBucketWebsite: notConfigured(
    'NoSuchWebsiteConfiguration',
    'The specified bucket does not have a website configuration',
  ),
  GetBucketReplication: notConfigured(
    'ReplicationConfigurationNotFoundError',
    'The replication configuration was not found',
  ),
  GetObjectLockConfiguration: notConfigured(
    'ObjectLockConfigurationNotFoundError',
    'Object Lock configuration does not exist for this bucket',
  ),

  async GetBucketNotificationConfiguration(ctx) {
    const info = await bucketOf(ctx)
    return xml('NotificationConfiguration', {}, { bucketOwner: ownerOf(ctx, info) })
  },

  async DeleteObjects(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'Delete')
    const objects = (doc['Object'] as XmlObject[] | undefined) ?? []
    if (objects.length === 0 || objects.length > 1000) throw malformedXml()
    const quiet = xmlBool(doc['Quiet'])
    const deleted: XmlObject[] = []
    const errors: XmlObject[] = []
    const keys: string[] = []
    for (const o of objects) {
      const key = xmlText(o['Key'])
      if (key === undefined) throw malformedXml()
      keys.push(key)
      try {
        await ctx.authorize('DeleteObject', ctx.bucket, key)
        await ctx.store.deleteObject(ctx.bucket!, key)
        if (!quiet) deleted.push({ Key: key })
      } catch (err) {
        const e =
          err instanceof S3Error
            ? err
            : new S3Error(
                'InternalError',
                'We encountered an internal error. Please try again.',
                500,
              )
        errors.push({ Key: key, Code: e.code, Message: e.message })
      }
    }
    return xml(
      'DeleteResult',
      { Deleted: deleted, Error: errors },
      { bucketOwner: ownerOf(ctx, info), objectArns: keys },
    )
  },

  async GetObject(ctx) {
    const info = await bucketOf(ctx)
    const partNumber = ctx.query.get('partNumber')
    if (partNumber !== null && partNumber !== '1')
      throw new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416)
    const head = await ctx.store.headObject(ctx.bucket!, ctx.key!)
    const pre = preconditions(ctx, head)
    if (pre === 412)
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        {
          Condition: 'If-Match',
        },
      )
    const headers = objectHeaders(head)
    if (pre === 304)
      return {
        status: 304,
        headers: { etag: headers['etag']!, 'last-modified': headers['last-modified']! },
        bucketOwner: ownerOf(ctx, info),
      }
    if (head.kmsKeyId)
      await ctx.authorizeKms(
        'Decrypt',
        kmsKeyArn(head.kmsKeyId, info.region ?? ctx.region, ownerOf(ctx, info)),
      )
    const range = parseRange(header(ctx, 'range'), head.size)
    const { head: opened, stream } = await ctx.store.getObjectStream(ctx.bucket!, ctx.key!, range)
    const h = objectHeaders(opened)
    let length = opened.size
    let status = 200
    if (range) {
      status = 206
      length = range.end - range.start + 1
      h['content-range'] = `bytes ${range.start}-${range.end}/${opened.size}`
    } else if (header(ctx, 'x-amz-checksum-mode') === 'ENABLED' && opened.checksums) {
      Object.assign(h, checksumHeaders(opened.checksums))
      h['x-amz-checksum-type'] = 'FULL_OBJECT'
    }
    for (const [q, hn] of [
      ['response-content-type', 'content-type'],
      ['response-content-language', 'content-language'],
      ['response-expires', 'expires'],
      ['response-cache-control', 'cache-control'],
      ['response-content-disposition', 'content-disposition'],
      ['response-content-encoding', 'content-encoding'],
    ] as const) {
      const v = ctx.query.get(q)
      if (v !== null) h[hn] = headerSafe(v)
    }
    h['content-length'] = String(length)
    return { status, headers: h, body: stream, bytesOut: length, bucketOwner: ownerOf(ctx, info) }
  },

  async HeadObject(ctx) {
    const info = await bucketOf(ctx)
    const head = await ctx.store.headObject(ctx.bucket!, ctx.key!)
    const pre = preconditions(ctx, head)
    if (pre === 412)
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
      )
    const h = objectHeaders(head)
    if (pre === 304)
      return { status: 304, headers: { etag: h['etag']! }, bucketOwner: ownerOf(ctx, info) }
    if (header(ctx, 'x-amz-checksum-mode') === 'ENABLED' && head.checksums) {
      Object.assign(h, checksumHeaders(head.checksums))
      h['x-amz-checksum-type'] = 'FULL_OBJECT'
    }
    h['content-length'] = String(head.size)
    return { headers: h, bucketOwner: ownerOf(ctx, info) }
  },

  async PutObject(ctx) {
    const info = await bucketOf(ctx)
    requireContentLength(ctx)
    const opts = await withDefaultEncryption(ctx, putOptionsFrom(ctx))
    if (header(ctx, 'if-none-match') === '*') {
      const exists = await ctx.store.headObject(ctx.bucket!, ctx.key!).then(
        () => true,
        () => false,
      )
      if (exists)
        throw new S3Error(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          412,
          {
            Condition: 'If-None-Match',
          },
        )
    }
    const payload = decodePayload(ctx.req, ctx.payload)
    ctx.state.bodyRead = true
    let head: ObjectHead
    try {
      head = await ctx.store.putObjectStream(ctx.bucket!, ctx.key!, payload.chunks, {
        ...opts,
        beforeCommit: (w) => payload.verify(w),
      })
    } finally {
      ctx.state.bytesIn = payload.bytesIn()
    }
    const sse = head.kmsKeyId ? 'aws:kms' : 'AES256'
    return {
      headers: {
        etag: `"${head.etag}"`,
        'x-amz-server-side-encryption': sse,
        ...(head.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': head.kmsKeyId } : {}),
        ...checksumHeaders(head.checksums),
      },
      responseElements: {
        'x-amz-server-side-encryption': sse,
        ...(head.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': head.kmsKeyId } : {}),
      },
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async CopyObject(ctx) {
    const info = await bucketOf(ctx)
    const source = header(ctx, 'x-amz-copy-source') ?? ''
    const raw = source.split('?')[0]!.replace(/^\//, '')
    const slash = raw.indexOf('/')
    if (slash <= 0)
      throw new S3Error(
        'InvalidArgument',
        'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
        400,
      )
    let srcBucket: string
    let srcKey: string
    try {
      srcBucket = decodeURIComponent(raw.slice(0, slash))
      srcKey = decodeURIComponent(raw.slice(slash + 1))
    } catch {
      throw new S3Error('InvalidArgument', 'Invalid copy source encoding', 400)
    }
    await ctx.authorize('GetObject', srcBucket, srcKey)
    let src
    try {
      src = await ctx.store.getObjectStream(srcBucket, srcKey)
    } catch (err) {
      if (err instanceof NoSuchBucketError) throw noSuchBucket(srcBucket)
      if (err instanceof NoSuchKeyError) throw noSuchKey(srcKey)
      throw err
    }
    if (src.head.kmsKeyId) {
      const srcInfo = await ctx.store.bucketInfo(srcBucket)
      const arn = kmsKeyArn(
        src.head.kmsKeyId,
        srcInfo.region ?? ctx.region,
        srcInfo.ownerAccountId ?? ctx.defaultAccountId,
      )
      await ctx.authorizeKms('Decrypt', arn).catch((err: unknown) => {
        src.stream.destroy()
        throw err
      })
    }
    const replace = header(ctx, 'x-amz-metadata-directive') === 'REPLACE'
    if (!replace && srcBucket === ctx.bucket && srcKey === ctx.key) {
      src.stream.destroy()
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        400,
      )
    }
    const given = putOptionsFrom(ctx)
    const opts: PutOptions = replace
      ? given
      : {
          ...(src.head.contentType ? { contentType: src.head.contentType } : {}),
          ...(src.head.contentEncoding ? { contentEncoding: src.head.contentEncoding } : {}),
          metadata: src.head.metadata,
          ...(given.kmsKeyId ? { kmsKeyId: given.kmsKeyId } : {}),
        }
    const head = await ctx.store.putObjectStream(
      ctx.bucket!,
      ctx.key!,
      src.stream as AsyncIterable<Buffer>,
      await withDefaultEncryption(ctx, {
        ...opts,
        ...(src.head.checksums ? { checksums: src.head.checksums } : {}),
      }),
    )
    ctx.requestParameters['x-amz-copy-source'] = source
    return xml(
      'CopyObjectResult',
      { LastModified: isoDate(head.lastModified), ETag: `"${head.etag}"` },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async DeleteObject(ctx) {
    const info = await bucketOf(ctx)
    await ctx.store.deleteObject(ctx.bucket!, ctx.key!)
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async GetObjectAcl(ctx) {
    const info = await bucketOf(ctx)
    await ctx.store.headObject(ctx.bucket!, ctx.key!)
    return aclResult(ownerOf(ctx, info))
  },

  async GetObjectTagging(ctx) {
    const info = await bucketOf(ctx)
    await ctx.store.headObject(ctx.bucket!, ctx.key!)
    return xml('Tagging', { TagSet: {} }, { bucketOwner: ownerOf(ctx, info) })
  },

  async CreateMultipartUpload(ctx) {
    const info = await bucketOf(ctx)
    const opts = await withDefaultEncryption(ctx, putOptionsFrom(ctx))
    const uploadId = await ctx.store.createMultipartUpload(ctx.bucket!, ctx.key!, opts)
    return xml(
      'InitiateMultipartUploadResult',
      { Bucket: ctx.bucket!, Key: ctx.key!, UploadId: uploadId },
      {
        headers: {
          'x-amz-server-side-encryption': opts.kmsKeyId ? 'aws:kms' : 'AES256',
          ...(opts.kmsKeyId
            ? { 'x-amz-server-side-encryption-aws-kms-key-id': opts.kmsKeyId }
            : {}),
        },
        responseElements: { bucket: ctx.bucket!, key: ctx.key!, uploadId },
        bucketOwner: ownerOf(ctx, info),
      },
    )
  },

  async UploadPart(ctx) {
    const info = await bucketOf(ctx)
    requireContentLength(ctx)
    const uploadId = ctx.query.get('uploadId') ?? ''
    const partNumber = Number(ctx.query.get('partNumber'))
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000)
      throw new S3Error(
        'InvalidArgument',
        'Part number must be an integer between 1 and 10000, inclusive',
        400,
        {
          ArgumentName: 'partNumber',
          ArgumentValue: ctx.query.get('partNumber') ?? '',
        },
      )
    await checkUpload(ctx, uploadId)
    const payload = decodePayload(ctx.req, ctx.payload)
    ctx.state.bodyRead = true
    let checksums: Record<string, string> = {}
    let part
    try {
      part = await ctx.store.uploadPart(uploadId, partNumber, payload.chunks, (w) => {
        checksums = payload.verify(w)
      })
    } finally {
      ctx.state.bytesIn = payload.bytesIn()
    }
    return {
      headers: {
        etag: `"${part.etag}"`,
        'x-amz-server-side-encryption': 'AES256',
        ...checksumHeaders(checksums),
      },
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async CompleteMultipartUpload(ctx) {
    const info = await bucketOf(ctx)
    const uploadId = ctx.query.get('uploadId') ?? ''
    await checkUpload(ctx, uploadId)
    const doc = await readXmlBody(ctx, 'CompleteMultipartUpload')
    const parts = ((doc['Part'] as XmlObject[] | undefined) ?? []).map((p) => {
      const n = Number(xmlText(p['PartNumber']))
      const etag = xmlText(p['ETag'])
      if (!Number.isInteger(n) || !etag) throw malformedXml()
      return { partNumber: n, etag }
    })
    const head = await ctx.store.completeMultipartUpload(uploadId, parts)
    return xml(
      'CompleteMultipartUploadResult',
      {
        Location: `http://${ctx.host}/${ctx.bucket!}/${urlEncodeKey(ctx.key!)}`,
        Bucket: ctx.bucket!,
        Key: ctx.key!,
        ETag: `"${head.etag}"`,
      },
      {
        headers: {
          'x-amz-server-side-encryption': head.kmsKeyId ? 'aws:kms' : 'AES256',
          ...(head.kmsKeyId
            ? { 'x-amz-server-side-encryption-aws-kms-key-id': head.kmsKeyId }
            : {}),
        },
        bucketOwner: ownerOf(ctx, info),
      },
    )
  },

  async AbortMultipartUpload(ctx) {
    const info = await bucketOf(ctx)
    const uploadId = ctx.query.get('uploadId') ?? ''
    await checkUpload(ctx, uploadId)
    await ctx.store.abortMultipartUpload(uploadId)
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async ListParts(ctx) {
    const info = await bucketOf(ctx)
    const uploadId = ctx.query.get('uploadId') ?? ''
    await checkUpload(ctx, uploadId)
    const parts = await ctx.store.listParts(uploadId)
    return xml(
      'ListPartsResult',
      {
        Bucket: ctx.bucket!,
        Key: ctx.key!,
        UploadId: uploadId,
        PartNumberMarker: 0,
        MaxParts: 1000,
        IsTruncated: false,
        Part: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"`, Size: p.size })),
        StorageClass: 'STANDARD',
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },
}

function notConfigured(code: string, message: string): Op {
  return async (ctx) => {
    await bucketOf(ctx)
    throw new S3Error(code, message, 404, { BucketName: ctx.bucket! })
  }
}

function aclResult(owner: string): OpResult {
  const id = canonicalId(owner)
  return xml(
    'AccessControlPolicy',
    {
      Owner: { ID: id },
      AccessControlList: {
        Grant: {
          Grantee: {
            '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
            '@_xsi:type': 'CanonicalUser',
            ID: id,
          },
          Permission: 'FULL_CONTROL',
        },
      },
    },
    { bucketOwner: owner },
  )
}

async function checkUpload(ctx: OpContext, uploadId: string): Promise<void> {
  const upload = await ctx.store.getUpload(uploadId)
  if (upload.bucket !== ctx.bucket || upload.key !== ctx.key)
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      404,
      { UploadId: uploadId },
    )
}

interface Page {
  objects: { key: string; size: number; lastModified: Date; etag: string }[]
  prefixes: string[]
  truncated: boolean
  /** The last key or common prefix returned. */
  last?: string
}

async function collect(
  ctx: OpContext,
  prefix: string,
  startAfter: string,
  delimiter: string,
  maxKeys: number,
): Promise<Page> {
  const page: Page = { objects: [], prefixes: [], truncated: false }
  if (maxKeys === 0) return page
  let n = 0
  for await (const e of ctx.store.listEntries(ctx.bucket!, {
    prefix,
    startAfter,
    ...(delimiter ? { delimiter } : {}),
  })) {
    if (n === maxKeys) {
      page.truncated = true
      break
    }
    if ('commonPrefix' in e) {
      page.prefixes.push(e.commonPrefix)
      page.last = e.commonPrefix
      n++
      continue
    }
    try {
      const h = await ctx.store.headObject(ctx.bucket!, e.key)
      page.objects.push({ key: e.key, size: h.size, lastModified: h.lastModified, etag: h.etag })
      page.last = e.key
      n++
    } catch (err) {
      if (!(err instanceof NoSuchKeyError)) throw err // deleted while listing
    }
  }
  return page
}

async function listObjects(ctx: OpContext, version: 1 | 2): Promise<OpResult> {
  const info = await bucketOf(ctx)
  const q = ctx.query
  const encodingType = q.get('encoding-type')
  if (encodingType !== null && encodingType !== 'url')
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', 400, {
      ArgumentName: 'encoding-type',
      ArgumentValue: encodingType,
    })
  const enc = encodingType === 'url' ? urlEncodeKey : (s: string) => s
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const maxKeys = maxKeysParam(ctx)
  const owner = ownerOf(ctx, info)
  const contents = (page: Page, withOwner: boolean) =>
    page.objects.map((o) => ({
      Key: enc(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: `"${o.etag}"`,
      ...(withOwner ? { Owner: { ID: canonicalId(owner) } } : {}),
      Size: o.size,
      StorageClass: 'STANDARD',
    }))
  const common = (page: Page) => page.prefixes.map((p) => ({ Prefix: enc(p) }))
  const extra: OpResult = { bucketOwner: owner, listPrefix: prefix }

  if (version === 1) {
    const marker = q.get('marker') ?? ''
    const page = await collect(ctx, prefix, marker, delimiter, maxKeys)
    return xml(
      'ListBucketResult',
      {
        Name: ctx.bucket!,
        Prefix: enc(prefix),
        Marker: enc(marker),
        MaxKeys: maxKeys,
        ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
        IsTruncated: page.truncated,
        ...(page.truncated && delimiter && page.last ? { NextMarker: enc(page.last) } : {}),
        Contents: contents(page, true),
        CommonPrefixes: common(page),
        ...(encodingType ? { EncodingType: encodingType } : {}),
      },
      extra,
    )
  }

  const token = q.get('continuation-token')
  let startAfter = q.get('start-after') ?? ''
  if (token !== null) {
    try {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown }
      if (typeof t.a !== 'string') throw new Error('bad token')
      startAfter = t.a
    } catch {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', 400, {
        ArgumentName: 'continuation-token',
      })
    }
  }
  const page = await collect(ctx, prefix, startAfter, delimiter, maxKeys)
  const next =
    page.truncated && page.last
      ? Buffer.from(JSON.stringify({ a: page.last })).toString('base64url')
      : undefined
  return xml(
    'ListBucketResult',
    {
      Name: ctx.bucket!,
      Prefix: enc(prefix),
      MaxKeys: maxKeys,
      KeyCount: page.objects.length + page.prefixes.length,
      ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
      IsTruncated: page.truncated,
      ...(token !== null ? { ContinuationToken: token } : {}),
      ...(next ? { NextContinuationToken: next } : {}),
      ...(q.get('start-after') !== null ? { StartAfter: enc(q.get('start-after')!) } : {}),
      Contents: contents(page, q.get('fetch-owner') === 'true'),
      CommonPrefixes: common(page),
      ...(encodingType ? { EncodingType: encodingType } : {}),
    },
    extra,
  )
}

/** Runs an operation, translating the store's errors to S3's. */
export async function runOperation(name: string, ctx: OpContext): Promise<OpResult> {
  const op = ops[name]
  if (!op) throw new S3Error('NotImplemented', `${name} is not implemented.`, 501)
  try {
    return await op(ctx)
  } catch (err) {
    if (err instanceof S3Error) throw err
    if (err instanceof NoSuchBucketError) throw noSuchBucket(ctx.bucket ?? '')
    if (err instanceof NoSuchKeyError) throw noSuchKey(ctx.key ?? '')
    if (err instanceof InvalidBucketNameError) throw invalidBucketName(ctx.bucket ?? '')
    if (err instanceof BucketNotEmptyError)
      throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
        BucketName: ctx.bucket ?? '',
      })
    if (err instanceof NoSuchUploadError)
      throw new S3Error(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        404,
      )
    if (err instanceof InvalidPartError) throw new S3Error(err.code, err.message, 400)
    if (err instanceof InvalidObjectKeyError)
      throw new S3Error(
        /too long/.test(err.message) ? 'KeyTooLongError' : 'InvalidArgument',
        err.message,
        400,
      )
    throw err
  }
}
