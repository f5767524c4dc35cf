/**
 * @module cli/commands/user
 * `opentrail user create|list`: IAM users in the data directory's identity store. A running server
 * picks new users and keys up without a restart.
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { IdentityStore } from '../../iam/identities.js'
import { MANAGED_POLICIES } from '../../iam/managed-policies.js'
import { checkPolicy, type PolicyDocument } from '../../iam/policy.js'
import { collect, parseOutput } from '../args.js'
import { addDataDirOption, resolveDataDir } from '../connection.js'
import { accountFor, openIdentityStore } from '../identity-store.js'
import { CliError, formatTable, run } from '../output.js'

/** A managed policy name, `file://path` to a JSON policy document, or the document inline. */
export async function resolvePolicy(value: string): Promise<string | PolicyDocument> {
  const v = value.trim()
  let text: string | undefined
  if (v.startsWith('file://')) {
    try {
      text = await readFile(v.slice('file://'.length), 'utf8')
    } catch (err) {
      throw new CliError(`Cannot read policy ${v}: ${(err as Error).message}`)
    }
  } else if (v.startsWith('{')) text = v
  if (text === undefined) {
    if (!MANAGED_POLICIES[v])
      throw new CliError(
        `Unknown managed policy '${v}'. Managed policies: ${Object.keys(MANAGED_POLICIES).join(', ')}; ` +
          `or give a policy document inline ('{"Statement": ...}') or as file://policy.json.`,
      )
    return v
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new CliError(`Policy ${v.slice(0, 40)} is not valid JSON: ${(err as Error).message}`)
  }
  const problem = checkPolicy(doc)
  if (problem) throw new CliError(`Invalid policy document: ${problem}`)
  return doc as PolicyDocument
}

/** The store's own errors (ERR_IAM_...) are the user's mistakes: exit code 1, message as is. */
export async function iam<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    const message = (err as Error).message ?? String(err)
    if (message.startsWith('ERR_IAM')) throw new CliError(message.replace(/^ERR_IAM_\w+: /, ''))
    throw err
  }
}

const policyLabel = (p: string | PolicyDocument) => (typeof p === 'string' ? p : 'inline')

function listUsers(store: IdentityStore, accountId: string | undefined, output: 'table' | 'json') {
  const users = store.listUsers(accountId)
  if (output === 'json') {
    const out = users.map((u) => ({
      UserName: u.userName,
      UserId: u.userId,
      Arn: `arn:aws:iam::${u.accountId}:user/${u.userName}`,
      AccountId: u.accountId,
      CreateDate: u.createDate,
      Policies: u.policies,
      AccessKeys: u.accessKeys.map((k) => ({
        AccessKeyId: k.accessKeyId,
        Status: k.status,
        CreateDate: k.createDate,
      })),
    }))
    process.stdout.write(JSON.stringify({ Users: out }, null, 2) + '\n')
    return
  }
  process.stdout.write(
    formatTable(
      ['ACCOUNT', 'USER', 'POLICIES', 'ACCESS KEYS', 'CREATED'],
      users.map((u) => [
        u.accountId,
        u.userName,
        u.policies.map(policyLabel).join(',') || '-',
        u.accessKeys
          .map((k) => (k.status === 'Active' ? k.accessKeyId : `${k.accessKeyId} (inactive)`))
          .join(',') || '-',
        u.createDate.replace(/\.\d{3}Z$/, 'Z'),
      ]),
    ),
  )
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('Manage IAM users in the data directory')

  addDataDirOption(
    user
      .command('create')
      .description(
        'Create an IAM user. Without --policy it may do nothing (default deny). ' +
          'Then give it a key: opentrail key create NAME',
      )
      .argument('<name>', 'user name (letters, digits and +=,.@_-, up to 64)')
      .option(
        '--policy <policy>',
        'managed policy name (AdministratorAccess, AWSCloudTrail_FullAccess, ' +
          'AWSCloudTrail_ReadOnlyAccess), file://policy.json, or an inline JSON document; repeatable',
        collect((v: string) => v),
      )
      .option('--account <id>', "12-digit account ID (default: the data directory's first)"),
  ).action(async (name: string, opts: { policy?: string[]; account?: string; dataDir?: string }) =>
    run(async () => {
      const store = await openIdentityStore(resolveDataDir(opts.dataDir))
      const accountId = accountFor(store, opts.account)
      const policies: (string | PolicyDocument)[] = []
      for (const p of opts.policy ?? []) policies.push(await resolvePolicy(p))
      const created = await iam(() => store.createUser(accountId, name, policies))
      process.stdout.write(
        `Created user ${created.userName} (arn:aws:iam::${accountId}:user/${created.userName}) ` +
          `with ${policies.length ? `policies ${policies.map(policyLabel).join(', ')}` : 'no policies'}.\n`,
      )
    }),
  )

  addDataDirOption(
    user
      .command('list')
      .description('List IAM users, their policies and access key IDs (never secrets)')
      .option('--account <id>', 'only this account')
      .option('-o, --output <format>', 'table or json', parseOutput, 'table' as const),
  ).action(async (opts: { account?: string; dataDir?: string; output: 'table' | 'json' }) =>
    run(async () => {
      const store = await openIdentityStore(resolveDataDir(opts.dataDir))
      listUsers(store, opts.account, opts.output)
    }),
  )
}
