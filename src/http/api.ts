/**
 * @module http/api
 * The AWS JSON 1.1 endpoint (`POST /`): authenticate (SigV4), parse and validate against the
 * service model, authorize (IAM), run the operation, and record the call as a CloudTrail event,
 * whatever the outcome. The response is sent only after the event is durable.
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { buildApiEvent } from '../events/api-event.js'
import type { CloudTrailRecord, EventResource } from '../events/record.js'
import type { Authorizer } from '../iam/authorizer.js'
import type { IdentityStore, Principal } from '../iam/identities.js'
import { camelKeys } from '../protocol/case.js'
import { errorResponse, parseTarget } from '../protocol/json-protocol.js'
import { parseInput, serializeOutput, type ServiceModel } from '../protocol/model.js'
import type { OperationTable, RequestContext } from '../protocol/operation.js'
import {
  parseAuthorization,
  UnrecognizedClient,
  verifySignature,
  WrongService,
} from '../protocol/sigv4.js'
import type { Clock } from '../shared/clock.js'
import {
  SerializationException,
  ServiceError,
  UnknownOperationException,
} from '../shared/errors.js'
import { newRequestId } from '../shared/ids.js'
import type { Logger } from '../telemetry/logger.js'

export interface ServiceBinding {
  /** Event source recorded for calls, e.g. cloudtrail.amazonaws.com. */
  eventSource: string
  /** IAM action prefix, e.g. cloudtrail. */
  iamPrefix: string
  signingName: string
  targetPrefixes: string[]
  model: ServiceModel
  operations: OperationTable
  /** The AWS query protocol (form body, XML answers; SNS), chosen by the signing service name. */
  query?: {
    decode(body: string): { operation: string; input: Record<string, unknown> }
    encode(operation: string, response: unknown, requestId: string): string
    encodeError(code: string, message: string, status: number, requestId: string): string
  }
}

/**
 * Authenticates a call by other means than SigV4: the web console's session cookie with its CSRF
 * header (see console/sessions.ts). Consulted only for requests without an Authorization header.
 */
export interface SessionAuthenticator {
  /** Undefined when the request carries no session; throws a ServiceError for a bad one. */
  authenticate(req: IncomingMessage): { principal: Principal; region?: string } | undefined
}

export interface ApiDeps {
  services: Record<string, ServiceBinding>
  identities: IdentityStore
  authorizer: Authorizer
  record: (event: CloudTrailRecord) => Promise<void>
  clock: Clock
  logger: Logger
  defaultRegion: string
  sessionAuth?: SessionAuthenticator
}

export interface ApiResponse {
  status: number
  headers: Record<string, string>
  body: string
}

const decoder = new TextDecoder('utf-8', { fatal: true })

export class ApiHandler {
  private readonly prefixes: Record<string, string[]>

  constructor(private readonly deps: ApiDeps) {
    this.prefixes = Object.fromEntries(
      Object.entries(deps.services).map(([k, s]) => [k, s.targetPrefixes]),
    )
  }

  private queryTarget(
    req: IncomingMessage,
    body: Buffer,
  ): { service: string; operation: string } | undefined {
    return queryTargetOf(this.deps.services, req, body)
  }

  /** A body over the limit is refused unread; the call is still recorded, as unauthenticated. */
  handleTooLarge(req: IncomingMessage, limit: number): Promise<ApiResponse> {
    return this.handle(req, Buffer.alloc(0), limit)
  }

  async handle(req: IncomingMessage, body: Buffer, tooLargeLimit?: number): Promise<ApiResponse> {
    const requestId = newRequestId()
    const now = this.deps.clock.now()
    const targetHeader = req.headers['x-amz-target']
    const query = targetHeader === undefined ? this.queryTarget(req, body) : undefined
    const target =
      query ??
      parseTarget(typeof targetHeader === 'string' ? targetHeader : undefined, this.prefixes)
    const binding = target ? this.deps.services[target.service] : undefined
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    let principal: Principal | undefined
    let claimedKey: string | undefined
    let region = this.deps.defaultRegion
    let input: Record<string, unknown> | undefined
    let response: unknown
    let error: unknown
    let resources: EventResource[] | undefined
    const operationName = target?.operation ?? 'UnknownOperation'
    // Own properties only: 'constructor' or 'toString' must not find Object.prototype's.
    const op =
      binding && Object.hasOwn(binding.operations, operationName)
        ? binding.operations[operationName]
        : undefined
    try {
      if (tooLargeLimit !== undefined) {
        const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\//.exec(
          headerValue(req, 'authorization') ?? '',
        )
        claimedKey = m?.[1]
        region = m?.[2] ?? region
        throw new ServiceError(
          'RequestEntityTooLargeException',
          `Request body exceeds the maximum of ${tooLargeLimit} bytes.`,
          413,
        )
      }
      const session =
        headerValue(req, 'authorization') === undefined
          ? this.deps.sessionAuth?.authenticate(req)
          : undefined
      if (session) {
        principal = session.principal
        claimedKey = principal.accessKeyId
        region = session.region ?? region
      } else {
        const signed = {
          method: req.method ?? 'POST',
          path: q >= 0 ? url.slice(0, q) : url,
          query: q >= 0 ? url.slice(q + 1) : '',
          headers: req.headers,
          body,
        }
        const auth = parseAuthorization(signed)
        claimedKey = auth.accessKeyId
        region = auth.region || region
        if (binding && auth.service !== binding.signingName) throw WrongService(binding.signingName)
        const secret = this.deps.identities.secretFor(auth.accessKeyId)
        if (!secret) throw UnrecognizedClient()
        await verifySignature(signed, auth, secret, now)
        principal = this.deps.identities.principalFor(auth.accessKeyId)!
      }
      if (!binding || !target) {
        throw UnknownOperationException(
          `Unrecognized operation: ${String(targetHeader ?? '(no X-Amz-Target)')}`,
        )
      }
      if (!op || !Object.hasOwn(binding.model.operations, operationName)) {
        throw UnknownOperationException(`The operation ${operationName} is not supported.`)
      }
      let text: string
      try {
        text = decoder.decode(body)
      } catch {
        throw SerializationException('The request body is not valid UTF-8.')
      }
      let parsed: unknown
      try {
        parsed = query
          ? binding.query!.decode(text).input
          : text.trim() === ''
            ? {}
            : JSON.parse(text)
      } catch (e) {
        if (e instanceof ServiceError) throw e
        throw SerializationException(`Malformed JSON in request body: ${(e as Error).message}`)
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        op.precheck?.(parsed as Record<string, unknown>)
      input = parseInput(binding.model, operationName, parsed)
      const ctx: RequestContext = {
        principal,
        accountId: principal.accountId,
        region,
        requestId,
        now,
      }
      resources = safe(() => op.eventResources?.(input!, ctx))
      const action = `${binding.iamPrefix}:${operationName}`
      const denied = this.deps.authorizer.check(principal, action, op.resource(input, ctx))
      if (denied) throw denied
      response = await op.handle(input, ctx)
    } catch (err) {
      error = err
    }

    const readOnly = op?.readOnly ?? false
    let status = 200
    let code: string | undefined
    let message: string | undefined
    let out: string
    if (error) {
      const e = errorResponse(error, requestId)
      status = e.status
      code = e.code
      message = error instanceof ServiceError ? error.message : 'An internal error occurred.'
      out = e.body
      if (!(error instanceof ServiceError)) {
        this.deps.logger.error(
          { requestId, err: (error as Error).stack ?? JSON.stringify(error) },
          'Operation failed.',
        )
      }
    } else {
      out = serializeOutput(response ?? {})
    }
    if (query && binding?.query) {
      out = error
        ? binding.query.encodeError(code!, message!, status, requestId)
        : binding.query.encode(operationName, response, requestId)
    }
    const event = buildApiEvent({
      time: now,
      eventSource: binding?.eventSource ?? 'cloudtrail.amazonaws.com',
      eventName: operationName,
      region,
      principal,
      claimedAccessKeyId: claimedKey,
      defaultAccountId: this.deps.identities.defaultAccountId ?? '',
      sourceIPAddress: sourceIp(req),
      userAgent: headerValue(req, 'user-agent'),
      requestId,
      // Input that did not parse or validate is not recorded: it may be anything the caller sent.
      requestParameters: input ? camelKeys(input) : null,
      requestBytes: body.length,
      responseElements:
        !error && op && (op.logResponse ?? !readOnly) ? camelKeys(response ?? null) : null,
      responseBytes: error ? 0 : Buffer.byteLength(out),
      errorCode: code === 'AccessDeniedException' ? 'AccessDenied' : code,
      errorMessage: message,
      readOnly,
      resources,
      tls: tlsOf(req),
      host: headerValue(req, 'host'),
    })
    await this.deps.record(event)
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
    }
    if (code) headers['x-amzn-errortype'] = code
    if (query) headers['content-type'] = 'text/xml'
    return { status, headers, body: out }
  }
}

/** Query-protocol calls are recognised by their form body; the signing service picks the binding. */
function queryTargetOf(
  services: Record<string, ServiceBinding>,
  req: IncomingMessage,
  body: Buffer,
): { service: string; operation: string } | undefined {
  if (!/^application\/x-www-form-urlencoded/i.test(headerValue(req, 'content-type') ?? '')) {
    return undefined
  }
  const scope = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(
    headerValue(req, 'authorization') ?? '',
  )
  const entry = Object.entries(services).find(
    ([, b]) => b.query && (!scope || b.signingName === scope[1]),
  )
  if (!entry) return undefined
  const operation = new URLSearchParams(body.toString('utf8')).get('Action') ?? 'UnknownOperation'
  return { service: entry[0], operation }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch {
    return undefined
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function sourceIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip
}

function tlsOf(req: IncomingMessage): { tlsVersion?: string; cipherSuite?: string } | undefined {
  const s = req.socket as TLSSocket
  if (!s.encrypted) return undefined
  return { tlsVersion: s.getProtocol?.() ?? undefined, cipherSuite: s.getCipher?.()?.standardName }
}
