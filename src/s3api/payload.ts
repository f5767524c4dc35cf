/**
 * @module s3api/payload
 * Request bodies of the S3 REST protocol, streamed: the payload modes named by
 * `x-amz-content-sha256` (a hex SHA-256, `UNSIGNED-PAYLOAD`, and the `aws-chunked` streaming modes
 * with or without chunk signatures and trailers), `Content-MD5`, and the flexible checksums
 * (`x-amz-checksum-*` headers or trailers). Everything is checked before an object is committed.
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { S3Error } from './errors.js'

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number]

// ---- checksums -------------------------------------------------------------------------------

interface Digest {
  update(b: Uint8Array): void
  /** base64 of the big-endian checksum, as S3 sends it. */
  digest(): string
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[i] = c >>> 0
  }
  return t
})()

const CRC64_POLY = 0x9a6c9329ac4bc9b5n
const CRC64_TABLE = (() => {
  const t = new BigUint64Array(256)
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i)
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64_POLY : c >> 1n
    t[i] = c
  }
  return t
})()

function beBytes(n: bigint | number, bytes: number): string {
  const b = Buffer.alloc(bytes)
  if (bytes === 8) b.writeBigUInt64BE(BigInt(n))
  else b.writeUInt32BE(Number(n) >>> 0)
  return b.toString('base64')
}

export function newDigest(alg: ChecksumAlgorithm): Digest {
  switch (alg) {
    case 'CRC32': {
      let c = 0
      return { update: (b) => void (c = crc32(b, c)), digest: () => beBytes(c, 4) }
    }
    case 'CRC32C': {
      let c = 0xffffffff
      return {
        update(b) {
          for (let i = 0; i < b.length; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
        },
        digest: () => beBytes((c ^ 0xffffffff) >>> 0, 4),
      }
    }
    case 'CRC64NVME': {
      let c = 0xffffffffffffffffn
      return {
        update(b) {
          for (let i = 0; i < b.length; i++)
            c = CRC64_TABLE[Number((c ^ BigInt(b[i]!)) & 0xffn)]! ^ (c >> 8n)
        },
        digest: () => beBytes(c ^ 0xffffffffffffffffn, 8),
      }
    }
    case 'SHA1':
    case 'SHA256': {
      const h: Hash = createHash(alg === 'SHA1' ? 'sha1' : 'sha256')
      return { update: (b) => void h.update(b), digest: () => h.digest('base64') }
    }
  }
}

// ---- signing key -----------------------------------------------------------------------------

export interface ChunkSigning {
  /** The seed: the signature of the request's Authorization header. */
  seedSignature: string
  amzDate: string
  /** `<date>/<region>/<service>/aws4_request` */
  scope: string
  signingKey: Buffer
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest()
  return h(h(h(h('AWS4' + secret, date), region), service), 'aws4_request')
}

function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex')
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const signatureMismatch = () =>
  new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    403,
  )

// ---- aws-chunked -----------------------------------------------------------------------------

const CRLF = Buffer.from('\r\n')
const MAX_LINE = 16 * 1024

/**
 * Decodes an `aws-chunked` body. With `signing`, each chunk's signature (and the trailer's) is
 * checked; a bad one throws SignatureDoesNotMatch. Trailing headers land in `trailers`.
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>,
  opts: { signing?: ChunkSigning; trailers: Record<string, string> },
): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0)
  const it = source[Symbol.asyncIterator]()
  let ended = false
  const more = async (): Promise<boolean> => {
    if (ended) return false
    const r = await it.next()
    if (r.done) {
      ended = true
      return false
    }
    buf = buf.length ? Buffer.concat([buf, r.value]) : r.value
    return true
  }
  const readLine = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf(CRLF)
      if (i >= 0) {
        const line = buf.subarray(0, i).toString('latin1')
        buf = buf.subarray(i + 2)
        return line
      }
      if (buf.length > MAX_LINE || !(await more()))
        throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly', 400)
    }
  }
  const s = opts.signing
  let prev = s?.seedSignature ?? ''
  const checkChunk = (given: string | undefined, hashHex: string) => {
    if (!s) return
    if (!given) throw signatureMismatch()
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, prev, EMPTY_SHA256, hashHex].join(
      '\n',
    )
    const want = hmacHex(s.signingKey, sts)
    if (!sameHex(want, given)) throw signatureMismatch()
    prev = given
  }

  for (;;) {
    const header = await readLine()
    const [sizeHex, ...exts] = header.split(';')
    const size = parseInt(sizeHex!.trim(), 16)
    if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(sizeHex!.trim()))
      throw new S3Error('InvalidRequest', `Invalid chunk header: ${header.slice(0, 64)}`, 400)
    const sig = exts
      .map((e) => e.trim())
      .find((e) => e.startsWith('chunk-signature='))
      ?.slice('chunk-signature='.length)
    if (size === 0) {
      checkChunk(sig, EMPTY_SHA256)
      break
    }
    const hash = s ? createHash('sha256') : undefined
    let left = size
    while (left > 0) {
      if (buf.length === 0 && !(await more()))
        throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly', 400)
      const take = buf.subarray(0, Math.min(left, buf.length))
      buf = buf.subarray(take.length)
      left -= take.length
      hash?.update(take)
      yield take
    }
    checkChunk(sig, hash ? hash.digest('hex') : '')
    while (buf.length < 2) {
      if (!(await more()))
        throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly', 400)
    }
    if (!buf.subarray(0, 2).equals(CRLF))
      throw new S3Error('InvalidRequest', 'Chunk data is not followed by CRLF', 400)
    buf = buf.subarray(2)
  }
  // Trailers, then an empty line (a body may also simply end after the last chunk).
  let canonical = ''
  let trailerSig: string | undefined
  for (;;) {
    if (buf.length === 0 && ended) break
    if (buf.length === 0 && !(await more())) break
    const line = await readLine()
    if (line === '') break
    const c = line.indexOf(':')
    if (c <= 0) throw new S3Error('InvalidRequest', 'Malformed trailing header', 400)
    const name = line.slice(0, c).trim().toLowerCase()
    const value = line.slice(c + 1).trim()
    if (name === 'x-amz-trailer-signature') trailerSig = value
    else {
      opts.trailers[name] = value
      canonical += `${name}:${value}\n`
    }
  }
  if (s && canonical) {
    if (!trailerSig) throw signatureMismatch()
    const hashHex = createHash('sha256').update(canonical).digest('hex')
    const sts = ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, prev, hashHex].join('\n')
    if (!sameHex(hmacHex(s.signingKey, sts), trailerSig)) throw signatureMismatch()
  }
  // Drain anything after the terminator so the connection stays usable.
  while (await more()) buf = Buffer.alloc(0)
}

// ---- the whole body --------------------------------------------------------------------------

export interface PayloadSpec {
  /** The value of x-amz-content-sha256. */
  contentSha256: string
  contentEncoding?: string
  decodedLength?: number
  contentMd5?: string
  /** Checksums given as headers (algorithm → base64). */
  checksumHeaders: Partial<Record<ChecksumAlgorithm, string>>
  /** Checksums announced in x-amz-trailer / x-amz-sdk-checksum-algorithm. */
  announced: ChecksumAlgorithm[]
  signing?: ChunkSigning
}

export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`
}

/** Reads the payload-related headers of a request. */
export function payloadSpec(
  headers: Record<string, string | string[] | undefined>,
  signing?: ChunkSigning,
): PayloadSpec {
  const h = (n: string) => {
    const v = headers[n]
    return Array.isArray(v) ? v[0] : v
  }
  const checksumHeaders: Partial<Record<ChecksumAlgorithm, string>> = {}
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = h(checksumHeaderName(alg))
    if (v) checksumHeaders[alg] = v
  }
  const announced: ChecksumAlgorithm[] = []
  for (const name of (h('x-amz-trailer') ?? '').split(',').map((x) => x.trim().toLowerCase())) {
    const alg = CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === name)
    if (alg) announced.push(alg)
  }
  const sdkAlg = h('x-amz-sdk-checksum-algorithm')?.toUpperCase()
  const alg = CHECKSUM_ALGORITHMS.find((a) => a === sdkAlg)
  if (alg && !announced.includes(alg)) announced.push(alg)
  const decoded = h('x-amz-decoded-content-length')
  return {
    contentSha256: h('x-amz-content-sha256') ?? '',
    ...(h('content-encoding') ? { contentEncoding: h('content-encoding') } : {}),
    ...(decoded !== undefined ? { decodedLength: Number(decoded) } : {}),
    ...(h('content-md5') ? { contentMd5: h('content-md5') } : {}),
    checksumHeaders,
    announced,
    ...(signing ? { signing } : {}),
  }
}

export interface DecodedPayload {
  /** The object bytes, decoded and hashed as they stream. */
  chunks: AsyncIterable<Buffer>
  /**
   * Call after `chunks` is consumed, with the MD5 the store computed: throws on any mismatch and
   * returns the checksums to keep with the object.
   */
  verify(written: { size: number; md5: string }): Record<string, string>
  bytesIn(): number
}

const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'

export function decodePayload(source: AsyncIterable<Buffer>, spec: PayloadSpec): DecodedPayload {
  const mode = spec.contentSha256
  const chunked =
    mode === STREAMING_SIGNED ||
    mode === STREAMING_SIGNED_TRAILER ||
    mode === STREAMING_UNSIGNED_TRAILER
  if (mode.startsWith('STREAMING-') && !chunked)
    throw new S3Error('NotImplemented', `The payload mode ${mode} is not supported.`, 501)
  if (!chunked && mode !== 'UNSIGNED-PAYLOAD' && !/^[0-9a-f]{64}$/.test(mode))
    throw new S3Error(
      'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a hex SHA-256 of the payload.',
      400,
    )
  const trailers: Record<string, string> = {}
  let rawBytes = 0
  let size = 0
  const payloadHash = /^[0-9a-f]{64}$/.test(mode) ? createHash('sha256') : undefined
  const algs = new Set<ChecksumAlgorithm>([
    ...(Object.keys(spec.checksumHeaders) as ChecksumAlgorithm[]),
    ...spec.announced,
  ])
  const digests = new Map([...algs].map((a) => [a, newDigest(a)]))

  async function* counted(): AsyncGenerator<Buffer> {
    for await (const c of source) {
      rawBytes += c.length
      payloadHash?.update(c)
      yield c
    }
  }
  async function* decoded(): AsyncGenerator<Buffer> {
    const inner = chunked
      ? decodeAwsChunked(counted(), {
          ...(mode !== STREAMING_UNSIGNED_TRAILER && spec.signing ? { signing: spec.signing } : {}),
          trailers,
        })
      : counted()
    for await (const c of inner) {
      size += c.length
      for (const d of digests.values()) d.update(c)
      yield c
    }
  }

  return {
    chunks: decoded(),
    bytesIn: () => rawBytes,
    verify(written) {
      if (payloadHash && payloadHash.digest('hex') !== mode)
        throw new S3Error(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          400,
        )
      if (chunked && spec.decodedLength !== undefined && spec.decodedLength !== size)
        throw new S3Error(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.',
          400,
        )
      if (spec.contentMd5) {
        const want = Buffer.from(written.md5, 'hex').toString('base64')
        if (want !== spec.contentMd5)
          throw new S3Error(
            'BadDigest',
            'The Content-MD5 you specified did not match what we received.',
            400,
          )
      }
      const kept: Record<string, string> = {}
      for (const [alg, d] of digests) {
        const computed = d.digest()
        const given = spec.checksumHeaders[alg] ?? trailers[checksumHeaderName(alg)]
        if (given === undefined) continue
        if (given !== computed)
          throw new S3Error(
            'BadDigest',
            `The ${alg} you specified did not match the calculated checksum.`,
            400,
          )
        kept[alg] = computed
      }
      return kept
    },
  }
}

/**
 * Reads a small request body (configuration documents) whole, with the same checks; `checksums`
 * are the verified flexible checksums (from headers or trailers).
 */
export async function readSmallBody(
  source: AsyncIterable<Buffer>,
  spec: PayloadSpec,
  limit: number,
): Promise<{ body: Buffer; bytesIn: number; checksums: Record<string, string> }> {
  const p = decodePayload(source, spec)
  const parts: Buffer[] = []
  let n = 0
  const md5 = createHash('md5')
  for await (const c of p.chunks) {
    n += c.length
    if (n > limit) throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.', 400)
    md5.update(c)
    parts.push(c)
  }
  const checksums = p.verify({ size: n, md5: md5.digest('hex') })
  return { body: Buffer.concat(parts), bytesIn: p.bytesIn(), checksums }
}
