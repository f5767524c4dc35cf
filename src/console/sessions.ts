/**
 * @module console/sessions
 * Web console sessions, in memory (a restart signs everyone out). A session is an HttpOnly,
 * SameSite=Strict cookie holding a random 256-bit ID, a CSRF token the page sends back in the
 * `X-CSRF-Token` header, an absolute lifetime (12 h, as AWS's console) and an idle timeout
 * (1 h). Each session owns a temporary credential (ASIA...) registered with the identity store, so
 * calls made through it are authorized as the signed-in user and recorded with its
 * `sessionContext` and `sessionCredentialFromConsole: "true"`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { IdentityStore } from '../iam/identities.js'
import type { Clock } from '../shared/clock.js'
import { newSecretAccessKey } from '../shared/ids.js'

export const SESSION_COOKIE = 'opentrail-console'
export const CSRF_HEADER = 'x-csrf-token'

export interface ConsoleSession {
  csrfToken: string
  accountId: string
  /** Absent for the account's root user. */
  userName?: string
  accessKeyId: string
  secretAccessKey: string
  mfaAuthenticated: boolean
  createdAt: number
  lastSeen: number
  expiresAt: number
}

export interface SessionOptions {
  /** Absolute lifetime, ms (default 12 h). */
  ttlMs?: number
  /** Idle timeout, ms (default 1 h). */
  idleMs?: number
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
/** A temporary access key ID, ASIA + 16 base32 characters, like AWS's session credentials. */
export const newSessionKeyId = (): string =>
  'ASIA' + [...randomBytes(16)].map((b) => B32[b % 32]).join('')

const digest = (id: string) => createHash('sha256').update(id).digest('hex')

/** The value of one cookie in a Cookie header. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export type SessionLookup =
  { status: 'none' } | { status: 'expired' } | { status: 'ok'; id: string; session: ConsoleSession }

export class SessionStore {
  /** By SHA-256 of the cookie value, so the map never holds a usable session ID. */
  private readonly sessions = new Map<string, ConsoleSession>()
  readonly ttlMs: number
  readonly idleMs: number

  constructor(
    private readonly identities: IdentityStore,
    private readonly clock: Clock,
    opts: SessionOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 12 * 3_600_000
    this.idleMs = opts.idleMs ?? 3_600_000
  }

  get size(): number {
    return this.sessions.size
  }

  /** Starts a session; returns the cookie value (shown to nobody else) and the session. */
  create(
    accountId: string,
    userName: string | undefined,
    mfaAuthenticated: boolean,
  ): { id: string; session: ConsoleSession } {
    this.sweep()
    const now = this.clock.now().getTime()
    const id = randomBytes(32).toString('base64url')
    const session: ConsoleSession = {
      csrfToken: randomBytes(32).toString('base64url'),
      accountId,
      ...(userName !== undefined ? { userName } : {}),
      accessKeyId: newSessionKeyId(),
      secretAccessKey: newSecretAccessKey(),
      mfaAuthenticated,
      createdAt: now,
      lastSeen: now,
      expiresAt: now + this.ttlMs,
    }
    this.identities.addSessionKey({
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      accountId,
      ...(userName !== undefined ? { userName } : {}),
      creationDate: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      mfaAuthenticated,
    })
    this.sessions.set(digest(id), session)
    return { id, session }
  }

  /** The request's session; an expired one is ended. Touches `lastSeen`. */
  lookup(req: IncomingMessage): SessionLookup {
    const id = cookieValue(req, SESSION_COOKIE)
    if (!id) return { status: 'none' }
    const key = digest(id)
    const session = this.sessions.get(key)
    if (!session) return { status: 'expired' }
    const now = this.clock.now().getTime()
    if (now >= session.expiresAt || now - session.lastSeen >= this.idleMs) {
      this.end(key)
      return { status: 'expired' }
    }
    // A deleted user's (or account's) session ends with it.
    if (!this.identities.principalFor(session.accessKeyId)) {
      this.end(key)
      return { status: 'expired' }
    }
    session.lastSeen = now
    return { status: 'ok', id, session }
  }

  /** Whether the request's CSRF header matches the session's token. */
  csrfOk(req: IncomingMessage, session: ConsoleSession): boolean {
    const v = req.headers[CSRF_HEADER]
    return typeof v === 'string' && safeEqual(v, session.csrfToken)
  }

  destroy(id: string): void {
    this.end(digest(id))
  }

  private end(key: string): void {
    const s = this.sessions.get(key)
    if (!s) return
    this.sessions.delete(key)
    this.identities.removeSessionKey(s.accessKeyId)
  }

  /** Ends expired and idle sessions. */
  sweep(): void {
    const now = this.clock.now().getTime()
    for (const [key, s] of this.sessions)
      if (now >= s.expiresAt || now - s.lastSeen >= this.idleMs) this.end(key)
  }
}
