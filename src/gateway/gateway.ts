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
 */
import {
  createServer,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { readFile } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createHash, randomUUID } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import type { CloudTrailRecord } from '../events/record.js'
import type { Authorizer } from '../iam/authorizer.js'
import type { IdentityStore } from '../iam/identities.js'
import { evaluate } from '../iam/policy.js'
import {
  parseAuthorization,
  UnrecognizedClient,
  verifySignature,
  type IncomingSigned,
  type ParsedAuth,
} from '../protocol/sigv4.js'
import { fromAuthError, S3Error } from '../s3api/errors.js'
import {
  deleteObjectsKeys,
  documentParameters,
  s3HostId,
  s3RequestId,
  s3RequestParameters,
} from '../s3api/events.js'
import { payloadSpec, readSmallBody, signingKey, type ChunkSigning } from '../s3api/payload.js'
import type { Clock } from '../shared/clock.js'
import { ServiceError } from '../shared/errors.js'
import type { Logger } from '../telemetry/logger.js'
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
  jsonArnParameters,
  jsonCall,
  jsonRequestParameters,
  queryCall,
  queryRequestParameters,
  restCall,
  s3Call,
  type CallInfo,
} from './call.js'
import { errorReply, GatewayError, parseUpstreamError, recordedCode } from './errors.js'
import {
  Capture,
  gatewayEvent,
  header,
  s3ResponseElements,
  upstreamIds,
  type Exchange,
  type Outcome,
} from './exchange.js'
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

/** Error bodies (and the few success bodies the event needs) are kept up to this many bytes. */
const CAPTURE_LIMIT = 64 * 1024
/** How long to wait for the upstream's `100 Continue` before sending the body anyway. */
const CONTINUE_WAIT_MS = 1000
/** An upstream connection idle this long (no bytes either way) is given up. */
const UPSTREAM_IDLE_MS = 120_000
/** A request whose body is left unread is drained at most this long, then its socket closed. */
const DRAIN_MS = 10_000
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** Upstream response headers that belong to the hop, not to the response. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

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

function asGatewayError(err: unknown): GatewayError | undefined {
  if (err instanceof GatewayError) return err
  if (err instanceof S3Error) return new GatewayError(err.code, err.message, err.status, err.extra)
  if (err instanceof ServiceError) return new GatewayError(err.code, err.message, err.status)
  return undefined
}

export class RecordingGateway {
  private readonly upstream: Upstream
  private server!: Server
  private readonly active = new Set<Exchange>()
  url = ''

  private constructor(
    readonly settings: GatewaySettings,
    private readonly deps: GatewayDeps,
  ) {
    this.upstream = new Upstream(settings.upstream, settings.credentials)
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

  private signedView(x: Exchange, body: Uint8Array): IncomingSigned {
    return { method: x.method, path: x.rawPath, query: x.rawQuery, headers: x.req.headers, body }
  }

  private async handle(x: Exchange, expectContinue: boolean): Promise<void> {
    const { req } = x
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
        auth = parseAuthorization(this.signedView(x, new Uint8Array()))
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
      if (!x.call.s3 && x.call.eventName === 'UnknownOperation' && x.method === 'GET')
        x.call = { ...x.call, eventName: 'ListBuckets' }
    }
    if (authError) return this.reject(x, authError)
    const secret = this.deps.identities.secretFor(auth!.accessKeyId)
    if (!secret) return this.reject(x, UnrecognizedClient())

    // ---- the body: read whole (small calls) or planned as a stream (objects) ---------------
    const s3 = x.call.s3
    // The chunk-signing key is derived only for the calls that send signed chunks.
    let key: Buffer | undefined
    const signing: ChunkSigning = {
      seedSignature: auth!.signature,
      amzDate: auth!.amzDate,
      scope: `${auth!.date}/${auth!.region}/${auth!.service}/aws4_request`,
      get signingKey() {
        return (key ??= signingKey(secret, auth!.date, auth!.region, auth!.service))
      },
    }
    let body: Buffer | undefined
    let plan: StreamPlan | undefined
    let edits: HeaderEdits = {}
    let contentSha256: string | undefined
    try {
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
      await verifySignature(this.signedView(x, signedBody), auth!, secret, x.started)
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
      x.principal = this.deps.identities.principalFor(auth!.accessKeyId)

      // ---- what exactly: form bodies name the action; documents add parameters ---------------
      if (x.call.protocol === 'query') {
        const form = new URLSearchParams(x.rawQuery)
        if (body && body.length > 0 && x.method === 'POST')
          for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.append(k, v)
        x.call = queryCall(auth!.service, form)
        x.requestParameters = queryRequestParameters(form)
        x.resourceArns = arnParameters(form)
      } else if (x.call.protocol === 'json') {
        x.requestParameters = body ? jsonRequestParameters(body) : null
        x.resourceArns = body ? jsonArnParameters(body) : []
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

      // ---- authorize ---------------------------------------------------------------------------
      this.authorize(x)
    } catch (err) {
      return this.reject(x, err)
    }

    // ---- forward -------------------------------------------------------------------------------
    await this.forward(x, {
      body,
      plan,
      edits,
      contentSha256,
      expectContinue: expectContinue && !!plan,
    })
  }

  private authorize(x: Exchange): void {
    const principal = x.principal!
    const { call } = x
    if (call.protocol === 'rest')
      throw new GatewayError(
        'NotImplemented',
        `The gateway records S3 REST, AWS JSON and query-protocol calls; this ${call.service} request is none of those.`,
        501,
      )
    if (call.protocol === 's3') {
      const s3 = call.s3
      if (!s3)
        throw new GatewayError(
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          405,
          { Method: x.method, ResourceType: 'OBJECT' },
        )
      const denied = () => new GatewayError('AccessDenied', 'Access Denied', 403)
      const check = (action: string, resource: string) => {
        const decision = evaluate(
          this.deps.identities.policiesFor(principal.accessKeyId),
          action,
          resource,
        )
        if (decision !== 'Allow') throw denied()
      }
      const bucketArn = s3.bucket !== undefined ? `arn:aws:s3:::${s3.bucket}` : '*'
      if (s3.info.name === 'DeleteObjects') {
        for (const k of x.objectKeys ?? []) check('s3:DeleteObject', `${bucketArn}/${k}`)
        return
      }
      check(call.action, s3.key !== undefined ? `${bucketArn}/${s3.key}` : bucketArn)
      const source = header(x.req.headers, 'x-amz-copy-source')
      if (source && (s3.info.name === 'CopyObject' || s3.info.name === 'UploadPartCopy')) {
        const raw = source.split('?')[0]!.replace(/^\//, '')
        let decoded: string
        try {
          decoded = decodeURIComponent(raw)
        } catch {
          throw new GatewayError('InvalidArgument', 'Invalid copy source encoding', 400)
        }
        check('s3:GetObject', `arn:aws:s3:::${decoded}`)
      }
      return
    }
    if (!call.action)
      throw new ServiceError(
        'UnknownOperationException',
        'The gateway cannot tell which operation this request is.',
        400,
      )
    const arns = x.resourceArns?.length ? x.resourceArns : ['*']
    for (const arn of arns) {
      const denied = this.deps.authorizer.check(principal, call.action, arn)
      if (denied) throw denied
    }
  }

  // ---- upstream ----------------------------------------------------------------------------------

  private async forward(
    x: Exchange,
    out: {
      body?: Buffer
      plan?: StreamPlan
      edits: HeaderEdits
      contentSha256?: string
      expectContinue: boolean
    },
  ): Promise<void> {
    const { req, res } = x
    const isS3 = x.call.protocol === 's3'
    const lengthEdit = out.edits['content-length']
    const given = header(req.headers, 'content-length')
    let upReq: ClientRequest
    try {
      upReq = await this.upstream.open({
        method: x.method,
        path: x.rawPath,
        query: x.rawQuery,
        headers: req.headers,
        edits: out.edits,
        service: x.call.service,
        region: x.region,
        ...(isS3 && out.contentSha256 ? { contentSha256: out.contentSha256 } : {}),
        ...(out.body ? { body: out.body } : {}),
        ...(out.plan && (lengthEdit ?? given) !== undefined
          ? { contentLength: Number(lengthEdit ?? given) }
          : {}),
        expectContinue: out.expectContinue,
      })
    } catch (err) {
      return this.reject(x, err)
    }
    upReq.setTimeout(UPSTREAM_IDLE_MS, () =>
      upReq.destroy(Object.assign(new Error('upstream idle timeout'), { code: 'ETIMEDOUT' })),
    )
    upReq.on('error', () => undefined) // handled through the outcome below

    let bodyError: unknown
    let clientGone = false
    const outcome = await new Promise<{ res?: IncomingMessage; err?: unknown }>((resolve) => {
      let settled = false
      const settle = (v: { res?: IncomingMessage; err?: unknown }) => {
        if (settled) return
        settled = true
        resolve(v)
      }
      upReq.once('response', (r) => settle({ res: r }))
      upReq.once('error', (e) => settle({ err: bodyError ?? e }))
      res.once('close', () => {
        if (res.writableFinished) return
        clientGone = true
        upReq.destroy()
        settle({ err: bodyError ?? new ClientGone() })
      })
      if (!out.plan) {
        upReq.end(out.body)
        return
      }
      const plan = out.plan
      const send = () => {
        pipeline(plan.body(req), upReq).then(
          () => {
            x.bodyDone = true
          },
          (e: unknown) => {
            if (settled) return
            bodyError = req.destroyed && !req.complete ? new ClientGone(e) : e
            upReq.destroy()
            settle({ err: bodyError })
          },
        )
      }
      if (!out.expectContinue) return send()
      upReq.flushHeaders()
      let started = false
      const go = () => {
        if (started || settled) return
        started = true
        clearTimeout(timer)
        res.writeContinue()
        send()
      }
      const timer = setTimeout(go, CONTINUE_WAIT_MS)
      upReq.once('continue', go)
      upReq.once('response', () => clearTimeout(timer))
    })

    if (outcome.res) return this.relay(x, upReq, outcome.res)
    const err = outcome.err
    if (err instanceof ClientGone || clientGone) {
      const sent = x.bytesIn()
      return this.recordOnce(x, {
        status: 0,
        errorCode: x.bodyDone ? 'RequestAborted' : 'IncompleteBody',
        errorMessage: x.bodyDone
          ? 'The client closed the connection before the response; the upstream request was aborted.'
          : `The client closed the connection after ${sent} bytes of the request body; the upstream request was aborted.`,
      })
    }
    const mine = asGatewayError(err)
    if (mine) return this.reject(x, mine)
    const code = (err as { code?: string })?.code ?? 'Error'
    this.deps.logger.warn?.(
      { upstream: this.settings.upstream, err: String(err) },
      'Gateway upstream unavailable.',
    )
    return this.reject(
      x,
      new GatewayError(
        'ServiceUnavailable',
        `The gateway could not reach the upstream service (${code}). Please try again.`,
        503,
      ),
    )
  }

  /** Streams the upstream's response to the caller and records the call before its last piece. */
  private async relay(x: Exchange, upReq: ClientRequest, upRes: IncomingMessage): Promise<void> {
    const { res, req } = x
    const status = upRes.statusCode ?? 502
    const name = x.call.eventName
    const s3 = x.call.protocol === 's3'
    const mayHideError =
      s3 &&
      (name === 'CompleteMultipartUpload' || name === 'CopyObject' || name === 'UploadPartCopy')
    const capture =
      status >= 300 || mayHideError || (s3 && name === 'CreateMultipartUpload')
        ? new Capture(CAPTURE_LIMIT)
        : undefined
    const headers: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(upRes.headers))
      if (v !== undefined && !HOP_HEADERS.has(k)) headers[k] = v
    const unread = !x.bodyDone
    if (unread) headers['connection'] = 'close'
    res.writeHead(status, headers)
    let upstreamBroke = false
    upRes.once('error', () => (upstreamBroke = true))
    upRes.once('aborted', () => (upstreamBroke = true))

    const outcome = (): Outcome => {
      const o: Outcome = {
        status,
        headers: upRes.headers,
        ...upstreamIds(upRes.headers),
      }
      const kept = capture?.bytes() ?? Buffer.alloc(0)
      const hidden = status < 300 && mayHideError && /<Error>/.test(kept.toString('utf8'))
      if (status >= 400 || hidden) {
        const e = parseUpstreamError(status, upRes.headers, kept)
        o.errorCode = e.code
        o.errorMessage = e.message
      } else if (s3 && status < 300 && !x.call.readOnly) {
        o.responseElements = s3ResponseElements(x, upRes.headers, kept)
      }
      return o
    }

    const record = (o: Outcome) => this.recordOnce(x, o)
    const waitForRecord = this.settings.waitForRecord !== false
    const logger = this.deps.logger
    async function* relayed(): AsyncGenerator<Buffer> {
      let held: Buffer | undefined
      for await (const c of upRes as AsyncIterable<Buffer>) {
        x.bytesOut += c.length
        capture?.add(c)
        if (held) yield held
        held = c
      }
      if (waitForRecord) await record(outcome())
      else
        record(outcome()).catch((e: unknown) =>
          logger.error({ err: String(e) }, 'Recording a gateway call failed.'),
        )
      if (held) yield held
    }
    try {
      await pipeline(relayed(), res)
    } catch (err) {
      // Either the upstream broke off its response (recorded as an error), or the caller went
      // away during the download (the call itself happened and is recorded as it was answered).
      if (!x.recorded) {
        const o = outcome()
        if (upstreamBroke && !o.errorCode) {
          o.errorCode = 'ServiceUnavailable'
          o.errorMessage = `The upstream response was cut off after ${x.bytesOut} bytes.`
        }
        await this.recordOnce(x, o).catch((e: unknown) =>
          this.deps.logger.error({ err: String(e) }, 'Recording a gateway call failed.'),
        )
      } else this.deps.logger.debug?.({ err: String(err) }, 'Gateway response interrupted.')
      upReq.destroy()
      res.destroy()
    }
    if (unread) this.drain(req)
  }

  /** Reads and discards a body the upstream did not take, closing the socket if it takes long. */
  private drain(req: IncomingMessage): void {
    if (req.complete || req.destroyed) return
    const timer = setTimeout(() => req.socket?.destroy(), DRAIN_MS)
    timer.unref()
    req.once('end', () => clearTimeout(timer))
    req.once('close', () => clearTimeout(timer))
    req.resume()
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
    if (unread) this.drain(req)
  }

  // ---- the event -----------------------------------------------------------------------------------

  private async recordOnce(x: Exchange, o: Outcome): Promise<void> {
    if (x.recorded) return
    x.recorded = true
    await this.deps.record(gatewayEvent(x, o, this.deps.identities.defaultAccountId ?? ''))
  }
}

/** The client closed its connection. */
class ClientGone extends Error {
  constructor(cause?: unknown) {
    super('The client closed the connection.', { cause })
  }
}

function contentEncodingWithoutChunked(h: IncomingHttpHeaders): string | undefined {
  const rest = (header(h, 'content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s.toLowerCase() !== 'aws-chunked')
  return rest.length ? rest.join(',') : undefined
}

/** `HOST:PORT`, `[v6]:PORT` or `PORT`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim())
  const port = Number(m ? m[3] : listen)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`A gateway listen address is HOST:PORT, not '${listen}'`)
  return { host: m ? (m[1] ?? m[2]) || '127.0.0.1' : '127.0.0.1', port }
}
