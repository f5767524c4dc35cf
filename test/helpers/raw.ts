/**
 * Test helper: raw AWS JSON 1.1 requests (for inputs the SDK would never send), optionally signed
 * with SigV4 the way the AWS SDK signs them, and LookupEvents helpers for finding recorded calls.
 */
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { LookupEventsCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import type { LookupAttribute } from '@aws-sdk/client-cloudtrail'

export const TARGET = 'CloudTrail_20131101'

export interface RawRequest {
  /** Operation name (prefixed with CloudTrail_20131101.), a full X-Amz-Target, or null for none. */
  target?: string | null
  body?: string | Uint8Array
  /** Sign with this key; omit for an unsigned request. */
  key?: { accessKeyId: string; secretAccessKey: string }
  region?: string
  service?: string
  /** Signing time (default now). */
  date?: Date
  headers?: Record<string, string>
}

export interface RawResponse {
  status: number
  requestId: string
  errorType: string | null
  body: Record<string, unknown>
  text: string
}

export async function signHeaders(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  opts: {
    key: { accessKeyId: string; secretAccessKey: string }
    region?: string
    service?: string
    date?: Date
  },
): Promise<Record<string, string>> {
  const u = new URL(url)
  const signer = new SignatureV4({
    credentials: opts.key,
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'cloudtrail',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  })
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      headers: { ...headers, host: u.host },
      body,
    }),
    { signingDate: opts.date ?? new Date() },
  )
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v)
  return out
}

export async function rawCall(url: string, req: RawRequest): Promise<RawResponse> {
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body ?? '{}')
  let headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    ...req.headers,
  }
  if (req.target !== null) {
    const t = req.target ?? 'DescribeTrails'
    headers['x-amz-target'] = t.includes('.') ? t : `${TARGET}.${t}`
  }
  if (req.key) headers = await signHeaders(url, headers, body, { ...req, key: req.key })
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = {}
  }
  return {
    status: res.status,
    requestId: res.headers.get('x-amzn-requestid') ?? '',
    errorType: res.headers.get('x-amzn-errortype'),
    body: parsed,
    text,
  }
}

export type Recorded = Record<string, unknown> & {
  requestID?: string
  eventID?: string
  eventName?: string
  errorCode?: string
  errorMessage?: string
  awsRegion?: string
  readOnly?: boolean
  userIdentity?: {
    type?: string
    accessKeyId?: string
    userName?: string
    accountId?: string
    arn?: string
  }
}

/** Every event a lookup returns, following NextToken to the end. */
export async function lookupAll(
  client: CloudTrailClient,
  attrs: LookupAttribute[] = [],
  extra: { StartTime?: Date; EndTime?: Date; EventCategory?: 'insight' } = {},
): Promise<Recorded[]> {
  const out: Recorded[] = []
  let NextToken: string | undefined
  do {
    const page = await client.send(
      new LookupEventsCommand({ LookupAttributes: attrs, MaxResults: 50, NextToken, ...extra }),
    )
    for (const e of page.Events ?? []) out.push(JSON.parse(e.CloudTrailEvent!) as Recorded)
    NextToken = page.NextToken
  } while (NextToken)
  return out
}

/**
 * Polls LookupEvents until the call with `requestId` is found (or `timeoutMs` passes), narrowing by
 * `attrs` (an EventName, say). Returns the recorded event.
 */
export async function findRecorded(
  client: CloudTrailClient,
  requestId: string,
  attrs: LookupAttribute[] = [],
  timeoutMs = 5000,
): Promise<Recorded> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const all = await lookupAll(client, attrs)
    const hit = all.filter((e) => e.requestID === requestId)
    if (hit.length > 1) throw new Error(`request ${requestId} recorded ${hit.length} times`)
    if (hit[0]) return hit[0]
    if (Date.now() > deadline) throw new Error(`request ${requestId} was not recorded`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The request ID and error of an SDK call expected to fail. */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; requestId: string; status: number }> {
  try {
    await p
  } catch (e) {
    const err = e as Error & { $metadata?: { requestId?: string; httpStatusCode?: number } }
    return {
      name: err.name,
      message: err.message,
      requestId: err.$metadata?.requestId ?? '',
      status: err.$metadata?.httpStatusCode ?? 0,
    }
  }
  throw new Error('expected the call to fail')
}
