/**
 * @module s3api/routing
 * Which S3 operation a path-style request is (`/`, `/bucket`, `/bucket/key`), with its IAM action,
 * level and how CloudTrail classifies it (data events are object-level, and the listings).
 */
import { S3Error, notImplemented } from './errors.js'

export type Level = 'service' | 'bucket' | 'object'

export interface OpInfo {
  name: string
  /** IAM action without the `s3:` prefix; empty when the operation checks per key itself. */
  action: string
  level: Level
  readOnly: boolean
  /** A data event (managementEvent false, eventCategory Data) rather than a management event. */
  data: boolean
}

const op = (name: string, action: string, level: Level, readOnly: boolean, data: boolean) => ({
  name,
  action,
  level,
  readOnly,
  data,
})

/** The operations the embedded endpoint (s3api/handler) serves. */
const SERVED_OPS: OpInfo[] = [
  op('ListBuckets', 'ListAllMyBuckets', 'service', true, false),
  op('CreateBucket', 'CreateBucket', 'bucket', false, false),
  op('DeleteBucket', 'DeleteBucket', 'bucket', false, false),
  op('HeadBucket', 'ListBucket', 'bucket', true, false),
  op('GetBucketLocation', 'GetBucketLocation', 'bucket', true, false),
  op('ListObjects', 'ListBucket', 'bucket', true, true),
  op('ListObjectsV2', 'ListBucket', 'bucket', true, true),
  op('ListObjectVersions', 'ListBucketVersions', 'bucket', true, true),
  op('ListMultipartUploads', 'ListBucketMultipartUploads', 'bucket', true, false),
  op('GetBucketPolicy', 'GetBucketPolicy', 'bucket', true, false),
  op('PutBucketPolicy', 'PutBucketPolicy', 'bucket', false, false),
  op('DeleteBucketPolicy', 'DeleteBucketPolicy', 'bucket', false, false),
  op('GetBucketPolicyStatus', 'GetBucketPolicyStatus', 'bucket', true, false),
  op('GetBucketVersioning', 'GetBucketVersioning', 'bucket', true, false),
  op('PutBucketVersioning', 'PutBucketVersioning', 'bucket', false, false),
  op('GetPublicAccessBlock', 'GetBucketPublicAccessBlock', 'bucket', true, false),
  op('PutPublicAccessBlock', 'PutBucketPublicAccessBlock', 'bucket', false, false),
  op('DeletePublicAccessBlock', 'PutBucketPublicAccessBlock', 'bucket', false, false),
  op('GetBucketLogging', 'GetBucketLogging', 'bucket', true, false),
  op('PutBucketLogging', 'PutBucketLogging', 'bucket', false, false),
  op('GetBucketEncryption', 'GetEncryptionConfiguration', 'bucket', true, false),
  op('PutBucketEncryption', 'PutEncryptionConfiguration', 'bucket', false, false),
  op('DeleteBucketEncryption', 'PutEncryptionConfiguration', 'bucket', false, false),
  op('GetBucketAcl', 'GetBucketAcl', 'bucket', true, false),
  op('GetBucketOwnershipControls', 'GetBucketOwnershipControls', 'bucket', true, false),
  op('GetBucketTagging', 'GetBucketTagging', 'bucket', true, false),
  op('GetBucketLifecycleConfiguration', 'GetLifecycleConfiguration', 'bucket', true, false),
  op('GetBucketCors', 'GetBucketCORS', 'bucket', true, false),
  op('GetBucketWebsite', 'GetBucketWebsite', 'bucket', true, false),
  op('GetBucketReplication', 'GetReplicationConfiguration', 'bucket', true, false),
  op('GetObjectLockConfiguration', 'GetBucketObjectLockConfiguration', 'bucket', true, false),
  op('GetBucketNotificationConfiguration', 'GetBucketNotification', 'bucket', true, false),
  op('DeleteObjects', '', 'bucket', false, true),
  op('GetObject', 'GetObject', 'object', true, true),
  op('HeadObject', 'GetObject', 'object', true, true),
  op('PutObject', 'PutObject', 'object', false, true),
  op('CopyObject', 'PutObject', 'object', false, true),
  op('DeleteObject', 'DeleteObject', 'object', false, true),
  op('GetObjectAcl', 'GetObjectAcl', 'object', true, true),
  op('GetObjectTagging', 'GetObjectTagging', 'object', true, true),
  op('CreateMultipartUpload', 'PutObject', 'object', false, true),
  op('UploadPart', 'PutObject', 'object', false, true),
  op('CompleteMultipartUpload', 'PutObject', 'object', false, true),
  op('AbortMultipartUpload', 'AbortMultipartUpload', 'object', false, true),
  op('ListParts', 'ListMultipartUploadParts', 'object', true, true),
]

/**
 * The rest of S3's REST operations: the embedded endpoint answers NotImplemented, the recording
 * gateway forwards and records them.
 */
const OTHER_OPS: OpInfo[] = [
  op('GetBucketAccelerateConfiguration', 'GetAccelerateConfiguration', 'bucket', true, false),
  op('PutBucketAccelerateConfiguration', 'PutAccelerateConfiguration', 'bucket', false, false),
  op('PutBucketAcl', 'PutBucketAcl', 'bucket', false, false),
  op('GetBucketAnalyticsConfiguration', 'GetAnalyticsConfiguration', 'bucket', true, false),
  op('ListBucketAnalyticsConfigurations', 'GetAnalyticsConfiguration', 'bucket', true, false),
  op('PutBucketAnalyticsConfiguration', 'PutAnalyticsConfiguration', 'bucket', false, false),
  op('DeleteBucketAnalyticsConfiguration', 'PutAnalyticsConfiguration', 'bucket', false, false),
  op('PutBucketCors', 'PutBucketCORS', 'bucket', false, false),
  op('DeleteBucketCors', 'PutBucketCORS', 'bucket', false, false),
  op(
    'GetBucketIntelligentTieringConfiguration',
    'GetIntelligentTieringConfiguration',
    'bucket',
    true,
    false,
  ),
  op(
    'ListBucketIntelligentTieringConfigurations',
    'GetIntelligentTieringConfiguration',
    'bucket',
    true,
    false,
  ),
  op(
    'PutBucketIntelligentTieringConfiguration',
    'PutIntelligentTieringConfiguration',
    'bucket',
    false,
    false,
  ),
  op(
    'DeleteBucketIntelligentTieringConfiguration',
    'PutIntelligentTieringConfiguration',
    'bucket',
    false,
    false,
  ),
  op('GetBucketInventoryConfiguration', 'GetInventoryConfiguration', 'bucket', true, false),
  op('ListBucketInventoryConfigurations', 'GetInventoryConfiguration', 'bucket', true, false),
  op('PutBucketInventoryConfiguration', 'PutInventoryConfiguration', 'bucket', false, false),
  op('DeleteBucketInventoryConfiguration', 'PutInventoryConfiguration', 'bucket', false, false),
  op('PutBucketLifecycleConfiguration', 'PutLifecycleConfiguration', 'bucket', false, false),
  op('DeleteBucketLifecycle', 'PutLifecycleConfiguration', 'bucket', false, false),
  op('GetBucketMetricsConfiguration', 'GetMetricsConfiguration', 'bucket', true, false),
  op('ListBucketMetricsConfigurations', 'GetMetricsConfiguration', 'bucket', true, false),
  op('PutBucketMetricsConfiguration', 'PutMetricsConfiguration', 'bucket', false, false),
  op('DeleteBucketMetricsConfiguration', 'PutMetricsConfiguration', 'bucket', false, false),
  op('PutBucketNotificationConfiguration', 'PutBucketNotification', 'bucket', false, false),
  op('PutBucketOwnershipControls', 'PutBucketOwnershipControls', 'bucket', false, false),
  op('DeleteBucketOwnershipControls', 'PutBucketOwnershipControls', 'bucket', false, false),
  op('PutBucketReplication', 'PutReplicationConfiguration', 'bucket', false, false),
  op('DeleteBucketReplication', 'PutReplicationConfiguration', 'bucket', false, false),
  op('GetBucketRequestPayment', 'GetBucketRequestPayment', 'bucket', true, false),
  op('PutBucketRequestPayment', 'PutBucketRequestPayment', 'bucket', false, false),
  op('PutBucketTagging', 'PutBucketTagging', 'bucket', false, false),
  op('DeleteBucketTagging', 'PutBucketTagging', 'bucket', false, false),
  op('PutBucketWebsite', 'PutBucketWebsite', 'bucket', false, false),
  op('DeleteBucketWebsite', 'DeleteBucketWebsite', 'bucket', false, false),
  op('PutObjectLockConfiguration', 'PutBucketObjectLockConfiguration', 'bucket', false, false),
  op(
    'GetBucketMetadataTableConfiguration',
    'GetBucketMetadataTableConfiguration',
    'bucket',
    true,
    false,
  ),
  op(
    'CreateBucketMetadataTableConfiguration',
    'CreateBucketMetadataTableConfiguration',
    'bucket',
    false,
    false,
  ),
  op(
    'DeleteBucketMetadataTableConfiguration',
    'DeleteBucketMetadataTableConfiguration',
    'bucket',
    false,
    false,
  ),
  op('PutObjectAcl', 'PutObjectAcl', 'object', false, true),
  op('PutObjectTagging', 'PutObjectTagging', 'object', false, true),
  op('DeleteObjectTagging', 'DeleteObjectTagging', 'object', false, true),
  op('GetObjectAttributes', 'GetObjectAttributes', 'object', true, true),
  op('GetObjectLegalHold', 'GetObjectLegalHold', 'object', true, true),
  op('PutObjectLegalHold', 'PutObjectLegalHold', 'object', false, true),
  op('GetObjectRetention', 'GetObjectRetention', 'object', true, true),
  op('PutObjectRetention', 'PutObjectRetention', 'object', false, true),
  op('GetObjectTorrent', 'GetObjectTorrent', 'object', true, true),
  op('RestoreObject', 'RestoreObject', 'object', false, true),
  op('SelectObjectContent', 'GetObject', 'object', true, true),
  op('UploadPartCopy', 'PutObject', 'object', false, true),
]

export const OPERATIONS: Record<string, OpInfo> = Object.fromEntries(
  [...SERVED_OPS, ...OTHER_OPS].map((o) => [o.name, o]),
)
const SERVED = new Set(SERVED_OPS.map((o) => o.name))

const BUCKET_GET: Record<string, string> = {
  location: 'GetBucketLocation',
  policy: 'GetBucketPolicy',
  policyStatus: 'GetBucketPolicyStatus',
  versioning: 'GetBucketVersioning',
  publicAccessBlock: 'GetPublicAccessBlock',
  logging: 'GetBucketLogging',
  encryption: 'GetBucketEncryption',
  acl: 'GetBucketAcl',
  uploads: 'ListMultipartUploads',
  versions: 'ListObjectVersions',
  ownershipControls: 'GetBucketOwnershipControls',
  tagging: 'GetBucketTagging',
  lifecycle: 'GetBucketLifecycleConfiguration',
  cors: 'GetBucketCors',
  website: 'GetBucketWebsite',
  replication: 'GetBucketReplication',
  'object-lock': 'GetObjectLockConfiguration',
  notification: 'GetBucketNotificationConfiguration',
  accelerate: 'GetBucketAccelerateConfiguration',
  requestPayment: 'GetBucketRequestPayment',
  metadataTable: 'GetBucketMetadataTableConfiguration',
}
const BUCKET_PUT: Record<string, string> = {
  policy: 'PutBucketPolicy',
  versioning: 'PutBucketVersioning',
  publicAccessBlock: 'PutPublicAccessBlock',
  logging: 'PutBucketLogging',
  encryption: 'PutBucketEncryption',
  acl: 'PutBucketAcl',
  accelerate: 'PutBucketAccelerateConfiguration',
  cors: 'PutBucketCors',
  lifecycle: 'PutBucketLifecycleConfiguration',
  notification: 'PutBucketNotificationConfiguration',
  ownershipControls: 'PutBucketOwnershipControls',
  replication: 'PutBucketReplication',
  requestPayment: 'PutBucketRequestPayment',
  tagging: 'PutBucketTagging',
  website: 'PutBucketWebsite',
  'object-lock': 'PutObjectLockConfiguration',
}
const BUCKET_DELETE: Record<string, string> = {
  policy: 'DeleteBucketPolicy',
  publicAccessBlock: 'DeletePublicAccessBlock',
  encryption: 'DeleteBucketEncryption',
  cors: 'DeleteBucketCors',
  lifecycle: 'DeleteBucketLifecycle',
  ownershipControls: 'DeleteBucketOwnershipControls',
  replication: 'DeleteBucketReplication',
  tagging: 'DeleteBucketTagging',
  website: 'DeleteBucketWebsite',
  metadataTable: 'DeleteBucketMetadataTableConfiguration',
}
/** Bucket sub-resources with one configuration per ID (`?analytics&id=…`) or a listing without. */
const BUCKET_CONFIGS: Record<string, string> = {
  analytics: 'BucketAnalyticsConfiguration',
  'intelligent-tiering': 'BucketIntelligentTieringConfiguration',
  inventory: 'BucketInventoryConfiguration',
  metrics: 'BucketMetricsConfiguration',
}
/** Object sub-resources: GET, PUT and DELETE operations. */
const OBJECT_GET: Record<string, string> = {
  acl: 'GetObjectAcl',
  tagging: 'GetObjectTagging',
  attributes: 'GetObjectAttributes',
  'legal-hold': 'GetObjectLegalHold',
  retention: 'GetObjectRetention',
  torrent: 'GetObjectTorrent',
}
const OBJECT_PUT: Record<string, string> = {
  acl: 'PutObjectAcl',
  tagging: 'PutObjectTagging',
  'legal-hold': 'PutObjectLegalHold',
  retention: 'PutObjectRetention',
}
/** Sub-resources S3 has that this endpoint does not serve (any method). */
const UNSUPPORTED = [
  'accelerate',
  'analytics',
  'intelligent-tiering',
  'inventory',
  'metadataTable',
  'metrics',
  'requestPayment',
  'restore',
  'retention',
  'legal-hold',
  'select',
  'torrent',
  'attributes',
]

function methodNotAllowed(method: string): S3Error {
  return new S3Error(
    'MethodNotAllowed',
    'The specified method is not allowed against this resource.',
    405,
    { Method: method, ResourceType: 'OBJECT' },
  )
}

/**
 * Which of S3's REST operations a path-style request is, whether or not the embedded endpoint
 * serves it (the recording gateway forwards them all); undefined for a request S3 has no operation
 * for.
 */
export function classifyS3Request(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): OpInfo | undefined {
  const has = (n: string) => query.has(n)
  const pick = (table: Record<string, string>) => Object.keys(table).find(has)
  let name: string | undefined
  if (!bucket) {
    if (method === 'GET') name = 'ListBuckets'
  } else if (key === undefined) {
    const config = pick(BUCKET_CONFIGS)
    if (config) {
      const base = BUCKET_CONFIGS[config]!
      const byId = has('id')
      if (method === 'GET') name = byId ? `Get${base}` : `List${base}s`
      else if (method === 'PUT') name = `Put${base}`
      else if (method === 'DELETE') name = `Delete${base}`
      return name ? OPERATIONS[name] : undefined
    }
    switch (method) {
      case 'GET': {
        const sub = pick(BUCKET_GET)
        name = sub
          ? BUCKET_GET[sub]
          : query.get('list-type') === '2'
            ? 'ListObjectsV2'
            : 'ListObjects'
        break
      }
      case 'PUT': {
        const sub = pick(BUCKET_PUT)
        if (sub) name = BUCKET_PUT[sub]
        else if (!Object.keys(BUCKET_GET).some(has)) name = 'CreateBucket'
        break
      }
      case 'DELETE': {
        const sub = pick(BUCKET_DELETE)
        if (sub) name = BUCKET_DELETE[sub]
        else if (!Object.keys(BUCKET_GET).some(has)) name = 'DeleteBucket'
        break
      }
      case 'HEAD':
        name = 'HeadBucket'
        break
      case 'POST':
        if (has('delete')) name = 'DeleteObjects'
        else if (has('metadataTable')) name = 'CreateBucketMetadataTableConfiguration'
        break
    }
  } else {
    const copy = headers['x-amz-copy-source'] !== undefined
    switch (method) {
      case 'GET': {
        const sub = pick(OBJECT_GET)
        name = has('uploadId') ? 'ListParts' : sub ? OBJECT_GET[sub] : 'GetObject'
        break
      }
      case 'HEAD':
        name = 'HeadObject'
        break
      case 'PUT': {
        const sub = pick(OBJECT_PUT)
        if (sub) name = OBJECT_PUT[sub]
        else if (has('uploadId') || has('partNumber')) name = copy ? 'UploadPartCopy' : 'UploadPart'
        else name = copy ? 'CopyObject' : 'PutObject'
        break
      }
      case 'DELETE':
        name = has('uploadId')
          ? 'AbortMultipartUpload'
          : has('tagging')
            ? 'DeleteObjectTagging'
            : 'DeleteObject'
        break
      case 'POST':
        if (has('uploads')) name = 'CreateMultipartUpload'
        else if (has('uploadId')) name = 'CompleteMultipartUpload'
        else if (has('restore')) name = 'RestoreObject'
        else if (has('select')) name = 'SelectObjectContent'
        break
    }
  }
  return name ? OPERATIONS[name] : undefined
}

/**
 * The operation as the embedded endpoint serves it; throws MethodNotAllowed / NotImplemented for
 * what S3 (or this endpoint) lacks.
 */
export function resolveOperation(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): OpInfo {
  for (const u of UNSUPPORTED) if (query.has(u)) throw notImplemented(`?${u}`)
  const info = classifyS3Request(method, bucket, key, query, headers)
  if (info && SERVED.has(info.name)) return info
  if (bucket && key === undefined && (method === 'PUT' || method === 'DELETE')) {
    if (info || Object.keys(BUCKET_GET).some((n) => query.has(n)))
      throw notImplemented(`this ${method}`)
  }
  if (info?.name === 'UploadPartCopy') throw notImplemented('UploadPartCopy')
  if (info && info.level === 'object') throw notImplemented('object ACLs and tags')
  if (info) throw notImplemented(info.name)
  throw methodNotAllowed(method)
}

/** Splits a raw path-style path into bucket and key (percent-decoded). */
export function splitPath(rawPath: string): { bucket?: string; key?: string } {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath
  if (path === '') return {}
  const slash = path.indexOf('/')
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", 400)
    }
  }
  if (slash < 0) return { bucket: dec(path) }
  const bucket = dec(path.slice(0, slash))
  const rest = path.slice(slash + 1)
  return rest === '' ? { bucket } : { bucket, key: dec(rest) }
}
