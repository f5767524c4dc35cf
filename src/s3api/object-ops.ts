/**
 * @module s3api/object-ops
 * The object operations: get (ranges, conditional requests, KMS-encrypted objects), head, put,
 * copy, delete (one or many), and the object's ACL and tag set.
 */
import { kmsKeyArn } from '../objectstore/master-keys.js'
import { type ObjectHead } from '../objectstore/local-store.js'
import { NoSuchBucketError, NoSuchKeyError, type PutOptions } from '../objectstore/port.js'
import { malformedXml, noSuchBucket, noSuchKey, preconditionFailed, S3Error } from './errors.js'
import {
  objectHeaders,
  headerSafe,
  preconditions,
  parseRange,
  putOptionsFrom,
  requireContentLength,
  withDefaultEncryption,
} from './object-headers.js'
import {
  aclResult,
  bucketOf,
  checksumHeaders,
  header,
  isoDate,
  ownerOf,
  readXmlBody,
  sseHeaders,
  xml,
  type Op,
} from './op-common.js'
import { decodePayload } from './payload.js'
import { xmlBool, xmlText, type XmlObject } from './xml.js'

export const objectOps: Record<string, Op> = {
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
    if (pre === 412) throw preconditionFailed('If-Match')
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
    if (pre === 412) throw preconditionFailed()
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
      if (exists) throw preconditionFailed('If-None-Match')
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
    return {
      headers: {
        etag: `"${head.etag}"`,
        ...sseHeaders(head.kmsKeyId),
        ...checksumHeaders(head.checksums),
      },
      responseElements: sseHeaders(head.kmsKeyId),
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
}
