/**
 * @module gateway/gateway
 * The recording gateway: an HTTP listener in front of an AWS-compatible endpoint (S3-compatible
 * stores, LocalStack, moto, AWS). A caller signs for the gateway with an OpenTrail access key; the
 * gateway verifies the signature, checks the caller's IAM policies (`<service>:<Operation>`),
 * re-signs the request with the upstream's credentials, streams both bodies through, and records
 * the call as a CloudTrail event in the pipeline, like every other event.
 *
 * The event is durable before the caller has the whole response: the last piece of the response
 * body is held back until the pipeline acknowledged the event (answers without a body are sent
 * after it). Errors the gateway answers itself (authentication, authorization, an upstream that is
 * down) are shaped for the caller's protocol and recorded too.
 *
 * This module is the listener and the flow of a call: who (SigV4 Authorization header) and which
 * operation, then intake.ts (body, signature), authorize.ts (IAM), forward.ts (upstream and
 * streaming back), and the recording of the call, once, with its outcome.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { CloudTrailRecord } from '../events/record.js'
import type { Authorizer } from '../iam/authorizer.js'
import type { IdentityStore } from '../iam/identities.js'
import { parseAuthorization, UnrecognizedClient, type ParsedAuth } from '../protocol/sigv4.js'
import { fromAuthError } from '../s3api/errors.js'
import { s3HostId, s3RequestId, s3RequestParameters } from '../s3api/events.js'
import type { Clock } from '../shared/clock.js'
import { ServiceError } from '../shared/errors.js'
import type { Logger } from '../telemetry/logger.js'
import { authorize } from './authorize.js'
import { jsonCall, queryCall, restCall, s3Call, type CallInfo } from './call.js'
import { asGatewayError, errorReply, GatewayError, recordedCode } from './errors.js'
import { gatewayEvent, header, type Exchange, type Outcome } from './exchange.js'
import { drain, forward, type ForwardContext, UPSTREAM_IDLE_MS } from './forward.js'
import { authenticate, type Outbound, signedView } from './intake.js'
import { Upstream, type UpstreamCredentials } from './upstream.js'

export interface GatewaySettings {
  /** `HOST:PORT` to listen on (port 0: any free port). */
  listen: string
  /** The upstream endpoint URL. */
  upstream: string
  /** Region to sign upstream requests for; default: the region the caller signed for. */
  region?: string
  credentials: UpstreamCredentials
  /** Serve HTTPS with this PEM certificate (chain) and key; events then carry tlsDetails. */
  tls?: { certFile: string; keyFile: string }
  /**
   * Hold back the end of each response until its event is durable in the pipeline (default), so
   * a caller never has a complete answer whose call is not recorded; false records alongside
   * and saves the caller the event log's fdatasync (see docs/decisions/0006-recording-gateway.md).
   */
  waitForRecord?: boolean
}

export interface GatewayDeps {
  identities: IdentityStore
  authorizer: Authorizer
  record: (event: CloudTrailRecord) => Promise<void>
  clock: Clock
  logger: Logger
  defaultRegion: string
}

function hasBody(req: IncomingMessage): boolean {
  const len = header(req.headers, 'content-length')
  return (
    (len !== undefined && len !== '0') || header(req.headers, 'transfer-encoding') !== undefined
  )
}

/** AWS JSON service name from an X-Amz-Target prefix, for calls that carry no credential scope. */
function serviceFromTarget(target: string): string {
  const prefix = target.slice(0, Math.max(0, target.lastIndexOf('.')))
  const last = prefix.slice(prefix.lastIndexOf('.') + 1)
  return (
    last
      .replace(/_\d+$/, '')
      .replace(/^(Amazon|AWS)/, '')
      .toLowerCase() || 'unknown'
  )
}

export class RecordingGateway {
  private readonly upstream: Upstream
  private readonly forwarding: ForwardContext
  private server!: Server
  private readonly active = new Set<Exchange>()
  url = ''

  private constructor(
    readonly settings: GatewaySettings,
    private readonly deps: GatewayDeps,
  ) {
    this.upstream = new Upstream(settings.upstream, settings.credentials)
    this.forwarding = {
      upstream: this.upstream,
      upstreamUrl: settings.upstream,
      waitForRecord: settings.waitForRecord !== false,
      logger: deps.logger,
      reject: (x, err) => this.reject(x, err),
      record: (x, o) => this.recordOnce(x, o),
    }
  }

  static async start(settings: GatewaySettings, deps: GatewayDeps): Promise<RecordingGateway> {
    const g = new RecordingGateway(settings, deps)
    await g.listen()
    return g
  }

  /** Calls in progress, and sockets open to the upstream (for tests and health). */
  status(): { inflight: number; upstreamSockets: { active: number; idle: number } } {
    return { inflight: this.active.size, upstreamSockets: this.upstream.openSockets() }
  }

  private async listen(): Promise<void> {
    const { host, port } = parseListen(this.settings.listen)
    const opts = { requestTimeout: 0, headersTimeout: 60_000 }
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.dispatch(req, res, false)
    const tls = this.settings.tls
    this.server = tls
      ? createHttpsServer(
          { ...opts, cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) },
          onRequest,
        )
      : createServer(opts, onRequest)
    this.server.on('checkContinue', (req, res) => this.dispatch(req, res, true))
    // A connection with nothing moving for this long is closed (the body of a slow upload moves).
    this.server.setTimeout(UPSTREAM_IDLE_MS)
    await new Promise<void>((ok, fail) => {
      this.server.once('error', fail)
      this.server.listen(port, host, () => ok())
    })
    const addr = this.server.address() as AddressInfo
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
    this.url = `${tls ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()))
    this.server.closeAllConnections()
    await closed
    this.upstream.close()
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const x = this.begin(req, res)
    this.active.add(x)
    this.handle(x, expectContinue)
      .catch(async (err: unknown) => {
        this.deps.logger.error(
          { requestId: x.requestId, err: (err as Error)?.stack ?? String(err) },
          'Gateway call failed.',
        )
        if (!x.recorded)
          await this.reject(
            x,
            new GatewayError('InternalError', 'We encountered an internal error.', 500),
          ).catch(() => undefined)
        if (!res.writableEnded) res.destroy()
      })
      .finally(() => this.active.delete(x))
  }

  private begin(req: IncomingMessage, res: ServerResponse): Exchange {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const rawQuery = q >= 0 ? url.slice(q + 1) : ''
    const query = new URLSearchParams(rawQuery)
    const host = header(req.headers, 'host') ?? ''
    return {
      req,
      res,
      started: this.deps.clock.now(),
      method: req.method ?? 'GET',
      rawPath: q >= 0 ? url.slice(0, q) : url,
      rawQuery,
      query,
      host,
      call: restCall('unknown'),
      region: this.settings.region ?? this.deps.defaultRegion,
      requestId: randomUUID(),
      hostId: s3HostId(),
      requestParameters: null,
      bytesIn: () => 0,
      bytesOut: 0,
      bodyDone: !hasBody(req),
      recorded: false,
    }
  }

  /** Which protocol and operation: from the credential scope, X-Amz-Target and Action. */
  private identify(x: Exchange, service: string | undefined): CallInfo {
    const target = header(x.req.headers, 'x-amz-target')
    const form = /^application\/x-www-form-urlencoded/i.test(
      header(x.req.headers, 'content-type') ?? '',
    )
    if (service === 's3') return s3Call(x.method, x.rawPath, x.query, x.req.headers)
    if (target) return jsonCall(service ?? serviceFromTarget(target), target)
    if (x.query.has('Action') || (form && x.method === 'POST'))
      return queryCall(service ?? 'unknown', x.query)
    if (service) return restCall(service)
    // No signature to tell by: an S3 request is the likeliest (anonymous S3 calls are common).
    return s3Call(x.method, x.rawPath, x.query, x.req.headers)
  }

  private async handle(x: Exchange, expectContinue: boolean): Promise<void> {
    // ---- who, and what ---------------------------------------------------------------------
    let auth: ParsedAuth | undefined
    let authError: unknown
    if (x.query.has('X-Amz-Signature'))
      authError = new GatewayError(
        'NotImplemented',
        'Query-string (presigned URL) authentication is not supported by the gateway; sign with the Authorization header.',
        501,
      )
    else
      try {
        auth = parseAuthorization(signedView(x, new Uint8Array()))
        x.claimedKey = auth.accessKeyId
      } catch (err) {
        authError = err
      }
    x.region = this.settings.region ?? (auth?.region || this.deps.defaultRegion)
    try {
      x.call = this.identify(x, auth?.service)
    } catch (err) {
      // Only S3 paths fail to resolve (a path that does not percent-decode).
      x.call = { ...restCall('s3'), protocol: 's3', eventSource: 's3.amazonaws.com' }
      return this.reject(x, err)
    }
    if (x.call.protocol === 's3') {
      x.requestId = s3RequestId()
      x.requestParameters = s3RequestParameters(x.host, x.call.s3?.bucket, x.call.s3?.key, x.query)
    }
    if (authError) return this.reject(x, authError)
    const secret = this.deps.identities.secretFor(auth!.accessKeyId)
    if (!secret) return this.reject(x, UnrecognizedClient())

    let out: Outbound
    try {
      out = await authenticate(x, auth!, secret, expectContinue, this.deps.identities)
      authorize(x, this.deps.identities, this.deps.authorizer)
    } catch (err) {
      return this.reject(x, err)
    }
    await forward(this.forwarding, x, { ...out, expectContinue: expectContinue && !!out.plan })
  }

  // ---- answers of the gateway's own ----------------------------------------------------------------

  /** Answers with an error in the caller's protocol, after recording the call. */
  private async reject(x: Exchange, err: unknown): Promise<void> {
    let e = asGatewayError(err)
    if (!e) {
      this.deps.logger.error(
        { requestId: x.requestId, err: (err as Error)?.stack ?? String(err) },
        'Gateway call failed.',
      )
      e = new GatewayError('InternalError', 'We encountered an internal error.', 500)
    }
    if (x.call.protocol === 's3' && err instanceof ServiceError && !(err instanceof GatewayError))
      e = asGatewayError(fromAuthError(err, x.claimedKey))!
    const contentType = header(x.req.headers, 'content-type')
    const reply = errorReply(
      x.call.protocol,
      e,
      {
        requestId: x.requestId,
        hostId: x.hostId,
        service: x.call.service,
        ...(x.call.s3?.key !== undefined ? { key: x.call.s3.key } : {}),
        ...(contentType?.startsWith('application/x-amz-json')
          ? { jsonContentType: contentType }
          : {}),
      },
      x.method === 'HEAD',
    )
    await this.recordOnce(x, {
      status: e.status,
      errorCode: recordedCode(e.code),
      errorMessage: e.message,
    })
    const { res, req } = x
    if (res.headersSent || res.destroyed) return
    const body = Buffer.from(reply.body)
    const headers: Record<string, string> = {
      ...reply.headers,
      'content-length': String(body.length),
    }
    const unread = !x.bodyDone && !req.complete
    if (unread) headers['connection'] = 'close'
    res.writeHead(reply.status, headers)
    res.end(x.method === 'HEAD' ? undefined : body)
    if (unread) drain(req)
  }

  // ---- the event -----------------------------------------------------------------------------------

  private async recordOnce(x: Exchange, o: Outcome): Promise<void> {
    if (x.recorded) return
    x.recorded = true
    await this.deps.record(gatewayEvent(x, o, this.deps.identities.defaultAccountId ?? ''))
  }
}

/** `HOST:PORT`, `[v6]:PORT` or `PORT`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim())
  const port = Number(m ? m[3] : listen)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`A gateway listen address is HOST:PORT, not '${listen}'`)
  return { host: m ? (m[1] ?? m[2]) || '127.0.0.1' : '127.0.0.1', port }
}
