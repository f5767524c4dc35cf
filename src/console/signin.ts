/**
 * @module console/signin
 * Console sign-in: an IAM user (account ID or alias, user name, password) or the account's root
 * user (account, password), then a TOTP code when the identity has an MFA device. Every completed
 * attempt is recorded as AWS records it: an `AwsConsoleSignIn` event named `ConsoleLogin` from
 * `signin.amazonaws.com`, `responseElements.ConsoleLogin` Success or Failure, `errorMessage`
 * "Failed authentication" on failure, `additionalEventData.MFAUsed` Yes or No. An unknown user
 * name is recorded as `HIDDEN_DUE_TO_SECURITY_REASONS` (it is often a password typed in the wrong
 * box). After 5 failures in 15 minutes an identity is locked for the rest of that window.
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { eventTimeString, type CloudTrailRecord, type UserIdentity } from '../events/record.js'
import type { IdentityStore, LoginProfile, MfaDevice } from '../iam/identities.js'
import { verifyPassword, verifyTotp } from '../iam/password.js'
import type { Clock } from '../shared/clock.js'
import { newEventId } from '../shared/ids.js'
import type { ConsoleSession, SessionStore } from './sessions.js'

export interface SignInInput {
  /** 12-digit account ID or alias; default: the data directory's first account. */
  account?: string
  /** The IAM user; absent (with `root`) for the root user. */
  userName?: string
  root?: boolean
  password: string
  mfaCode?: string
}

export type SignInResult =
  | { outcome: 'success'; id: string; session: ConsoleSession }
  | { outcome: 'mfa-required' }
  | { outcome: 'failure'; message: string }

export const HIDDEN_USER = 'HIDDEN_DUE_TO_SECURITY_REASONS'
const FAILED = 'Failed authentication'
const LOCK_WINDOW_MS = 15 * 60_000
const LOCK_FAILURES = 5
// Checked when there is no real hash, so that an unknown user costs the same time as a known one.
const DUMMY_HASH = `scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`

export interface SignInDeps {
  identities: IdentityStore
  sessions: SessionStore
  record: (event: CloudTrailRecord) => Promise<void>
  clock: Clock
  region: string
}

export class SignInService {
  private readonly failures = new Map<string, number[]>()

  constructor(private readonly deps: SignInDeps) {}

  async signIn(input: SignInInput, req: IncomingMessage): Promise<SignInResult> {
    const { identities, clock } = this.deps
    identities.refresh()
    const now = clock.now()
    const account = input.account?.trim()
      ? identities.findAccount(input.account.trim())
      : identities.findAccount(identities.defaultAccountId ?? '')
    const accountId = account?.accountId ?? identities.defaultAccountId ?? ''
    const root = Boolean(input.root)
    const user =
      account && !root && input.userName ? identities.getUser(accountId, input.userName) : undefined
    let profile: LoginProfile | undefined
    let mfa: MfaDevice | undefined
    if (account && root) {
      profile = account.rootLoginProfile
      mfa = account.rootMfa
    } else if (user) {
      profile = user.loginProfile
      mfa = user.mfa
    }
    const identity: UserIdentity = root
      ? {
          type: 'Root',
          principalId: accountId,
          arn: `arn:aws:iam::${accountId}:root`,
          accountId,
          accessKeyId: '',
        }
      : user
        ? {
            type: 'IAMUser',
            principalId: user.userId,
            arn: `arn:aws:iam::${accountId}:user/${user.userName}`,
            accountId,
            accessKeyId: '',
            userName: user.userName,
          }
        : { type: 'IAMUser', accountId, accessKeyId: '', userName: HIDDEN_USER }
    const lockKey = `${accountId}/${root ? ':root' : (input.userName ?? '')}`
    const locked = this.recentFailures(lockKey, now.getTime()) >= LOCK_FAILURES

    const passwordOk = await verifyPassword(
      typeof input.password === 'string' ? input.password : '',
      profile?.passwordHash ?? DUMMY_HASH,
    )
    const fail = async (
      mfaUsed: boolean,
      message = 'Your authentication information is incorrect.',
    ) => {
      this.noteFailure(lockKey, now.getTime())
      await this.record(req, identity, accountId, false, mfaUsed, mfa, now)
      return { outcome: 'failure', message } as const
    }
    if (locked)
      return fail(false, 'Too many failed sign-in attempts. Wait 15 minutes and try again.')
    if (!profile || !passwordOk) return fail(false)
    if (mfa) {
      if (!input.mfaCode) return { outcome: 'mfa-required' }
      if (!verifyTotp(mfa.secret, input.mfaCode, now.getTime()))
        return fail(true, 'The MFA code is not valid.')
    }
    this.failures.delete(lockKey)
    const { id, session } = this.deps.sessions.create(
      accountId,
      root ? undefined : user!.userName,
      Boolean(mfa),
    )
    await this.record(req, identity, accountId, true, Boolean(mfa), mfa, now)
    return { outcome: 'success', id, session }
  }

  private recentFailures(key: string, now: number): number {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < LOCK_WINDOW_MS)
    if (list.length) this.failures.set(key, list)
    else this.failures.delete(key)
    return list.length
  }

  private noteFailure(key: string, now: number): void {
    const list = this.failures.get(key) ?? []
    list.push(now)
    this.failures.set(key, list)
    // Bounded memory under a spray of user names: forget the oldest keys.
    if (this.failures.size > 10_000) {
      const first = this.failures.keys().next().value
      if (first !== undefined) this.failures.delete(first)
    }
  }

  private async record(
    req: IncomingMessage,
    userIdentity: UserIdentity,
    accountId: string,
    success: boolean,
    mfaUsed: boolean,
    mfa: MfaDevice | undefined,
    now: Date,
  ): Promise<void> {
    const host = header(req, 'host')
    const tls = (req.socket as TLSSocket).encrypted
    const event: CloudTrailRecord = {
      eventVersion: '1.11',
      userIdentity,
      eventTime: eventTimeString(now),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: this.deps.region,
      sourceIPAddress: sourceIp(req),
      userAgent: header(req, 'user-agent') ?? '',
      ...(success ? {} : { errorMessage: FAILED }),
      requestParameters: null,
      responseElements: { ConsoleLogin: success ? 'Success' : 'Failure' },
      additionalEventData: {
        LoginTo: `${tls ? 'https' : 'http'}://${host ?? 'localhost'}/console/`,
        MobileVersion: 'No',
        ...(mfa && mfaUsed
          ? {
              MFAIdentifier:
                userIdentity.type === 'Root'
                  ? `arn:aws:iam::${accountId}:mfa/root-account-mfa-device`
                  : `arn:aws:iam::${accountId}:mfa/${String(userIdentity.userName)}`,
            }
          : {}),
        MFAUsed: mfaUsed ? 'Yes' : 'No',
      },
      eventID: newEventId(),
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
      ...(host ? { tlsDetails: { clientProvidedHostHeader: host } } : {}),
    }
    await this.deps.record(event)
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function sourceIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip
}
