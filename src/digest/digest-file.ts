/**
 * @module digest/digest-file
 * The CloudTrail digest file: its JSON fields (AWS's names, since the file is the wire format), the
 * string to sign, and SHA256withRSA signing and verification with node:crypto.
 *
 * String to sign (UTF-8): `digestEndTime \n digestS3Bucket/digestS3Object \n
 * hex(sha256(uncompressed digest)) \n (previousDigestSignature or "null")`, RSA PKCS#1 v1.5 over SHA-256.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

export const SIGNATURE_ALGORITHM = 'SHA256withRSA'
export const HASH_ALGORITHM = 'SHA-256'

export interface DigestLogFile {
  s3Bucket: string
  s3Object: string
  hashValue: string
  hashAlgorithm: string
  newestEventTime: string
  oldestEventTime: string
}

export interface DigestFile {
  awsAccountId: string
  digestStartTime: string
  digestEndTime: string
  digestS3Bucket: string
  digestS3Object: string
  digestPublicKeyFingerprint: string
  digestSignatureAlgorithm: string
  newestEventTime: string | null
  oldestEventTime: string | null
  previousDigestS3Bucket: string | null
  previousDigestS3Object: string | null
  previousDigestHashValue: string | null
  previousDigestHashAlgorithm: string | null
  previousDigestSignature: string | null
  logFiles: DigestLogFile[]
}

export const sha256Hex = (data: Buffer | string): string =>
  createHash('sha256').update(data).digest('hex')

/** The bytes that are signed for a digest whose uncompressed content is `uncompressed`. */
export function stringToSign(
  digest: Pick<
    DigestFile,
    'digestEndTime' | 'digestS3Bucket' | 'digestS3Object' | 'previousDigestSignature'
  >,
  uncompressed: Buffer,
): Buffer {
  const prev = digest.previousDigestSignature ?? 'null'
  return Buffer.from(
    `${digest.digestEndTime}\n${digest.digestS3Bucket}/${digest.digestS3Object}\n` +
      `${sha256Hex(uncompressed)}\n${prev}`,
    'utf8',
  )
}

/** Signs with RSA PKCS#1 v1.5 over SHA-256; returns the signature as hex (as stored in S3 metadata). */
export function signHex(privateKey: KeyObject, data: Buffer): string {
  return sign('sha256', data, privateKey).toString('hex')
}

/** Loads a PKCS#1 RSAPublicKey DER (the `Value` of ListPublicKeys). Throws when it is not one. */
export function publicKeyFromPkcs1Der(der: Buffer): KeyObject {
  return createPublicKey({ key: der, format: 'der', type: 'pkcs1' })
}

/** Verifies a hex signature; false on mismatch or malformed hex. */
export function verifyHex(publicKey: KeyObject, data: Buffer, signatureHex: string): boolean {
  if (!/^([0-9a-fA-F]{2})+$/.test(signatureHex)) return false
  return verify('sha256', data, publicKey, Buffer.from(signatureHex, 'hex'))
}

/** The hex MD5 of the DER public key: the fingerprint AWS uses for digest signing keys. */
export const fingerprintOf = (publicKeyDer: Buffer): string =>
  createHash('md5').update(publicKeyDer).digest('hex')
