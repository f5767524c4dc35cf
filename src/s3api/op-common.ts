/**
 * @module s3api/op-common
 * What every S3 operation shares: the operation's context and result, the bucket it acts on and its
 * owner, reading a small request body or XML document, XML responses, and the bits of wire format
 * (dates, key encoding, max-keys, checksum headers, the ACL document) used by more than one group
 * of operations.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { Principal } from '../iam/identities.js'
import { InvalidBucketNameError } from '../objectstore/local-keys.js'
import type { LocalObjectStore } from '../objectstore/local-store.js'
import { NoSuchBucketError, type BucketInfo } from '../objectstore/port.js'
import { noSuchBucket, S3Error } from './errors.js'
import {
  checksumHeaderName,
  readSmallBody,
  type ChecksumAlgorithm,
  type PayloadSpec,
} from './payload.js'
import { xmlDocumentParameters } from './events.js'
import { parseXml, xmlDocument, type XmlObject } from './xml.js'

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

export type Op = (ctx: OpContext) => Promise<OpResult>

const MAX_CONFIG_BODY = 1024 * 1024

/** S3-style canonical user ID for an account (64 hex digits, stable). */
export function canonicalId(accountId: string): string {
  return createHash('sha256').update(`opentrail-canonical-user:${accountId}`).digest('hex')
}

export function xmlHeaders(): Record<string, string> {
  return { 'content-type': 'application/xml' }
}

export function xml(root: string, content: XmlObject, extra: OpResult = {}): OpResult {
  return {
    ...extra,
    headers: { ...xmlHeaders(), ...(extra.headers ?? {}) },
    body: xmlDocument(root, content),
  }
}

export function header(ctx: OpContext, name: string): string | undefined {
  const v = ctx.req.headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

export async function bucketOf(ctx: OpContext): Promise<BucketInfo> {
  try {
    return await ctx.store.bucketInfo(ctx.bucket!)
  } catch (err) {
    if (err instanceof NoSuchBucketError) throw noSuchBucket(ctx.bucket!)
    if (err instanceof InvalidBucketNameError) throw noSuchBucket(ctx.bucket!)
    throw err
  }
}

export function ownerOf(ctx: OpContext, info: BucketInfo): string {
  return info.ownerAccountId ?? ctx.defaultAccountId
}

export async function readBody(ctx: OpContext): Promise<string> {
  const { body, bytesIn } = await readSmallBody(ctx.req, ctx.payload, MAX_CONFIG_BODY)
  ctx.state.bodyRead = true
  ctx.state.bytesIn = bytesIn
  return body.toString('utf8')
}

/** The document in the body, parsed and added to the event's requestParameters. */
export async function readXmlBody(
  ctx: OpContext,
  root: string,
  optional = false,
): Promise<XmlObject> {
  const text = await readBody(ctx)
  if (optional && text.trim() === '') return {}
  const doc = parseXml(text, root)
  Object.assign(ctx.requestParameters, xmlDocumentParameters(root, doc))
  return doc
}

export function httpDate(d: Date): string {
  return d.toUTCString()
}

export function isoDate(d: Date): string {
  return d.toISOString()
}

export function checksumHeaders(
  checksums: Record<string, string> | undefined,
): Record<string, string> {
  const h: Record<string, string> = {}
  for (const [alg, v] of Object.entries(checksums ?? {}))
    h[checksumHeaderName(alg as ChecksumAlgorithm)] = v
  return h
}

export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/')
}

export function maxKeysParam(ctx: OpContext): number {
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

export function aclResult(owner: string): OpResult {
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

/** The server-side encryption headers of an object stored with (or without) a KMS key. */
export function sseHeaders(kmsKeyId: string | undefined): Record<string, string> {
  return {
    'x-amz-server-side-encryption': kmsKeyId ? 'aws:kms' : 'AES256',
    ...(kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': kmsKeyId } : {}),
  }
}
