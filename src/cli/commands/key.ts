/**
 * @module cli/commands/key
 * `opentrail key create USER`: a new access key. The secret is shown once, on stdout only, or
 * written to a credentials-file profile (mode 0600) and not shown at all.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { writeFileAtomic } from '../../shared/json-file.js'
import { parseOutput } from '../args.js'
import { addDataDirOption, DEFAULT_PROFILE, resolveDataDir, resolveRegion } from '../connection.js'
import { accountFor, openIdentityStore } from '../identity-store.js'
import { parseIni, upsertIniSection } from '../ini.js'
import { CliError, run } from '../output.js'
import { iam } from './user.js'

interface KeyCreateOptions {
  account?: string
  dataDir?: string
  profile?: string
  credentialsFile?: string
  force?: boolean
  region?: string
  output: 'table' | 'json'
}

async function readOptional(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`)
  }
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('Manage access keys in the data directory')

  addDataDirOption(
    key
      .command('create')
      .description(
        'Create an access key for a user. Prints the key ID and secret once (stdout only), or ' +
          'with --profile/--credentials-file writes them to a credentials-file profile instead',
      )
      .argument('<user>', 'user name')
      .option('--account <id>', "12-digit account ID (default: the data directory's first)")
      .option(
        '--profile <name>',
        'write the key to this profile (default file: <data-dir>/credentials)',
      )
      .option(
        '--credentials-file <file>',
        'write the key to this AWS shared-credentials file (default profile: the user name)',
      )
      .option(
        '--region <region>',
        "region written to the profile (default: the data directory's opentrail profile's, or us-east-1)",
      )
      .option('--force', 'replace the profile if the file already has it')
      .option(
        '-o, --output <format>',
        'table or json (IAM CreateAccessKey shape)',
        parseOutput,
        'table' as const,
      ),
  ).action(async (userName: string, opts: KeyCreateOptions) =>
    run(async () => {
      const dataDir = resolveDataDir(opts.dataDir)
      const store = await openIdentityStore(dataDir)
      const accountId = accountFor(store, opts.account)
      if (!store.getUser(accountId, userName))
        throw new CliError(
          `No user '${userName}' in account ${accountId}. Create it first: opentrail user create ${userName}`,
        )

      if (opts.profile === undefined && opts.credentialsFile === undefined) {
        const created = await iam(() => store.createAccessKey(accountId, userName))
        if (opts.output === 'json') {
          const body = {
            AccessKey: {
              UserName: userName,
              AccessKeyId: created.accessKeyId,
              Status: created.status,
              SecretAccessKey: created.secretAccessKey,
              CreateDate: created.createDate,
            },
          }
          process.stdout.write(JSON.stringify(body, null, 2) + '\n')
        } else {
          process.stdout.write(
            `AccessKeyId      ${created.accessKeyId}\nSecretAccessKey  ${created.secretAccessKey}\n`,
          )
          if (process.stdout.isTTY)
            process.stderr.write('The secret is shown only this once: store it now.\n')
        }
        return
      }

      const file = resolve(opts.credentialsFile ?? join(dataDir, 'credentials'))
      const profile = opts.profile ?? userName
      if (!/^[\w.@+-]+$/.test(profile)) throw new CliError(`Invalid profile name '${profile}'.`)
      const text = await readOptional(file)
      if (parseIni(text).has(profile) && !opts.force)
        throw new CliError(
          `${file} already has a profile '${profile}'; pass --force to replace it, or choose another --profile.`,
        )
      const created = await iam(() => store.createAccessKey(accountId, userName))
      await writeFileAtomic(
        file,
        upsertIniSection(text, profile, {
          aws_access_key_id: created.accessKeyId,
          aws_secret_access_key: created.secretAccessKey,
          region: opts.region ?? resolveRegion({ profile: DEFAULT_PROFILE, dataDir }),
        }),
        0o600,
      )
      process.stdout.write(
        `Created access key ${created.accessKeyId} for ${userName}; wrote it to profile '${profile}' in ${file}.\n`,
      )
    }),
  )
}
