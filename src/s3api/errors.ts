/**
 * @module s3api/errors
 * S3's error codes, HTTP statuses and wording, as `<Error>` documents carry them.
 */
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
export const notImplemented = (what: string) =>
  new S3Error(
    'NotImplemented',
    `A header you provided implies functionality that is not implemented (${what}).`,
    501,
  )
