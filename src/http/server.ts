/**
 * @module http/server
 * The HTTP listener. Node's own `http` module: the API is one POST route whose body must be read
 * raw for SigV4, so a framework would add only overhead. `/health` answers unauthenticated.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { S3ApiHandler } from '../s3api/handler.js'
import type { ApiHandler } from './api.js'

export const MAX_BODY_BYTES = 2 * 1024 * 1024

export interface HttpDeps {
  api: ApiHandler
  health: () => unknown
  /** The S3 REST protocol: every request that is not `POST /` (JSON API) or `/health`. */
  s3?: S3ApiHandler
  /** The web console (`/console/`): unsigned browser requests, see console/http.ts. */
  console?: {
    handles(req: IncomingMessage): boolean
    handle(req: IncomingMessage, res: ServerResponse): Promise<void>
  }
  /** REST-JSON endpoints of other services on this listener (cloudtrail-data's PutAuditEvents). */
  rest?: {
    matches(req: IncomingMessage): boolean
    handle(
      req: IncomingMessage,
      body: Buffer | 'too-large',
    ): Promise<{ status: number; headers: Record<string, string>; body: string }>
  }[]
  /** `GET /metrics`: Prometheus text format; the handler decides who may read it. */
  metrics?: (req: IncomingMessage) => {
    status: number
    headers: Record<string, string>
    body: string
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) over = true
      else chunks.push(c)
    })
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req, res) => {
    void route(deps, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(
          JSON.stringify({ __type: 'InternalFailure', message: String((err as Error).message) }),
        )
      } else res.destroy()
    })
  })
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method === 'GET' && path === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(deps.health()))
    return
  }
  if (deps.console?.handles(req)) {
    await deps.console.handle(req, res)
    return
  }
  if (req.method === 'GET' && path === '/metrics' && deps.metrics) {
    const out = deps.metrics(req)
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) })
    res.end(out.body)
    return
  }
  if (req.method === 'POST' && path === '/') {
    const body = await readBody(req, MAX_BODY_BYTES)
    const out =
      body === 'too-large'
        ? await deps.api.handleTooLarge(req, MAX_BODY_BYTES)
        : await deps.api.handle(req, body)
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) })
    res.end(out.body)
    return
  }
  const rest = deps.rest?.find((r) => r.matches(req))
  if (rest) {
    const out = await rest.handle(req, await readBody(req, MAX_BODY_BYTES))
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) })
    res.end(out.body)
    return
  }
  if (deps.s3) {
    await deps.s3.handle(req, res)
    return
  }
  res.writeHead(404, { 'content-type': 'application/json' })
  res.end(
    JSON.stringify({
      __type: 'UnknownOperationException',
      message: `No route for ${req.method} ${path}`,
    }),
  )
}
