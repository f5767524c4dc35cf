/**
 * @module protocol/sigv4
 * Verifies AWS Signature Version 4 (Authorization header form). The signature is recomputed with
 * the AWS SDK's own signer (`@smithy/signature-v4`) over the signed headers the client named, and
 * compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { HttpRequest } from '@smithy/protocol-http'
import { Hash } from '@smithy/hash-node'
import { ServiceError } from '../shared/errors.js'

export interface IncomingSigned {
  method: string
  /** Raw path as received (still percent-encoded) and raw query string without `?`. */
  path: string
  query: string
  headers: Record<string, string | string[] | undefined>
  body: Uint8Array
}

export interface ParsedAuth {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
  amzDate: string
}

const MAX_SKEW_MS = 15 * 60 * 1000

export const MissingAuthenticationToken = () =>
  new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403)
const incomplete = (msg: string) => new ServiceError('IncompleteSignatureException', msg, 403)
export const UnrecognizedClient = () =>
  new ServiceError(
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
    403,
  )
export const InvalidSignature = () =>
  new ServiceError(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    403,
  )

/** A signature scoped to another service (one signed for s3, say) is not valid here. */
export const WrongService = (service: string) =>
  new ServiceError(
    'InvalidSignatureException',
    `Credential should be scoped to correct service: '${service}'. `,
    403,
  )

function header(h: IncomingSigned['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(',') : v
}

/** Parses the Authorization header; throws AWS's errors for a missing or malformed one. */
export function parseAuthorization(req: IncomingSigned): ParsedAuth {
  const auth = header(req.headers, 'authorization')
  if (!auth) throw MissingAuthenticationToken()
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) {
    throw incomplete(
      `Authorization header requires 'AWS4-HMAC-SHA256' algorithm. Authorization=${auth.split(' ')[0]}`,
    )
  }
  const parts: Record<string, string> = {}
  for (const p of auth.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
    const eq = p.indexOf('=')
    if (eq > 0) parts[p.slice(0, eq).trim()] = p.slice(eq + 1).trim()
  }
  for (const k of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts[k]) throw incomplete(`Authorization header requires '${k}' parameter.`)
  }
  const cred = parts['Credential']!.split('/')
  if (cred.length !== 5 || cred[4] !== 'aws4_request') {
    throw incomplete(`Credential should be scoped to a valid region, not '${cred[2] ?? ''}'.`)
  }
  const amzDate = header(req.headers, 'x-amz-date')
  if (!amzDate)
    throw incomplete(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )
  return {
    accessKeyId: cred[0]!,
    date: cred[1]!,
    region: cred[2]!,
    service: cred[3]!,
    signedHeaders: parts['SignedHeaders']!.split(';'),
    signature: parts['Signature']!,
    amzDate,
  }
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s)
  if (!m) return undefined
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}

function fmt(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

/** A raw query string as the SDK signer's `HttpRequest.query` (repeated names become arrays). */
export function parseQuery(q: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (!q) return out
  for (const [k, v] of new URLSearchParams(q)) {
    const prev = out[k]
    if (prev === undefined) out[k] = v
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

/**
 * Verifies the request's signature with `secretAccessKey`. Throws InvalidSignatureException on a
 * mismatch or when the request time is more than 15 minutes away from `now`.
 */
export async function verifySignature(
  req: IncomingSigned,
  auth: ParsedAuth,
  secretAccessKey: string,
  now: Date,
  sessionToken?: string,
): Promise<void> {
  const when = parseAmzDate(auth.amzDate)
  if (!when) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${auth.amzDate}'.`)
  if (Math.abs(now.getTime() - when.getTime()) > MAX_SKEW_MS) {
    const early = when.getTime() < now.getTime()
    const bound = new Date(now.getTime() + (early ? -MAX_SKEW_MS : MAX_SKEW_MS))
    throw new ServiceError(
      'InvalidSignatureException',
      early
        ? `Signature expired: ${auth.amzDate} is now earlier than ${fmt(bound)} (${fmt(now)} - 15 min.)`
        : `Signature not yet current: ${auth.amzDate} is still later than ${fmt(bound)} (${fmt(now)} + 15 min.)`,
      403,
    )
  }
  if (auth.date !== auth.amzDate.slice(0, 8)) throw InvalidSignature()
  const headers: Record<string, string> = {}
  for (const name of auth.signedHeaders) {
    const v = header(req.headers, name)
    if (v !== undefined) headers[name] = v
  }
  const host = headers['host'] ?? ''
  const isS3 = auth.service === 's3'
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: host,
    path: isS3 ? req.path : decodeURIComponent(req.path),
    query: parseQuery(req.query),
    headers,
    body: req.body,
  })
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey, sessionToken },
    region: auth.region,
    service: auth.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: !isS3,
    applyChecksum: false,
  })
  const signed = await signer.sign(request, {
    signingDate: when,
    signableHeaders: new Set(auth.signedHeaders),
  })
  const got = String(signed.headers['authorization'] ?? '')
  const expected = /Signature=([0-9a-f]+)/.exec(got)?.[1] ?? ''
  const a = Buffer.from(expected)
  const b = Buffer.from(auth.signature)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw InvalidSignature()
}
