/**
 * @module s3api/errors
 * S3's error codes, HTTP statuses and wording, as `<Error>` documents carry them.
 */
import type { ServiceError } from '../shared/errors.js'

export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra members of the `<Error>` document, e.g. BucketName, Key. */
    readonly extra: Record<string, string> = {},
  ) {
    super(message)
    this.name = code
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket })
export const noSuchKey = (key: string) =>
  new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key })
export const accessDenied = () => new S3Error('AccessDenied', 'Access Denied', 403)
export const invalidBucketName = (bucket: string) =>
  new S3Error('InvalidBucketName', 'The specified bucket is not valid.', 400, {
    BucketName: bucket,
  })
export const malformedXml = () =>
  new S3Error(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  )
export const noSuchUpload = (uploadId?: string) =>
  new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    404,
    uploadId === undefined ? {} : { UploadId: uploadId },
  )
export const bucketNotEmpty = (bucket: string) =>
  new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
    BucketName: bucket,
  })
export const noSuchBucketPolicy = (bucket: string) =>
  new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, { BucketName: bucket })
/** A failed If-Match / If-None-Match (etc.); `condition` names the header when S3 does. */
export const preconditionFailed = (condition?: string) =>
  new S3Error(
    'PreconditionFailed',
    'At least one of the pre-conditions you specified did not hold',
    412,
    condition === undefined ? {} : { Condition: condition },
  )
export const notImplemented = (what: string) =>
  new S3Error(
    'NotImplemented',
    `A header you provided implies functionality that is not implemented (${what}).`,
    501,
  )

/** Maps the JSON-protocol authentication errors of protocol/sigv4 to S3's codes. */
export function fromAuthError(err: ServiceError, accessKeyId?: string): S3Error {
  switch (err.code) {
    case 'MissingAuthenticationTokenException':
      return accessDenied()
    case 'UnrecognizedClientException':
      return new S3Error(
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        403,
        accessKeyId ? { AWSAccessKeyId: accessKeyId } : {},
      )
    case 'IncompleteSignatureException':
      return new S3Error('AuthorizationHeaderMalformed', err.message, 400)
    case 'InvalidSignatureException':
      if (/Signature (expired|not yet current)/.test(err.message))
        return new S3Error(
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          403,
        )
      return new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        403,
      )
    default:
      return new S3Error(err.code, err.message, err.status)
  }
}
