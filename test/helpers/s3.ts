/** Test helper: an S3 client for a test server's S3 API (or moto_server), path-style, no retries. */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'

export interface Key {
  accessKeyId: string
  secretAccessKey: string
}

export function s3Client(endpoint: string, key: Key, extra: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
    ...extra,
  })
}
