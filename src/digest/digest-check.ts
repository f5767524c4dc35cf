/**
 * @module digest/digest-check
 * The per-file checks of log file validation: a digest file (format, signature metadata, location,
 * public key, SHA256withRSA signature) and a log file (present, gzip, SHA-256 of the uncompressed
 * content against the digest's). Bodies up to 8 MiB are gunzipped in one call, larger ones stream.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createGunzip, gunzip } from 'node:zlib'
import {
  publicKeyFromPkcs1Der,
  stringToSign,
  verifyHex,
  type DigestFile,
  type DigestLogFile,
} from './digest-file.js'
import type { LogResult, SourceObject, ValidationSource } from './validation-events.js'

/** Raised for a digest that fails; `message` is the AWS CLI's whole output line. */
export class DigestError extends Error {}

const REQUIRED = [
  'digestPublicKeyFingerprint',
  'digestS3Bucket',
  'digestS3Object',
  'previousDigestSignature',
  'digestEndTime',
  'digestStartTime',
] as const

const HOUR = 3_600_000
const gunzipAsync = promisify(gunzip)

export const isNoSuchKey = (err: unknown): boolean => {
  const e = err as { name?: unknown; Code?: unknown }
  return e?.name === 'NoSuchKey' || e?.Code === 'NoSuchKey'
}

/** Bodies up to this size are gunzipped in one call (libuv's pool); larger ones stream. */
const ONE_SHOT_GUNZIP = 8 * 1024 * 1024

/**
 * Passes the gunzipped content of `body` to `take`: whole from one call up to ONE_SHOT_GUNZIP,
 * chunk by chunk above it. Rejects when the bytes are not gzip.
 */
async function gunzipInto(body: Buffer, take: (chunk: Buffer) => void): Promise<void> {
  if (body.length <= ONE_SHOT_GUNZIP) return take(await gunzipAsync(body))
  await pipeline(Readable.from([body]), createGunzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) take(chunk)
  })
}

/** SHA-256 (hex) of the gunzipped content; rejects when the bytes are not gzip. */
export async function gunzipSha256(body: Buffer): Promise<string> {
  const hash = createHash('sha256')
  await gunzipInto(body, (chunk) => hash.update(chunk))
  return hash.digest('hex')
}

async function gunzipAll(body: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = []
  await gunzipInto(body, (chunk) => chunks.push(chunk))
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * Checks a fetched digest file as the AWS CLI does: gzip and JSON, signature metadata, required
 * fields, its own location, its public key (for backfill digests, also the keys valid when it was
 * generated) and its SHA256withRSA signature. Throws DigestError with the AWS CLI's output line.
 */
export async function verifyDigest(
  obj: SourceObject,
  where: { bucket: string; key: string; backfill: boolean; homeRegion: string },
  keys: Map<string, Buffer>,
  source: Pick<ValidationSource, 'publicKeys'>,
): Promise<DigestFile> {
  const { bucket, key, backfill } = where
  const invalid = (why: string) =>
    new DigestError(`Digest file\ts3://${bucket}/${key}\tINVALID: ${why}`)
  let raw: Buffer
  let digest: DigestFile
  try {
    raw = await gunzipAll(obj.body)
    digest = JSON.parse(raw.toString('utf8')) as DigestFile
  } catch {
    throw invalid('invalid format')
  }
  const signature = obj.metadata['signature']
  if (signature === undefined || obj.metadata['signature-algorithm'] === undefined) {
    throw invalid('signature verification failed')
  }
  let generated: string | undefined
  if (backfill) {
    generated = obj.metadata['backfill-generation-timestamp']
    if (generated === undefined) throw invalid('invalid format')
  }
  if (digest === null || typeof digest !== 'object' || REQUIRED.some((k) => !(k in digest))) {
    throw invalid('invalid format')
  }
  if (digest.digestS3Bucket !== bucket || digest.digestS3Object !== key) {
    throw invalid('has been moved from its original location')
  }
  const fp = digest.digestPublicKeyFingerprint
  if (!keys.has(fp) && backfill && generated) {
    const at = new Date(generated).getTime()
    for (const [k, v] of await source.publicKeys(new Date(at - HOUR), new Date(at + HOUR))) {
      keys.set(k, v)
    }
  }
  const der = keys.get(fp)
  if (!der) {
    throw invalid(`public key not found in region ${where.homeRegion} for fingerprint ${fp}`)
  }
  let publicKey
  try {
    publicKey = publicKeyFromPkcs1Der(der)
  } catch {
    throw invalid(`Unable to load PKCS #1 key with fingerprint ${fp}`)
  }
  if (!verifyHex(publicKey, stringToSign(digest, raw), signature)) {
    throw invalid('signature verification failed')
  }
  if (
    Number.isNaN(Date.parse(digest.digestStartTime)) ||
    Number.isNaN(Date.parse(digest.digestEndTime))
  ) {
    throw invalid('invalid format')
  }
  return digest
}

/** Checks one log file a valid digest lists: present, gzip, and the SHA-256 the digest holds. */
export async function checkLogFile(
  source: Pick<ValidationSource, 'getObject'>,
  log: DigestLogFile,
): Promise<LogResult> {
  let body: Buffer
  try {
    body = (await source.getObject(log.s3Bucket, log.s3Object)).body
  } catch (err) {
    if (isNoSuchKey(err)) return { status: 'not-found' }
    return { status: 'error', message: String((err as Error).message ?? err) }
  }
  try {
    const hash = await gunzipSha256(body)
    return hash === log.hashValue ? { status: 'valid' } : { status: 'hash-mismatch' }
  } catch {
    return { status: 'invalid-format' }
  }
}
