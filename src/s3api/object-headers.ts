/**
 * @module s3api/object-headers
 * An object's HTTP headers in both directions: the response headers of a stored object, the put
 * options (content type and encoding, user metadata, server-side encryption) a put or copy request
 * carries, the bucket's default encryption, the size checks of a put, and the conditional
 * (If-Match...) and Range headers of a read.
 */
import type { ObjectHead } from '../objectstore/local-store.js'
import type { PutOptions } from '../objectstore/port.js'
import { S3Error } from './errors.js'
import { header, httpDate, sseHeaders, type OpContext } from './op-common.js'

const MAX_PUT_SIZE = 5 * 1024 ** 3
const MAX_METADATA_BYTES = 2048

/** Header-safe text: metadata values are carried as the bytes of their UTF-8 form. */
export function headerSafe(v: string): string {
  return /[^\x20-\x7e\x80-\xff\t]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v
}

export function objectHeaders(head: ObjectHead): Record<string, string> {
  const h: Record<string, string> = {
    'last-modified': httpDate(head.lastModified),
    etag: `"${head.etag}"`,
    'content-type': head.contentType ?? 'binary/octet-stream',
    'accept-ranges': 'bytes',
    ...sseHeaders(head.kmsKeyId),
  }
  if (head.contentEncoding) h['content-encoding'] = head.contentEncoding
  for (const [k, v] of Object.entries(head.metadata))
    h[`x-amz-meta-${k.toLowerCase()}`] = headerSafe(v)
  return h
}

/** PutOptions from a PutObject / CreateMultipartUpload / CopyObject(REPLACE) request's headers. */
export function putOptionsFrom(ctx: OpContext): PutOptions {
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
export async function withDefaultEncryption(ctx: OpContext, opts: PutOptions): Promise<PutOptions> {
  if (opts.kmsKeyId) return opts
  const enc = (await ctx.store.getBucketSettings(ctx.bucket!)).encryption
  return enc?.sseAlgorithm.startsWith('aws:kms') === true
    ? { ...opts, kmsKeyId: enc.kmsMasterKeyId ?? 'aws/s3' }
    : opts
}

export function requireContentLength(ctx: OpContext): void {
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

/** Evaluates If-Match / If-None-Match / If-(Un)Modified-Since for GET and HEAD. */
export function preconditions(ctx: OpContext, head: ObjectHead): number | undefined {
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

export function parseRange(
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

export const invalidRange = (size: number) =>
  new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
    RangeRequested: '',
    ActualObjectSize: String(size),
  })

// ---- the operations --------------------------------------------------------------------------
