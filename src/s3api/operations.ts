/**
 * @module s3api/operations
 * The S3 operations over the embedded store: wire (headers, query, XML) in, store calls, wire out.
 * This module is the table of operations (bucket-ops, bucket-config-ops, object-ops,
 * multipart-ops) and the translation of the store's errors to S3's. Authentication, the
 * operation's own IAM check and the CloudTrail event are the handler's.
 */
import { InvalidBucketNameError, InvalidObjectKeyError } from '../objectstore/local-keys.js'
import { InvalidPartError, NoSuchUploadError } from '../objectstore/local-multipart.js'
import { BucketNotEmptyError, NoSuchBucketError, NoSuchKeyError } from '../objectstore/port.js'
import { bucketConfigOps } from './bucket-config-ops.js'
import { bucketOps } from './bucket-ops.js'
import {
  bucketNotEmpty,
  invalidBucketName,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  S3Error,
} from './errors.js'
import { multipartOps } from './multipart-ops.js'
import { objectOps } from './object-ops.js'
import type { Op, OpContext, OpResult } from './op-common.js'

const ops: Record<string, Op> = { ...bucketOps, ...bucketConfigOps, ...objectOps, ...multipartOps }

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
    if (err instanceof BucketNotEmptyError) throw bucketNotEmpty(ctx.bucket ?? '')
    if (err instanceof NoSuchUploadError) throw noSuchUpload()
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
