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

export const OPERATIONS: Record<string, OpInfo> = Object.fromEntries(
  [
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
  ].map((o) => [o.name, o]),
)

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
}
const BUCKET_PUT: Record<string, string> = {
  policy: 'PutBucketPolicy',
  versioning: 'PutBucketVersioning',
  publicAccessBlock: 'PutPublicAccessBlock',
  logging: 'PutBucketLogging',
  encryption: 'PutBucketEncryption',
}
const BUCKET_DELETE: Record<string, string> = {
  policy: 'DeleteBucketPolicy',
  publicAccessBlock: 'DeletePublicAccessBlock',
  encryption: 'DeleteBucketEncryption',
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

/** Resolves the operation; throws MethodNotAllowed / NotImplemented for what S3 (or we) lack. */
export function resolveOperation(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): OpInfo {
  const has = (n: string) => query.has(n)
  const pick = (table: Record<string, string>) => Object.keys(table).find(has)
  let name: string | undefined
  for (const u of UNSUPPORTED) if (has(u)) throw notImplemented(`?${u}`)
  if (!bucket) {
    if (method === 'GET') name = 'ListBuckets'
  } else if (key === undefined) {
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
        else if (Object.keys(BUCKET_GET).some(has) || has('acl')) throw notImplemented('this PUT')
        else name = 'CreateBucket'
        break
      }
      case 'DELETE': {
        const sub = pick(BUCKET_DELETE)
        if (sub) name = BUCKET_DELETE[sub]
        else if (Object.keys(BUCKET_GET).some(has)) throw notImplemented('this DELETE')
        else name = 'DeleteBucket'
        break
      }
      case 'HEAD':
        name = 'HeadBucket'
        break
      case 'POST':
        if (has('delete')) name = 'DeleteObjects'
        break
    }
  } else {
    const copy = headers['x-amz-copy-source'] !== undefined
    switch (method) {
      case 'GET':
        name = has('uploadId')
          ? 'ListParts'
          : has('acl')
            ? 'GetObjectAcl'
            : has('tagging')
              ? 'GetObjectTagging'
              : 'GetObject'
        break
      case 'HEAD':
        name = 'HeadObject'
        break
      case 'PUT':
        if (has('acl') || has('tagging')) throw notImplemented('object ACLs and tags')
        if (has('uploadId') || has('partNumber')) {
          if (copy) throw notImplemented('UploadPartCopy')
          name = 'UploadPart'
        } else name = copy ? 'CopyObject' : 'PutObject'
        break
      case 'DELETE':
        name = has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'
        break
      case 'POST':
        if (has('uploads')) name = 'CreateMultipartUpload'
        else if (has('uploadId')) name = 'CompleteMultipartUpload'
        break
    }
  }
  if (!name) throw methodNotAllowed(method)
  return OPERATIONS[name]!
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
