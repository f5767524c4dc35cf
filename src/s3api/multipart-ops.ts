/**
 * @module s3api/multipart-ops
 * The multipart upload operations: create, upload a part, complete, abort, and list parts and
 * uploads. An upload ID is checked against the bucket and key of the request.
 */
import { malformedXml, noSuchUpload, S3Error } from './errors.js'
import { putOptionsFrom, requireContentLength, withDefaultEncryption } from './object-headers.js'
import {
  bucketOf,
  canonicalId,
  checksumHeaders,
  ownerOf,
  readXmlBody,
  sseHeaders,
  urlEncodeKey,
  xml,
  type Op,
  type OpContext,
} from './op-common.js'
import { decodePayload } from './payload.js'
import { xmlText, type XmlObject } from './xml.js'

export const multipartOps: Record<string, Op> = {
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

  async CreateMultipartUpload(ctx) {
    const info = await bucketOf(ctx)
    const opts = await withDefaultEncryption(ctx, putOptionsFrom(ctx))
    const uploadId = await ctx.store.createMultipartUpload(ctx.bucket!, ctx.key!, opts)
    return xml(
      'InitiateMultipartUploadResult',
      { Bucket: ctx.bucket!, Key: ctx.key!, UploadId: uploadId },
      {
        headers: sseHeaders(opts.kmsKeyId),
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
        headers: sseHeaders(head.kmsKeyId),
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

async function checkUpload(ctx: OpContext, uploadId: string): Promise<void> {
  const upload = await ctx.store.getUpload(uploadId)
  if (upload.bucket !== ctx.bucket || upload.key !== ctx.key) throw noSuchUpload(uploadId)
}
