/** @module cli/identity-store  Opens the data directory's identity store for the user/key commands. */
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { IdentityStore } from '../iam/identities.js'
import { CliError } from './output.js'

export async function openIdentityStore(dataDir: string): Promise<IdentityStore> {
  const file = join(dataDir, 'iam.json')
  try {
    await access(file)
  } catch {
    throw new CliError(
      `No OpenTrail identity store at ${file}. Start the server once with this data directory ` +
        `(opentrail serve --data-dir ${dataDir}) or pass --data-dir / OPENTRAIL_DATA_DIR.`,
    )
  }
  return IdentityStore.open(file)
}

/** The account a command acts on: --account, else the data directory's first account. */
export function accountFor(store: IdentityStore, flag: string | undefined): string {
  const accountId = flag ?? store.defaultAccountId
  if (!accountId) throw new CliError('The identity store has no account; pass --account ID.')
  if (!/^\d{12}$/.test(accountId))
    throw new CliError(`Account IDs are 12 digits (got '${accountId}').`)
  return accountId
}
