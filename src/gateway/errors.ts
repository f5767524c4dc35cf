/**
 * @module gateway/errors
 * Errors the gateway answers itself (authentication, authorization, an upstream that is down), in
 * the wire shape of the caller's protocol: S3's `<Error>` XML, AWS JSON's `{"__type","message"}`,
 * the query protocol's `<ErrorResponse>`; and the error code and message read back from an
 * upstream's error response (only a bounded prefix of its body is ever kept).
 */
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../s3api/errors.js'
import { ServiceError } from '../shared/errors.js'
import { errorDocument } from '../s3api/xml.js'
import type { Protocol } from './call.js'

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra members of S3's `<Error>` document. */
    readonly extra: Record<string, string> = {},
  ) {
    super(message)
    this.name = code
  }
}

/** An error the gateway answers as it is (its own, S3's, a ServiceError), else undefined. */
export function asGatewayError(err: unknown): GatewayError | undefined {
  if (err instanceof GatewayError) return err
  if (err instanceof S3Error) return new GatewayError(err.code, err.message, err.status, err.extra)
  if (err instanceof ServiceError) return new GatewayError(err.code, err.message, err.status)
  return undefined
}

/** Query-protocol spellings of the SigV4 errors of protocol/sigv4. */
const QUERY_CODES: Record<string, string> = {
  UnrecognizedClientException: 'InvalidClientTokenId',
  InvalidSignatureException: 'SignatureDoesNotMatch',
  IncompleteSignatureException: 'IncompleteSignature',
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  AccessDeniedException: 'AccessDenied',
}

/** Query-protocol services that spell a denial their own way. */
const QUERY_DENIAL: Record<string, string> = { sns: 'AuthorizationError' }

export interface Reply {
  status: number
  headers: Record<string, string>
  body: string
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  )

/** The error response for the caller's protocol. */
export function errorReply(
  protocol: Protocol,
  e: GatewayError,
  ids: {
    requestId: string
    hostId: string
    key?: string
    jsonContentType?: string
    /** The signing name of the service, for its own spelling of errors. */
    service?: string
  },
  head = false,
): Reply {
  switch (protocol) {
    case 's3': {
      const headers: Record<string, string> = {
        'x-amz-request-id': ids.requestId,
        'x-amz-id-2': ids.hostId,
      }
      if (head) return { status: e.status, headers, body: '' }
      headers['content-type'] = 'application/xml'
      const body = errorDocument(new S3Error(e.code, e.message, e.status, e.extra), ids)
      return { status: e.status, headers, body }
    }
    case 'query': {
      const code =
        (e.code === 'AccessDeniedException' && ids.service
          ? QUERY_DENIAL[ids.service]
          : undefined) ??
        QUERY_CODES[e.code] ??
        e.code
      const body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
        `<Code>${xmlEscape(code)}</Code><Message>${xmlEscape(e.message)}</Message></Error>` +
        `<RequestId>${ids.requestId}</RequestId></ErrorResponse>`
      return {
        status: e.status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': ids.requestId },
        body,
      }
    }
    default:
      return {
        status: e.status,
        headers: {
          'content-type': ids.jsonContentType ?? 'application/x-amz-json-1.1',
          'x-amzn-requestid': ids.requestId,
          'x-amzn-errortype': e.code,
        },
        body: JSON.stringify({ __type: e.code, message: e.message }),
      }
  }
}

/** The code the call is recorded with: AWS records every flavour of denial as AccessDenied. */
export function recordedCode(code: string): string {
  return code === 'AccessDeniedException' ? 'AccessDenied' : code
}

// ---- reading an upstream's error -----------------------------------------------------------

const ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  apos: "'",
  quot: '"',
}
function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10))
    return ENTITIES[e] ?? m
  })
}

const STATUS_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'AccessDenied',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  411: 'MissingContentLength',
  412: 'PreconditionFailed',
  413: 'EntityTooLarge',
  416: 'InvalidRange',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
}

export interface UpstreamError {
  code: string
  message: string
}

/** `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException:http://…` → ResourceNotFoundException */
function shortCode(t: string): string {
  const afterHash = t.slice(t.lastIndexOf('#') + 1)
  const colon = afterHash.indexOf(':')
  return (colon >= 0 ? afterHash.slice(0, colon) : afterHash).trim()
}

function fromXml(text: string): UpstreamError | undefined {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1]
  if (code === undefined) return undefined
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? ''
  return { code: xmlText(code).trim(), message: xmlText(message) }
}

function fromJson(text: string, headers: IncomingHttpHeaders): UpstreamError | undefined {
  let doc: Record<string, unknown> | undefined
  try {
    const parsed = JSON.parse(text) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      doc = parsed as Record<string, unknown>
  } catch {
    // A truncated prefix or not JSON: the header may still name the error.
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  const header = headers['x-amzn-errortype']
  const type =
    str(doc?.['__type']) ??
    str(doc?.['code']) ??
    str(doc?.['Code']) ??
    (typeof header === 'string' ? header : undefined)
  if (!type) return undefined
  const message = str(doc?.['message']) ?? str(doc?.['Message']) ?? str(doc?.['errorMessage']) ?? ''
  return { code: shortCode(type), message }
}

/**
 * The error code and message of an upstream error response, from the prefix of its body that was
 * kept (S3 and query: `<Code>`/`<Message>`; JSON: `__type`/`message` or X-Amzn-ErrorType), else
 * from the HTTP status.
 */
export function parseUpstreamError(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
): UpstreamError {
  const text = body.toString('utf8')
  const trimmed = text.trimStart()
  const parsed = trimmed.startsWith('<')
    ? fromXml(trimmed)
    : trimmed.startsWith('{') || headers['x-amzn-errortype']
      ? fromJson(trimmed, headers)
      : undefined
  if (parsed?.code) return parsed
  return {
    code: STATUS_CODES[status] ?? `Http${status}`,
    message: parsed?.message || `The upstream answered HTTP ${status}.`,
  }
}
