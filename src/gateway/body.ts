/**
 * @module gateway/body
 * Request bodies on their way to the upstream. Small bodies (AWS JSON and query calls, S3 bucket
 * configuration documents) are read whole, up to a limit, and verified before anything is sent.
 * Object bodies stream through in constant memory: the signature covers x-amz-content-sha256, so
 * the gateway forwards while hashing and holds back the last piece until the hash (or the chunk
 * signatures of aws-chunked bodies) checked out; on a mismatch the upstream request is destroyed
 * before it is complete, so the upstream never commits a body the client did not sign.
 *
 * Payload modes and what the upstream receives (re-signed with the upstream's credentials):
 * - hex SHA-256: the same bytes and hash;
 * - UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER: the same bytes (the upstream checks
 *   the trailing checksum);
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunk signatures verified with the caller's key, the
 *   decoded bytes sent as UNSIGNED-PAYLOAD with Content-Length = x-amz-decoded-content-length;
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: verified likewise, re-framed as
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER (64 KiB chunks) with the caller's checksum trailer.
 */
import { createHash } from 'node:crypto'
import { decodeAwsChunked, type ChunkSigning } from '../s3api/payload.js'
import { GatewayError } from './errors.js'

/** AWS JSON and query bodies are read whole up to this size (DynamoDB accepts 16 MB requests). */
export const MAX_BUFFERED_BODY = 20 * 1024 * 1024
/** S3 bucket configuration documents and DeleteObjects bodies. */
export const MAX_S3_DOCUMENT = 4 * 1024 * 1024

const HEX64 = /^[0-9a-f]{64}$/
const UNSIGNED = 'UNSIGNED-PAYLOAD'
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
const RECHUNK = 64 * 1024

export const tooLarge = (limit: number) =>
  new GatewayError(
    'RequestEntityTooLarge',
    `The request body exceeds the gateway's limit of ${limit} bytes for this kind of call.`,
    413,
  )

/** Reads a whole body up to `limit` bytes; throws RequestEntityTooLarge beyond. */
export async function readAll(source: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let n = 0
  for await (const c of source) {
    n += c.length
    if (n > limit) throw tooLarge(limit)
    parts.push(c)
  }
  return Buffer.concat(parts)
}

/** Header changes for the upstream request: a string sets, undefined removes. */
export type HeaderEdits = Record<string, string | undefined>

export interface StreamPlan {
  /** The x-amz-content-sha256 the upstream request is signed with. */
  contentSha256: string
  headers: HeaderEdits
  /** The bytes to send upstream; throws (so the upstream request is destroyed) on a mismatch. */
  body(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer>
  /** Bytes received from the client so far. */
  bytesIn(): number
}

type Headers = Record<string, string | string[] | undefined>
const one = (h: Headers, n: string) => {
  const v = h[n]
  return Array.isArray(v) ? v[0] : v
}

/** Yields `source`, holding back the last piece until `check` passed at the end. */
async function* holdLast(source: AsyncIterable<Buffer>, check: () => void): AsyncGenerator<Buffer> {
  let held: Buffer | undefined
  for await (const c of source) {
    if (c.length === 0) continue
    if (held) yield held
    held = c
  }
  check()
  if (held) yield held
}

const shaMismatch = () =>
  new GatewayError(
    'XAmzContentSHA256Mismatch',
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
    400,
  )
const incomplete = () =>
  new GatewayError(
    'IncompleteBody',
    'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.',
    400,
  )

/** content-encoding without aws-chunked (undefined when nothing else is left). */
function withoutAwsChunked(encoding: string | undefined): string | undefined {
  const rest = (encoding ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s.toLowerCase() !== 'aws-chunked')
  return rest.length ? rest.join(',') : undefined
}

/** Base64 lengths of the checksum trailers S3 knows. */
const TRAILER_VALUE_LENGTH: Record<string, number> = {
  'x-amz-checksum-crc32': 8,
  'x-amz-checksum-crc32c': 8,
  'x-amz-checksum-crc64nvme': 12,
  'x-amz-checksum-sha1': 28,
  'x-amz-checksum-sha256': 44,
}

const hexLen = (n: number) => n.toString(16).length

/** Length of an unsigned aws-chunked body of `size` bytes in RECHUNK chunks with `trailers`. */
export function unsignedChunkedLength(size: number, trailers: string[]): number | undefined {
  let len = 0
  const full = Math.floor(size / RECHUNK)
  const rest = size % RECHUNK
  len += full * (hexLen(RECHUNK) + 2 + RECHUNK + 2)
  if (rest > 0) len += hexLen(rest) + 2 + rest + 2
  len += 3 // 0\r\n
  for (const t of trailers) {
    const v = TRAILER_VALUE_LENGTH[t]
    if (v === undefined) return undefined
    len += t.length + 1 + v + 2
  }
  return len + 2
}

/** Frames decoded bytes as unsigned aws-chunked in RECHUNK chunks, then the trailers. */
async function* unsignedChunked(
  decoded: AsyncIterable<Buffer>,
  trailers: Record<string, string>,
  names: string[],
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let pendingLen = 0
  const frame = (data: Buffer) =>
    Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')])
  for await (const c of decoded) {
    let chunk = c
    while (chunk.length > 0) {
      const take = Math.min(RECHUNK - pendingLen, chunk.length)
      pending.push(chunk.subarray(0, take))
      pendingLen += take
      chunk = chunk.subarray(take)
      if (pendingLen === RECHUNK) {
        yield frame(Buffer.concat(pending))
        pending = []
        pendingLen = 0
      }
    }
  }
  if (pendingLen > 0) yield frame(Buffer.concat(pending))
  let tail = '0\r\n'
  for (const n of names) {
    const v = trailers[n]
    if (v === undefined || v.length !== TRAILER_VALUE_LENGTH[n])
      throw new GatewayError('InvalidRequest', `The trailer ${n} is missing or malformed.`, 400)
    tail += `${n}:${v}\r\n`
  }
  yield Buffer.from(tail + '\r\n')
}

/**
 * How an S3 object body streams to the upstream. `signing` is the caller's chunk-signing context
 * (for the signed aws-chunked modes).
 */
export function s3StreamPlan(headers: Headers, signing: ChunkSigning): StreamPlan {
  const mode = one(headers, 'x-amz-content-sha256') ?? ''
  let bytesIn = 0
  const counted = async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) {
      bytesIn += c.length
      yield c
    }
  }
  const bytes = () => bytesIn

  if (HEX64.test(mode)) {
    return {
      contentSha256: mode,
      headers: {},
      bytesIn: bytes,
      body(source) {
        const hash = createHash('sha256')
        const hashed = async function* () {
          for await (const c of counted(source)) {
            hash.update(c)
            yield c
          }
        }
        return holdLast(hashed(), () => {
          if (hash.digest('hex') !== mode) throw shaMismatch()
        })
      },
    }
  }
  if (mode === UNSIGNED || mode === STREAMING_UNSIGNED_TRAILER) {
    return { contentSha256: mode, headers: {}, bytesIn: bytes, body: (s) => counted(s) }
  }
  if (mode === STREAMING_SIGNED || mode === STREAMING_SIGNED_TRAILER) {
    const decodedHeader = one(headers, 'x-amz-decoded-content-length')
    const decodedLength = decodedHeader === undefined ? NaN : Number(decodedHeader)
    if (!Number.isSafeInteger(decodedLength) || decodedLength < 0)
      throw new GatewayError(
        'MissingContentLength',
        'You must provide the x-amz-decoded-content-length HTTP header.',
        411,
      )
    const trailers: Record<string, string> = {}
    let size = 0
    const decode = (source: AsyncIterable<Buffer>) =>
      (async function* () {
        for await (const c of decodeAwsChunked(counted(source), { signing, trailers })) {
          size += c.length
          yield c
        }
        if (size !== decodedLength) throw incomplete()
      })()
    if (mode === STREAMING_SIGNED) {
      return {
        contentSha256: UNSIGNED,
        headers: {
          'content-length': String(decodedLength),
          'x-amz-decoded-content-length': undefined,
          'content-encoding': withoutAwsChunked(one(headers, 'content-encoding')),
        },
        bytesIn: bytes,
        body: (source) => holdLast(decode(source), () => {}),
      }
    }
    const names = (one(headers, 'x-amz-trailer') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
    const length = unsignedChunkedLength(decodedLength, names)
    if (length === undefined)
      throw new GatewayError(
        'NotImplemented',
        `The gateway cannot forward the trailer(s) ${names.join(', ')}.`,
        501,
      )
    return {
      contentSha256: STREAMING_UNSIGNED_TRAILER,
      headers: { 'content-length': String(length) },
      bytesIn: bytes,
      // The terminator and trailers come last, after every signature checked out.
      body: (source) => unsignedChunked(decode(source), trailers, names),
    }
  }
  if (mode === '')
    throw new GatewayError(
      'InvalidRequest',
      'Missing required header for this request: x-amz-content-sha256',
      400,
    )
  throw new GatewayError('NotImplemented', `The payload mode ${mode} is not supported.`, 501)
}
