/**
 * @module gateway/exchange
 * One call through a recording gateway as it passes (the request, what was learned about it, the
 * upstream's outcome) and the CloudTrail event it is recorded as.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { buildApiEvent } from '../events/api-event.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { Principal } from '../iam/identities.js'
import { finishS3Event, s3Resources, sourceIp, tlsOf } from '../s3api/events.js'
import type { CallInfo } from './call.js'

/** Everything known about one call as it passes. */
export interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  started: Date
  method: string
  rawPath: string
  rawQuery: string
  query: URLSearchParams
  host: string
  call: CallInfo
  region: string
  /** Our request ID and S3 host ID, used when the upstream gives none. */
  requestId: string
  hostId: string
  principal?: Principal
  claimedKey?: string
  requestParameters: unknown
  objectKeys?: string[]
  /** ARNs a JSON or query call names in its top-level parameters (authorized one by one). */
  resourceArns?: string[]
  bytesIn: () => number
  bytesOut: number
  /** The client's body has been read to its end (or there was none). */
  bodyDone: boolean
  recorded: boolean
}

export interface Outcome {
  status: number
  headers?: IncomingHttpHeaders
  requestId?: string
  hostId?: string
  errorCode?: string
  errorMessage?: string
  responseElements?: unknown
}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

/** S3 response headers AWS logs as responseElements of a write. */
const S3_RESPONSE_ELEMENTS = [
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-version-id',
  'x-amz-copy-source-version-id',
  'x-amz-expiration',
  'x-amz-delete-marker',
]

export function gatewayEvent(x: Exchange, o: Outcome, defaultAccountId: string): CloudTrailRecord {
  const { call } = x
  const s3 = call.s3
  const tls = tlsOf(x.req)
  const event = buildApiEvent({
    time: x.started,
    eventSource: call.eventSource,
    eventName: call.eventName,
    region: x.region,
    principal: x.principal,
    claimedAccessKeyId: x.claimedKey,
    defaultAccountId,
    sourceIPAddress: sourceIp(x.req),
    userAgent: header(x.req.headers, 'user-agent'),
    requestId: o.requestId ?? x.requestId,
    requestParameters: x.requestParameters,
    responseElements: o.errorCode ? null : (o.responseElements ?? null),
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
    readOnly: call.readOnly,
    resources:
      s3 && s3.bucket !== undefined
        ? s3Resources(s3.info, s3.bucket, s3.key, {
            owner: x.principal?.accountId ?? defaultAccountId,
            ...(x.objectKeys ? { objectKeys: x.objectKeys } : {}),
            listPrefix: x.query.get('prefix') ?? '',
          })
        : undefined,
    tls,
    host: x.host,
  })
  if (call.protocol === 's3') {
    finishS3Event(event, call.data, {
      hostId: o.hostId ?? x.hostId,
      bytesIn: x.bytesIn(),
      bytesOut: o.errorCode ? 0 : x.bytesOut,
      ...(tls?.cipherSuite ? { cipherSuite: tls.cipherSuite } : {}),
    })
  } else if (call.data) {
    event.managementEvent = false
    event.eventCategory = 'Data'
  }
  return event
}

/** Keeps the first `limit` bytes of a stream. */
export class Capture {
  private parts: Buffer[] = []
  private n = 0
  constructor(private readonly limit: number) {}
  add(c: Buffer): void {
    if (this.n >= this.limit) return
    const take = c.subarray(0, this.limit - this.n)
    this.parts.push(Buffer.from(take))
    this.n += take.length
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts)
  }
}

export function upstreamIds(h: IncomingHttpHeaders): { requestId?: string; hostId?: string } {
  const requestId =
    header(h, 'x-amz-request-id') ?? header(h, 'x-amzn-requestid') ?? header(h, 'x-amzn-request-id')
  const hostId = header(h, 'x-amz-id-2')
  return { ...(requestId ? { requestId } : {}), ...(hostId ? { hostId } : {}) }
}

export function s3ResponseElements(x: Exchange, h: IncomingHttpHeaders, body: Buffer): unknown {
  const out: Record<string, unknown> = {}
  if (x.call.eventName === 'CreateMultipartUpload') {
    const uploadId = /<UploadId>([^<]*)<\/UploadId>/.exec(body.toString('utf8'))?.[1]
    if (uploadId !== undefined)
      Object.assign(out, { bucket: x.call.s3?.bucket, key: x.call.s3?.key, uploadId })
  }
  for (const name of S3_RESPONSE_ELEMENTS) {
    const v = header(h, name)
    if (v !== undefined) out[name] = v
  }
  return Object.keys(out).length ? out : null
}
