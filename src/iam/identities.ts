/**
 * @module iam/identities
 * Accounts, IAM users, access keys and roles, with their policies. Persisted in
 * `<data-dir>/iam.json` (mode 0600, atomic writes). Users declared in the config file are merged in
 * at start. Secrets never leave this module except through `secretFor` (used by SigV4 checks) and
 * the credentials file written once at bootstrap.
 *
 * The `opentrail user/key create` commands write the same file from another process. A running
 * server picks their changes up without a restart: a lookup of an unknown access key re-reads the
 * file when it was replaced (inode, size or mtime changed), checking at most once per second so that
 * key guessing cannot turn into a stat storm. Mutations re-read a replaced file before changing it.
 */
import { statSync, readFileSync, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import { newAccessKeyId, newAccountId, newSecretAccessKey, newUserId } from '../shared/ids.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { MANAGED_POLICIES } from './managed-policies.js'
import type { PolicyDocument } from './policy.js'

export interface AccessKey {
  accessKeyId: string
  secretAccessKey: string
  status: 'Active' | 'Inactive'
  createDate: string
}

/** A console password (scrypt hash, see iam/password.ts). */
export interface LoginProfile {
  passwordHash: string
  createDate: string
}

/** A virtual TOTP MFA device: its base32 secret. */
export interface MfaDevice {
  secret: string
  enableDate: string
}

export interface User {
  userName: string
  userId: string
  accountId: string
  /** Managed policy names or inline documents. */
  policies: (string | PolicyDocument)[]
  accessKeys: AccessKey[]
  createDate: string
  loginProfile?: LoginProfile
  mfa?: MfaDevice
}

export interface Role {
  roleName: string
  roleId: string
  accountId: string
  policies: (string | PolicyDocument)[]
}

export interface Account {
  accountId: string
  alias?: string
  /** The root user's console password; root cannot sign in without one. */
  rootLoginProfile?: LoginProfile
  rootMfa?: MfaDevice
}

export interface IamState {
  accounts: Account[]
  users: User[]
  roles: Role[]
}

/** The identity a request was made as, in the shape CloudTrail's userIdentity needs. */
export interface Principal {
  type: 'IAMUser' | 'AssumedRole' | 'Root' | 'Unknown'
  principalId: string
  arn: string
  accountId: string
  accessKeyId: string
  userName?: string
  /** Set for temporary session credentials (console sign-in). */
  session?: { creationDate: string; mfaAuthenticated: boolean; fromConsole: boolean }
}

/**
 * A temporary credential (ASIA...) of a console session, held in memory only: it acts as the
 * user (or the account's root when `userName` is absent) until removed.
 */
export interface SessionKey {
  accessKeyId: string
  secretAccessKey: string
  accountId: string
  userName?: string
  creationDate: string
  mfaAuthenticated: boolean
}

/** The least time between two checks of iam.json for changes made by another process. */
export const RELOAD_CHECK_INTERVAL_MS = 1000

const EMPTY_STATE = (): IamState => ({ accounts: [], users: [], roles: [] })
const stampOf = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`

export class IdentityStore {
  private byKey = new Map<string, { user: User; key: AccessKey }>()
  private readonly sessions = new Map<string, SessionKey>()
  /** What iam.json looked like when last read or written by this process. */
  private stamp: string | undefined
  private lastCheck = Number.NEGATIVE_INFINITY

  private constructor(
    private readonly file: string,
    private state: IamState,
    private readonly now: () => number,
  ) {
    this.reindex()
  }

  static async open(file: string, opts: { now?: () => number } = {}): Promise<IdentityStore> {
    const state = (await readJsonFile<IamState>(file)) ?? EMPTY_STATE()
    const store = new IdentityStore(file, state, opts.now ?? Date.now)
    store.stamp = await stat(file).then(stampOf, () => undefined)
    return store
  }

  private reindex(): void {
    this.byKey.clear()
    for (const user of this.state.users)
      for (const key of user.accessKeys) this.byKey.set(key.accessKeyId, { user, key })
  }

  /** Re-reads iam.json if another process replaced it. Returns whether the state changed. */
  private reloadIfChanged(): boolean {
    let stamp: string
    try {
      stamp = stampOf(statSync(this.file))
    } catch {
      return false
    }
    if (stamp === this.stamp) return false
    try {
      this.state = JSON.parse(readFileSync(this.file, 'utf8')) as IamState
    } catch {
      return false // a torn or unreadable file: keep what we have, try again later
    }
    this.stamp = stamp
    this.reindex()
    return true
  }

  /** An access key's entry; on a miss, re-reads a replaced iam.json at most once per second. */
  private find(accessKeyId: string): { user: User; key: AccessKey } | undefined {
    const found = this.byKey.get(accessKeyId)
    if (found) return found
    const now = this.now()
    if (now - this.lastCheck < RELOAD_CHECK_INTERVAL_MS) return undefined
    this.lastCheck = now
    return this.reloadIfChanged() ? this.byKey.get(accessKeyId) : undefined
  }

  private async save(): Promise<void> {
    this.reindex()
    await writeJsonFileAtomic(this.file, this.state, 0o600)
    this.stamp = await stat(this.file).then(stampOf, () => undefined)
  }

  get defaultAccountId(): string | undefined {
    return this.state.accounts[0]?.accountId
  }

  listUsers(accountId?: string): User[] {
    return this.state.users.filter((u) => !accountId || u.accountId === accountId)
  }

  getUser(accountId: string, userName: string): User | undefined {
    return this.state.users.find((u) => u.accountId === accountId && u.userName === userName)
  }

  async ensureAccount(accountId?: string): Promise<string> {
    this.reloadIfChanged()
    const id = accountId ?? this.state.accounts[0]?.accountId ?? newAccountId()
    if (!/^\d{12}$/.test(id))
      throw new Error(`ERR_IAM_ACCOUNT: account ID must be 12 digits, got '${id}'`)
    if (!this.state.accounts.some((a) => a.accountId === id)) {
      this.state.accounts.push({ accountId: id })
      await this.save()
    }
    return id
  }

  async createUser(
    accountId: string,
    userName: string,
    policies: (string | PolicyDocument)[],
  ): Promise<User> {
    this.reloadIfChanged()
    if (!/^[\w+=,.@-]{1,64}$/.test(userName))
      throw new Error(`ERR_IAM_USER_NAME: invalid user name '${userName}'`)
    if (this.getUser(accountId, userName))
      throw new Error(`ERR_IAM_USER_EXISTS: user '${userName}' already exists`)
    for (const p of policies) {
      if (typeof p === 'string' && !MANAGED_POLICIES[p])
        throw new Error(`ERR_IAM_POLICY: unknown managed policy '${p}'`)
    }
    await this.ensureAccount(accountId)
    const user: User = {
      userName,
      userId: newUserId(),
      accountId,
      policies,
      accessKeys: [],
      createDate: new Date().toISOString(),
    }
    this.state.users.push(user)
    await this.save()
    return user
  }

  /** Sets a user's policies, creating the user when it does not exist (config-file users). */
  async upsertUser(
    accountId: string,
    userName: string,
    policies: (string | PolicyDocument)[],
  ): Promise<User> {
    this.reloadIfChanged()
    const existing = this.getUser(accountId, userName)
    if (!existing) return this.createUser(accountId, userName, policies)
    existing.policies = policies
    await this.save()
    return existing
  }

  async createAccessKey(
    accountId: string,
    userName: string,
    given?: { accessKeyId: string; secretAccessKey: string },
  ): Promise<AccessKey> {
    this.reloadIfChanged()
    const user = this.getUser(accountId, userName)
    if (!user) throw new Error(`ERR_IAM_NO_USER: no user '${userName}' in account ${accountId}`)
    if (given && this.byKey.has(given.accessKeyId)) {
      const owner = this.byKey.get(given.accessKeyId)!
      if (owner.user !== user)
        throw new Error(
          `ERR_IAM_KEY_EXISTS: access key ${given.accessKeyId} belongs to another user`,
        )
      owner.key.secretAccessKey = given.secretAccessKey
      await this.save()
      return owner.key
    }
    const key: AccessKey = {
      accessKeyId: given?.accessKeyId ?? newAccessKeyId(),
      secretAccessKey: given?.secretAccessKey ?? newSecretAccessKey(),
      status: 'Active',
      createDate: new Date().toISOString(),
    }
    user.accessKeys.push(key)
    await this.save()
    return key
  }

  async setKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    this.reloadIfChanged()
    const found = this.byKey.get(accessKeyId)
    if (!found) throw new Error(`ERR_IAM_NO_KEY: no access key ${accessKeyId}`)
    found.key.status = status
    await this.save()
  }

  async upsertRole(
    accountId: string,
    roleName: string,
    roleId: string,
    policies: (string | PolicyDocument)[],
  ): Promise<void> {
    this.reloadIfChanged()
    const existing = this.state.roles.find(
      (r) => r.accountId === accountId && r.roleName === roleName,
    )
    if (existing) existing.policies = policies
    else this.state.roles.push({ accountId, roleName, roleId, policies })
    await this.save()
  }

  getAccount(accountId: string): Account | undefined {
    return this.state.accounts.find((a) => a.accountId === accountId)
  }

  /** An account by its 12-digit ID or its alias (what the sign-in page asks for). */
  findAccount(idOrAlias: string): Account | undefined {
    return this.state.accounts.find((a) => a.accountId === idOrAlias || a.alias === idOrAlias)
  }

  /** Sets (or with `undefined` removes) the console password of a user, or of root (no user). */
  async setLoginProfile(
    accountId: string,
    userName: string | undefined,
    passwordHash: string | undefined,
  ): Promise<void> {
    this.reloadIfChanged()
    const profile = passwordHash
      ? { passwordHash, createDate: new Date().toISOString() }
      : undefined
    if (userName === undefined) {
      const account = this.getAccount(accountId)
      if (!account) throw new Error(`ERR_IAM_ACCOUNT: no account ${accountId}`)
      account.rootLoginProfile = profile
    } else {
      const user = this.getUser(accountId, userName)
      if (!user) throw new Error(`ERR_IAM_NO_USER: no user '${userName}' in account ${accountId}`)
      user.loginProfile = profile
    }
    await this.save()
  }

  /** Sets (or with `undefined` removes) the TOTP MFA device of a user, or of root (no user). */
  async setMfa(
    accountId: string,
    userName: string | undefined,
    secret: string | undefined,
  ): Promise<void> {
    this.reloadIfChanged()
    const device = secret ? { secret, enableDate: new Date().toISOString() } : undefined
    if (userName === undefined) {
      const account = this.getAccount(accountId)
      if (!account) throw new Error(`ERR_IAM_ACCOUNT: no account ${accountId}`)
      account.rootMfa = device
    } else {
      const user = this.getUser(accountId, userName)
      if (!user) throw new Error(`ERR_IAM_NO_USER: no user '${userName}' in account ${accountId}`)
      user.mfa = device
    }
    await this.save()
  }

  /** Re-reads iam.json if another process (the CLI) replaced it; for sign-in checks. */
  refresh(): void {
    this.reloadIfChanged()
  }

  /** Registers a console session's temporary credential. */
  addSessionKey(key: SessionKey): void {
    this.sessions.set(key.accessKeyId, key)
  }

  removeSessionKey(accessKeyId: string): void {
    this.sessions.delete(accessKeyId)
  }

  /** A session key whose user still exists (a deleted user's sessions stop working). */
  private sessionFor(accessKeyId: string): SessionKey | undefined {
    const s = this.sessions.get(accessKeyId)
    if (!s) return undefined
    if (
      s.userName === undefined
        ? !this.getAccount(s.accountId)
        : !this.getUser(s.accountId, s.userName)
    )
      return undefined
    return s
  }

  /** The secret for an active key, or undefined when the key is unknown or inactive. */
  secretFor(accessKeyId: string): string | undefined {
    const session = this.sessionFor(accessKeyId)
    if (session) return session.secretAccessKey
    const found = this.find(accessKeyId)
    return found && found.key.status === 'Active' ? found.key.secretAccessKey : undefined
  }

  principalFor(accessKeyId: string): Principal | undefined {
    const session = this.sessionFor(accessKeyId)
    if (session) {
      const context = {
        creationDate: session.creationDate,
        mfaAuthenticated: session.mfaAuthenticated,
        fromConsole: true,
      }
      if (session.userName === undefined)
        return {
          type: 'Root',
          principalId: session.accountId,
          arn: `arn:aws:iam::${session.accountId}:root`,
          accountId: session.accountId,
          accessKeyId,
          session: context,
        }
      const user = this.getUser(session.accountId, session.userName)!
      return {
        type: 'IAMUser',
        principalId: user.userId,
        arn: `arn:aws:iam::${user.accountId}:user/${user.userName}`,
        accountId: user.accountId,
        accessKeyId,
        userName: user.userName,
        session: context,
      }
    }
    const found = this.find(accessKeyId)
    if (!found) return undefined
    const { user } = found
    return {
      type: 'IAMUser',
      principalId: user.userId,
      arn: `arn:aws:iam::${user.accountId}:user/${user.userName}`,
      accountId: user.accountId,
      accessKeyId,
      userName: user.userName,
    }
  }

  policiesFor(accessKeyId: string): PolicyDocument[] {
    const session = this.sessionFor(accessKeyId)
    // The root user may do anything in its account.
    if (session && session.userName === undefined) return [MANAGED_POLICIES['AdministratorAccess']!]
    const user = session
      ? this.getUser(session.accountId, session.userName!)
      : this.find(accessKeyId)?.user
    if (!user) return []
    return user.policies
      .map((p) => (typeof p === 'string' ? MANAGED_POLICIES[p]! : p))
      .filter(Boolean)
  }
}
