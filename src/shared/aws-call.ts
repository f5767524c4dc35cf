/**
 * @module shared/aws-call
 * A signed AWS call as a client makes it, for the APIs that have no SDK client here (OpenTrail's
 * own target prefixes, CloudWatch Logs and CloudWatch JSON, SNS query actions): a POST to `/`,
 * SigV4-signed, with the error shaped like the SDK's (`name` the AWS code, `message`, `$metadata`)
 * so that callers report both alike. Used by the CLI and the import, Insights and pack clients.
 */
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** Where and as whom to call. */
export interface CallTarget {
  endpoint: string
  region: string
  credentials: Credentials | (() => Promise<Credentials>)
  userAgent?: string
  /** Milliseconds added to the local clock when signing (a server whose clock differs, e.g. a replay). */
  clockOffsetMs?: number
}

/** An error the service returned, shaped like the SDK's errors. */
export class AwsCallError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string }
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    requestId?: string,
  ) {
    super(message)
    this.name = code
    this.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) }
  }
}

/**
 * POSTs `body` to the endpoint's `/`, signed for `service`. A server that cannot be reached is an
 * error carrying the socket's `code` (ECONNREFUSED...), as the CLI reports connection failures.
 */
export async function signedPost(
  o: CallTarget & { service: string; headers: Record<string, string>; body: string },
): Promise<Response> {
  const url = new URL(o.endpoint)
  const signer = new SignatureV4({
    credentials: o.credentials,
    region: o.region,
    service: o.service,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  })
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: '/',
      headers: {
        host: url.host,
        ...o.headers,
        ...(o.userAgent ? { 'user-agent': o.userAgent } : {}),
      },
      body: o.body,
    }),
    { signingDate: new Date(Date.now() + (o.clockOffsetMs ?? 0)) },
  )
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') headers[k] = String(v)
  try {
    return await fetch(new URL('/', url), { method: 'POST', headers, body: o.body })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    throw Object.assign(new Error(`Could not reach ${o.endpoint}: ${String(cause?.code)}`), {
      code: cause?.code,
    })
  }
}

/** A signed AWS JSON call (1.0 or 1.1): the parsed answer, or an AwsCallError. */
export async function awsJsonCall<T>(
  o: CallTarget & {
    service: string
    target: string
    version: '1.0' | '1.1'
    input: Record<string, unknown>
  },
): Promise<T> {
  const res = await signedPost({
    ...o,
    headers: {
      'content-type': `application/x-amz-json-${o.version}`,
      'x-amz-target': o.target,
    },
    body: JSON.stringify(o.input),
  })
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    // a non-JSON error body: reported below with the status
  }
  if (!res.ok) {
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
    const type = str(json['__type']) ?? res.headers.get('x-amzn-errortype') ?? 'UnknownError'
    throw new AwsCallError(
      type.slice(type.lastIndexOf('#') + 1),
      str(json['message']) ?? str(json['Message']) ?? `HTTP ${res.status}`,
      res.status,
      res.headers.get('x-amzn-requestid') ?? undefined,
    )
  }
  return json as T
}
