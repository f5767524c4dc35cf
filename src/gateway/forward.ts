/**
 * @module gateway/forward
 * The upstream leg of a gateway call: the re-signed request with the caller's body (whole, or
 * streamed, honouring `Expect: 100-continue`), and the upstream's response streamed back with its
 * last piece held until the call is recorded (`waitForRecord`). Errors hidden in a 200 (S3's
 * CompleteMultipartUpload, copies), responses cut off and callers that go away are recorded as
 * such. A request body the upstream did not take is drained, within a bound.
 */
import type { ClientRequest, IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { Logger } from '../telemetry/logger.js'
import type { HeaderEdits, StreamPlan } from './body.js'
import { asGatewayError, GatewayError, parseUpstreamError } from './errors.js'
import {
  Capture,
  header,
  s3ResponseElements,
  upstreamIds,
  type Exchange,
  type Outcome,
} from './exchange.js'
import type { Upstream } from './upstream.js'

/** What the upstream leg needs from the gateway. */
export interface ForwardContext {
  upstream: Upstream
  /** The upstream as configured (for logs). */
  upstreamUrl: string
  /** Hold back the end of each response until its event is recorded. */
  waitForRecord: boolean
  logger: Logger
  /** Answers with the gateway's own error (and records the call). */
  reject(x: Exchange, err: unknown): Promise<void>
  /** Records the call, once. */
  record(x: Exchange, o: Outcome): Promise<void>
}

/** Error bodies (and the few success bodies the event needs) are kept up to this many bytes. */
const CAPTURE_LIMIT = 64 * 1024
/** How long to wait for the upstream's `100 Continue` before sending the body anyway. */
const CONTINUE_WAIT_MS = 1000
/** An upstream connection idle this long (no bytes either way) is given up. */
export const UPSTREAM_IDLE_MS = 120_000
/** A request whose body is left unread is drained at most this long, then its socket closed. */
const DRAIN_MS = 10_000

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

/**
 * Sends the call upstream (re-signed; the body whole, or streamed after a `100 Continue`) and
 * relays the answer; a caller that goes away, or an upstream that cannot be reached, is recorded.
 */
export async function forward(
  c: ForwardContext,
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
    upReq = await c.upstream.open({
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
    return c.reject(x, err)
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

  if (outcome.res) return relay(c, x, upReq, outcome.res)
  const err = outcome.err
  if (err instanceof ClientGone || clientGone) {
    const sent = x.bytesIn()
    return c.record(x, {
      status: 0,
      errorCode: x.bodyDone ? 'RequestAborted' : 'IncompleteBody',
      errorMessage: x.bodyDone
        ? 'The client closed the connection before the response; the upstream request was aborted.'
        : `The client closed the connection after ${sent} bytes of the request body; the upstream request was aborted.`,
    })
  }
  const mine = asGatewayError(err)
  if (mine) return c.reject(x, mine)
  const code = (err as { code?: string })?.code ?? 'Error'
  c.logger.warn?.({ upstream: c.upstreamUrl, err: String(err) }, 'Gateway upstream unavailable.')
  return c.reject(
    x,
    new GatewayError(
      'ServiceUnavailable',
      `The gateway could not reach the upstream service (${code}). Please try again.`,
      503,
    ),
  )
}

/** Streams the upstream's response to the caller and records the call before its last piece. */
async function relay(
  c: ForwardContext,
  x: Exchange,
  upReq: ClientRequest,
  upRes: IncomingMessage,
): Promise<void> {
  const { res, req } = x
  const status = upRes.statusCode ?? 502
  const name = x.call.eventName
  const s3 = x.call.protocol === 's3'
  const mayHideError =
    s3 && (name === 'CompleteMultipartUpload' || name === 'CopyObject' || name === 'UploadPartCopy')
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

  const record = (o: Outcome) => c.record(x, o)
  const waitForRecord = c.waitForRecord
  const logger = c.logger
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
      await c
        .record(x, o)
        .catch((e: unknown) =>
          c.logger.error({ err: String(e) }, 'Recording a gateway call failed.'),
        )
    } else c.logger.debug?.({ err: String(err) }, 'Gateway response interrupted.')
    upReq.destroy()
    res.destroy()
  }
  if (unread) drain(req)
}

/** Reads and discards a body the upstream did not take, closing the socket if it takes long. */
export function drain(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return
  const timer = setTimeout(() => req.socket?.destroy(), DRAIN_MS)
  timer.unref()
  req.once('end', () => clearTimeout(timer))
  req.once('close', () => clearTimeout(timer))
  req.resume()
}

/** The client closed its connection. */
class ClientGone extends Error {
  constructor(cause?: unknown) {
    super('The client closed the connection.', { cause })
  }
}
