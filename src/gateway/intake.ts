/**
 * @module gateway/intake
 * The caller's side of a gateway call, up to authorization: the body read whole (AWS JSON and query
 * calls, S3 bucket documents and DeleteObjects, decoded from aws-chunked) or planned as a stream
 * (S3 objects, whose chunk signatures are checked as they pass), the SigV4 signature verified with
 * the caller's OpenTrail key, the principal named, and the call's operation and parameters read
 * from the body. What goes upstream is returned.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { createHash } from 'node:crypto'
import type { IdentityStore } from '../iam/identities.js'
import { verifySignature, type IncomingSigned, type ParsedAuth } from '../protocol/sigv4.js'
import { deleteObjectsKeys, documentParameters } from '../s3api/events.js'
import { payloadSpec, readSmallBody, signingKey, type ChunkSigning } from '../s3api/payload.js'
import {
  MAX_BUFFERED_BODY,
  MAX_S3_DOCUMENT,
  readAll,
  s3StreamPlan,
  type HeaderEdits,
  type StreamPlan,
} from './body.js'
import {
  arnParameters,
  jsonMembers,
  jsonRequestParameters,
  queryCall,
  queryRequestParameters,
} from './call.js'
import { GatewayError } from './errors.js'
import { header, type Exchange } from './exchange.js'

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** What goes upstream: the body read whole, or the plan to stream it; header changes. */
export interface Outbound {
  body?: Buffer
  plan?: StreamPlan
  edits: HeaderEdits
  contentSha256?: string
}

/** The request as the SigV4 verifier sees it, with `body` as the payload. */
export function signedView(x: Exchange, body: Uint8Array): IncomingSigned {
  return { method: x.method, path: x.rawPath, query: x.rawQuery, headers: x.req.headers, body }
}

/**
 * Reads or plans the body, verifies the signature and fills in the principal, the operation and
 * its parameters. Throws GatewayError / ServiceError for what the caller gets wrong.
 */
export async function authenticate(
  x: Exchange,
  auth: ParsedAuth,
  secret: string,
  expectContinue: boolean,
  identities: IdentityStore,
): Promise<Outbound> {
  const { req } = x
  const s3 = x.call.s3
  // The chunk-signing key is derived only for the calls that send signed chunks.
  let key: Buffer | undefined
  const signing: ChunkSigning = {
    seedSignature: auth.signature,
    amzDate: auth.amzDate,
    scope: `${auth.date}/${auth.region}/${auth.service}/aws4_request`,
    get signingKey() {
      return (key ??= signingKey(secret, auth.date, auth.region, auth.service))
    },
  }
  let body: Buffer | undefined
  let plan: StreamPlan | undefined
  let edits: HeaderEdits = {}
  let contentSha256: string | undefined
  if (x.call.protocol === 's3') {
    if (!header(req.headers, 'x-amz-content-sha256'))
      throw new GatewayError(
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
        400,
      )
    if (x.bodyDone) {
      body = Buffer.alloc(0)
      contentSha256 = EMPTY_SHA256
    } else if (!s3 || s3.info.level !== 'object') {
      // Bucket configuration documents and DeleteObjects: small, read whole and decoded.
      if (expectContinue) x.res.writeContinue()
      const read = await readSmallBody(req, payloadSpec(req.headers, signing), MAX_S3_DOCUMENT)
      x.bytesIn = () => read.bytesIn
      x.bodyDone = true
      body = read.body
      contentSha256 = createHash('sha256').update(body).digest('hex')
      edits = {
        'content-encoding': contentEncodingWithoutChunked(req.headers),
        'x-amz-decoded-content-length': undefined,
        'x-amz-trailer': undefined,
      }
      for (const [alg, v] of Object.entries(read.checksums))
        edits[`x-amz-checksum-${alg.toLowerCase()}`] = v
    } else {
      plan = s3StreamPlan(req.headers, signing)
      const counted = plan
      x.bytesIn = () => counted.bytesIn()
      edits = plan.headers
      contentSha256 = plan.contentSha256
    }
  } else if (!x.bodyDone) {
    if (expectContinue) x.res.writeContinue()
    body = await readAll(req, MAX_BUFFERED_BODY)
    const n = body.length
    x.bytesIn = () => n
    x.bodyDone = true
  } else body = Buffer.alloc(0)

  // ---- authenticate ----------------------------------------------------------------------
  const signedBody = x.call.protocol === 's3' || !body ? new Uint8Array() : body
  await verifySignature(signedView(x, signedBody), auth, secret, x.started)
  const given = header(req.headers, 'x-amz-content-sha256')
  if (
    x.call.protocol !== 's3' &&
    body &&
    given &&
    /^[0-9a-f]{64}$/.test(given) &&
    createHash('sha256').update(body).digest('hex') !== given
  )
    throw new GatewayError(
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      400,
    )
  x.principal = identities.principalFor(auth.accessKeyId)

  // ---- what exactly: form bodies name the action; documents add parameters ---------------
  if (x.call.protocol === 'query') {
    const form = new URLSearchParams(x.rawQuery)
    if (body && body.length > 0 && x.method === 'POST')
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.append(k, v)
    x.call = queryCall(auth.service, form)
    x.requestParameters = queryRequestParameters(form)
    x.resourceArns = arnParameters(form)
  } else if (x.call.protocol === 'json') {
    const members = body ? jsonMembers(body) : undefined
    x.requestParameters = jsonRequestParameters(members)
    x.resourceArns = arnParameters(members ?? [])
  } else if (s3 && body && body.length > 0 && s3.info.level !== 'object') {
    Object.assign(
      x.requestParameters as Record<string, unknown>,
      documentParameters(s3.info.name, body),
    )
    if (s3.info.name === 'DeleteObjects') {
      const keys = deleteObjectsKeys(body)
      if (!keys)
        throw new GatewayError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        )
      x.objectKeys = keys
    }
  }
  return { body, plan, edits, contentSha256 }
}

function contentEncodingWithoutChunked(h: IncomingHttpHeaders): string | undefined {
  const rest = (header(h, 'content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s.toLowerCase() !== 'aws-chunked')
  return rest.length ? rest.join(',') : undefined
}
