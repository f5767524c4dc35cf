/**
 * @module iam/bootstrap
 * First start: create the account and the administrator with an access key, written to
 * `<data-dir>/credentials` (AWS shared-credentials format, profile `opentrail`, mode 0600). Then
 * merge the users, keys and roles the config file declares.
 */
import { join } from 'node:path'
import type { Config } from '../config/schema.js'
import { newRoleId } from '../shared/ids.js'
import { writeFileAtomic } from '../shared/json-file.js'
import type { Logger } from '../telemetry/logger.js'
import { IdentityStore } from './identities.js'
import { generatePassword, hashPassword } from './password.js'
import { checkPolicy } from './policy.js'

export const ADMIN_USER = 'admin'
export const PROFILE = 'opentrail'
/** The administrator's first web console password, in the data directory (mode 0600). */
export const CONSOLE_PASSWORD_FILE = 'console-password'

export async function bootstrapIdentities(
  config: Config,
  dataDir: string,
  logger: Logger,
): Promise<IdentityStore> {
  const store = await IdentityStore.open(join(dataDir, 'iam.json'))
  const firstAccount = config.accounts[0]?.accountId
  const accountId = await store.ensureAccount(store.defaultAccountId ?? firstAccount)
  if (!store.getUser(accountId, ADMIN_USER)) {
    await store.createUser(accountId, ADMIN_USER, ['AdministratorAccess'])
    const key = await store.createAccessKey(accountId, ADMIN_USER)
    const file = join(dataDir, 'credentials')
    await writeFileAtomic(
      file,
      `[${PROFILE}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\nregion = ${config.region}\n`,
      0o600,
    )
    logger.info(
      { accountId, user: ADMIN_USER, credentialsFile: file },
      'Created the administrator; its access key is in the credentials file.',
    )
  }
  // The administrator's first console password (also for data directories made before the console).
  const admin = store.getUser(accountId, ADMIN_USER)
  if (admin && !admin.loginProfile) {
    const password = generatePassword()
    await store.setLoginProfile(accountId, ADMIN_USER, await hashPassword(password))
    const file = join(dataDir, CONSOLE_PASSWORD_FILE)
    await writeFileAtomic(file, `${password}\n`, 0o600)
    logger.info(
      { accountId, user: ADMIN_USER, passwordFile: file },
      'The administrator can sign in to the web console with the password in this file.',
    )
  }
  for (const acct of config.accounts) {
    await store.ensureAccount(acct.accountId)
    for (const u of acct.users) {
      for (const p of u.policies) {
        const problem = typeof p === 'string' ? undefined : checkPolicy(p)
        if (problem) throw new Error(`ERR_CONFIG_INVALID: user ${u.name}: ${problem}`)
      }
      await store.upsertUser(acct.accountId, u.name, u.policies)
      for (const k of u.accessKeys) await store.createAccessKey(acct.accountId, u.name, k)
    }
    for (const r of acct.roles)
      await store.upsertRole(acct.accountId, r.name, newRoleId(), r.policies)
  }
  return store
}
