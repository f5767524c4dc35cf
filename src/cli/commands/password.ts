/**
 * @module cli/commands/password
 * `opentrail user password NAME` and `opentrail user mfa NAME`: web console passwords and TOTP
 * MFA devices in the data directory's identity store (a running server sees them at the next
 * sign-in). `--root` acts on the account's root user.
 */
import type { Command } from 'commander'
import {
  generatePassword,
  hashPassword,
  newTotpSecret,
  passwordProblem,
  totpUri,
} from '../../iam/password.js'
import { addDataDirOption, resolveDataDir } from '../connection.js'
import { accountFor, openIdentityStore } from '../identity-store.js'
import { CliError, run } from '../output.js'
import { iam } from './user.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

interface Target {
  name?: string
  root?: boolean
  account?: string
  dataDir?: string
}

async function target(opts: Target) {
  if (!opts.root && !opts.name) throw new CliError('Name a user, or pass --root.')
  if (opts.root && opts.name) throw new CliError('Pass either a user name or --root, not both.')
  const store = await openIdentityStore(resolveDataDir(opts.dataDir))
  const accountId = accountFor(store, opts.account)
  if (opts.name && !store.getUser(accountId, opts.name))
    throw new CliError(`No user '${opts.name}' in account ${accountId}.`)
  const label = opts.root ? `root (account ${accountId})` : `user ${opts.name}`
  return { store, accountId, userName: opts.root ? undefined : opts.name, label }
}

/** Adds `password` and `mfa` to the `user` command. */
export function registerPassword(program: Command): void {
  const user = program.commands.find((c) => c.name() === 'user')
  if (!user) throw new Error('the user command must be registered first')

  addDataDirOption(
    user
      .command('password')
      .description(
        'Set the web console password of a user (or --root). Without --password-stdin a random ' +
          'password is generated and printed once.',
      )
      .argument('[name]', 'user name')
      .option('--root', "the account's root user")
      .option('--password-stdin', 'read the password from standard input')
      .option('--remove', 'remove the password: the user can no longer sign in to the console')
      .option('--account <id>', "12-digit account ID (default: the data directory's first)"),
  ).action(
    async (
      name: string | undefined,
      opts: Target & { passwordStdin?: boolean; remove?: boolean },
    ) =>
      run(async () => {
        const t = await target({ ...opts, name })
        if (opts.remove) {
          await iam(() => t.store.setLoginProfile(t.accountId, t.userName, undefined))
          process.stdout.write(`Removed the console password of ${t.label}.\n`)
          return
        }
        const password = opts.passwordStdin ? await readStdin() : generatePassword()
        const problem = passwordProblem(password)
        if (problem) throw new CliError(problem)
        await iam(async () =>
          t.store.setLoginProfile(t.accountId, t.userName, await hashPassword(password)),
        )
        if (opts.passwordStdin) process.stdout.write(`Set the console password of ${t.label}.\n`)
        else process.stdout.write(`Console password of ${t.label}: ${password}\n`)
      }),
  )

  addDataDirOption(
    user
      .command('mfa')
      .description(
        'Enable (prints the otpauth:// URI and secret once, for an authenticator app) or ' +
          'disable the TOTP MFA device of a user (or --root)',
      )
      .argument('[name]', 'user name')
      .option('--root', "the account's root user")
      .option('--disable', 'remove the MFA device')
      .option('--account <id>', "12-digit account ID (default: the data directory's first)"),
  ).action(async (name: string | undefined, opts: Target & { disable?: boolean }) =>
    run(async () => {
      const t = await target({ ...opts, name })
      if (opts.disable) {
        await iam(() => t.store.setMfa(t.accountId, t.userName, undefined))
        process.stdout.write(`Removed the MFA device of ${t.label}.\n`)
        return
      }
      const secret = newTotpSecret()
      await iam(() => t.store.setMfa(t.accountId, t.userName, secret))
      const label = `${t.accountId}:${t.userName ?? 'root'}`
      process.stdout.write(
        `MFA enabled for ${t.label}.\nSecret: ${secret}\nURI: ${totpUri(secret, label)}\n`,
      )
    }),
  )
}
