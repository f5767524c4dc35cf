/**
 * @module s3api/bucket-ops
 * The bucket operations: list, create, delete and locate buckets, and list a bucket's objects
 * (ListObjects v1 and v2, ListObjectVersions) by walking the store's keys in S3 order.
 */
import { validBucketName } from '../objectstore/local-keys.js'
import { NoSuchKeyError } from '../objectstore/port.js'
import { bucketNotEmpty, invalidBucketName, S3Error } from './errors.js'
import {
  bucketOf,
  canonicalId,
  isoDate,
  maxKeysParam,
  ownerOf,
  readXmlBody,
  urlEncodeKey,
  xml,
  xmlHeaders,
  type Op,
  type OpContext,
  type OpResult,
} from './op-common.js'
import { xmlDocument, xmlText } from './xml.js'

export const bucketOps: Record<string, Op> = {
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
    if ((await ctx.store.listUploads(ctx.bucket!)).length > 0) throw bucketNotEmpty(ctx.bucket!)
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
