/**
 * @module console/http
 * The web console's server side, under `/console/`: the built front end (static files), sign-in,
 * sign-out and the session, and the bridges from the page to OpenTrail's own APIs. The page calls
 * the JSON API itself (`POST /` with `X-Amz-Target`, the session cookie and `X-CSRF-Token`, which
 * `http/api.ts` accepts through `authenticate`). S3 reads (the delivered-files browser) go through
 * `/console/api/s3/...`: the request is signed with the session's temporary credential and handed
 * to the S3 API handler as it is, so it is authorized and recorded like any S3 call.
 *
 * Requests that carry SigV4 (an Authorization header or a presigned query) never reach the
 * console, so a bucket named `console` stays reachable through the S3 API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { SignatureV4 } from '@smithy/signature-v4'
import { HttpRequest } from '@smithy/protocol-http'
import { Hash } from '@smithy/hash-node'
import type { SessionAuthenticator } from '../http/api.js'
import type { IdentityStore } from '../iam/identities.js'
import type { Clock } from '../shared/clock.js'
import { ServiceError } from '../shared/errors.js'
import type { Logger } from '../telemetry/logger.js'
import { SESSION_COOKIE, type ConsoleSession, type SessionStore } from './sessions.js'
import type { SignInService } from './signin.js'
import { StaticFiles } from './static.js'
import { validateTrail } from './validate.js'

export interface ConsoleDeps {
  sessions: SessionStore
  signIn: SignInService
  identities: IdentityStore
  clock: Clock
  logger: Logger
  region: string
  /** The S3 REST handler, for the delivered-files browser. */
  s3?: { handle(req: IncomingMessage, res: ServerResponse): Promise<void> }
  /** The server's own URL (known once it listens), for validation through the public APIs. */
  selfUrl: () => string
  /** Folder of the built front end; default `web/dist` in this checkout. */
  staticDir?: string
}

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/
const MAX_JSON = 16 * 1024

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
}

export class ConsoleHandler implements SessionAuthenticator {
  private readonly files: StaticFiles

  constructor(private readonly deps: ConsoleDeps) {
    this.files = new StaticFiles(
      deps.staticDir ?? new URL('../../web/dist/', import.meta.url).pathname,
    )
  }

  /** Whether a request is the console's: under /console, unsigned; or a browser opening `/`. */
  handles(req: IncomingMessage): boolean {
    if (req.headers.authorization !== undefined) return false
    const url = req.url ?? '/'
    const path = url.split('?')[0]!
    if (url.includes('X-Amz-Signature=')) return false
    if (path === '/console' || path.startsWith('/console/')) return true
    return (
      req.method === 'GET' && path === '/' && /text\/html/.test(String(req.headers.accept ?? ''))
    )
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const path = url.split('?')[0]!
    if (path === '/' || path === '/console') return redirect(res, '/console/')
    if (path.startsWith('/console/api/')) return this.api(req, res, path.slice(13))
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { message: 'GET only' })
    await this.files.serve(
      req,
      res,
      decodeURIComponent(path.slice('/console/'.length)),
      SECURITY_HEADERS,
    )
  }

  /** SessionAuthenticator for the JSON API: the session cookie plus a matching CSRF header. */
  authenticate(req: IncomingMessage) {
    const found = this.deps.sessions.lookup(req)
    if (found.status === 'none') return undefined
    if (found.status === 'expired')
      throw new ServiceError(
        'ExpiredTokenException',
        'The console session has expired or was signed out. Sign in again.',
        403,
      )
    if (!this.deps.sessions.csrfOk(req, found.session))
      throw new ServiceError(
        'AccessDeniedException',
        'The console request has no valid CSRF token (X-CSRF-Token).',
        403,
      )
    const principal = this.deps.identities.principalFor(found.session.accessKeyId)!
    const wanted = req.headers['x-opentrail-region']
    const region = typeof wanted === 'string' && REGION_RE.test(wanted) ? wanted : undefined
    return { principal, ...(region ? { region } : {}) }
  }

  private async api(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    if (route === 'signin' && req.method === 'POST') return this.signin(req, res)
    const found = this.deps.sessions.lookup(req)
    if (route === 'session' && req.method === 'GET') {
      if (found.status !== 'ok') return json(res, 401, { message: 'Not signed in.' })
      return json(res, 200, this.describe(found.session))
    }
    if (found.status !== 'ok')
      return json(res, 401, { message: 'Not signed in, or the session has expired.' })
    if (!this.deps.sessions.csrfOk(req, found.session))
      return json(res, 403, { message: 'Missing or invalid CSRF token.' })
    if (route === 'signout' && req.method === 'POST') {
      this.deps.sessions.destroy(found.id)
      res.setHeader(
        'set-cookie',
        `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
      )
      return json(res, 200, { signedOut: true })
    }
    if (route.startsWith('s3/')) {
      // Reads, and CreateBucket (the trail wizard's "new bucket"): no body, no sub-resource.
      const createBucket =
        req.method === 'PUT' &&
        /^s3\/[^/]+$/.test(route) &&
        !(req.url ?? '').includes('?') &&
        Number(req.headers['content-length'] ?? 0) === 0
      if (req.method === 'GET' || req.method === 'HEAD' || createBucket)
        return this.s3(req, res, found.session)
    }
    if (route === 'validate' && req.method === 'POST') {
      const body = await readJson(req)
      if (!body) return json(res, 400, { message: 'Expected a JSON body.' })
      try {
        const result = await validateTrail(body, {
          endpoint: this.deps.selfUrl(),
          region: this.deps.region,
          credentials: {
            accessKeyId: found.session.accessKeyId,
            secretAccessKey: found.session.secretAccessKey,
          },
        })
        return json(res, 200, result)
      } catch (err) {
        return json(res, 400, { message: (err as Error).message })
      }
    }
    return json(res, 404, { message: `No console route ${req.method} /console/api/${route}` })
  }

  private describe(s: ConsoleSession) {
    const root = s.userName === undefined
    return {
      accountId: s.accountId,
      userName: root ? 'root' : s.userName,
      arn: root
        ? `arn:aws:iam::${s.accountId}:root`
        : `arn:aws:iam::${s.accountId}:user/${s.userName}`,
      type: root ? 'Root' : 'IAMUser',
      mfaAuthenticated: s.mfaAuthenticated,
      csrfToken: s.csrfToken,
      expiresAt: new Date(s.expiresAt).toISOString(),
      region: this.deps.region,
    }
  }

  private async signin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only JSON: an HTML form on another site cannot send it without a CORS preflight, so no page
    // elsewhere can sign a visitor in to an account of its choosing (login CSRF).
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? '')))
      return json(res, 415, {
        message: 'Sign-in takes a JSON body (Content-Type: application/json).',
      })
    const body = await readJson(req)
    if (!body || typeof body['password'] !== 'string')
      return json(res, 400, { message: 'Expected JSON with account, userName and password.' })
    const str = (k: string) => (typeof body[k] === 'string' ? body[k] : undefined)
    const result = await this.deps.signIn.signIn(
      {
        account: str('account'),
        userName: str('userName'),
        root: body['root'] === true,
        password: body['password'],
        mfaCode: str('mfaCode'),
      },
      req,
    )
    if (result.outcome === 'mfa-required') return json(res, 200, { mfaRequired: true })
    if (result.outcome === 'failure') return json(res, 401, { message: result.message })
    const secure = (req.socket as TLSSocket).encrypted ? '; Secure' : ''
    res.setHeader(
      'set-cookie',
      `${SESSION_COOKIE}=${result.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(
        this.deps.sessions.ttlMs / 1000,
      )}${secure}`,
    )
    return json(res, 200, this.describe(result.session))
  }

  /** `/console/api/s3/<bucket>[/<key>]?<query>`: signed as the session and sent to the S3 API. */
  private async s3(req: IncomingMessage, res: ServerResponse, s: ConsoleSession): Promise<void> {
    if (!this.deps.s3) return json(res, 404, { message: 'The S3 API is not served.' })
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = '/' + (q >= 0 ? url.slice(0, q) : url).slice('/console/api/s3/'.length)
    const query = q >= 0 ? url.slice(q + 1) : ''
    const host = String(req.headers.host ?? 'localhost')
    const signer = new SignatureV4({
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      region: this.deps.region,
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: false,
    })
    const params: Record<string, string | string[]> = {}
    for (const [k, v] of new URLSearchParams(query)) {
      const prev = params[k]
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
    }
    const signed = await signer.sign(
      new HttpRequest({
        method: req.method ?? 'GET',
        protocol: 'http:',
        hostname: host,
        path,
        query: params,
        headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      }),
      { signingDate: this.deps.clock.now() },
    )
    delete req.headers.cookie
    delete req.headers[`x-csrf-token`]
    for (const [k, v] of Object.entries(signed.headers)) req.headers[k.toLowerCase()] = v
    req.url = path + (query ? `?${query}` : '')
    await this.deps.s3.handle(req, res)
  }
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(302, { location: to, 'content-length': 0 })
  res.end()
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > MAX_JSON) return undefined
    chunks.push(c)
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    return v && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
