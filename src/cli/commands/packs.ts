/**
 * @module cli/commands/packs
 * `opentrail packs enable cis|protect-trail`, `opentrail packs import-sigma DIR`,
 * `opentrail packs convert-sigma FILE` (offline: prints the event pattern or why it cannot be one).
 * Packs are provisioned through the public APIs (see src/packs/enable.ts).
 */
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { packApi, type PackApi } from '../../packs/client.js'
import {
  alertTopic,
  cisLogGroup,
  enableCis,
  enableProtectTrail,
  importSigma,
  PACKS,
  type PackName,
} from '../../packs/enable.js'
import { PROTECT_TRAIL_RULE } from '../../packs/protect-trail.js'
import { convertSigma } from '../../packs/sigma.js'
import {
  addConnectionOptions,
  connect,
  resolveEndpoint,
  type ConnectionOptions,
} from '../connection.js'
import { CliError, formatTable, run } from '../output.js'

export function cliPackApi(opts: ConnectionOptions): PackApi {
  return packApi(connect(opts))
}

interface EnableOptions extends ConnectionOptions {
  topicArn?: string
  logGroup?: string
  trail?: string
  output: string
}

export function registerPacks(program: Command): void {
  const packs = program
    .command('packs')
    .description('Security packs: CIS monitoring alarms, protect-the-trail, Sigma rules')

  addConnectionOptions(
    packs
      .command('enable')
      .description(
        'Enable a pack: cis (CIS AWS Foundations 4.1-4.15 metric filters and alarms on the ' +
          "trail's log group) or protect-trail (an event rule on calls that blind the trail)",
      )
      .argument('<pack>', PACKS.join(' | '), (v: string) => {
        if (!(PACKS as readonly string[]).includes(v)) {
          throw new InvalidArgumentError(`expected one of: ${PACKS.join(', ')}`)
        }
        return v as PackName
      })
      .option('--topic-arn <arn>', 'topic to alert (default: opentrail-security-alerts, created)')
      .option('--log-group <name>', "cis: the log group to watch (default: the trail's)")
      .option('--trail <name>', 'cis: the trail whose log group to watch')
      .option('--output <format>', 'text or json', 'text'),
  ).action(async (pack: PackName, opts: EnableOptions) =>
    run(async () => {
      const api = cliPackApi(opts)
      const topicArn = await alertTopic(api, opts.topicArn)
      const result =
        pack === 'protect-trail'
          ? await enableProtectTrail(api, topicArn)
          : await enableCis(api, {
              logGroupName: await cisLogGroup(api, opts),
              topicArn,
            })
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify({ pack, ...result }, null, 2) + '\n')
      } else if (pack === 'protect-trail') {
        process.stdout.write(`Enabled protect-trail: rule ${PROTECT_TRAIL_RULE} → ${topicArn}\n`)
      } else {
        const r = result as Awaited<ReturnType<typeof enableCis>>
        process.stdout.write(
          `Enabled cis: ${r.controls.length} metric filters and alarms (CIS ${r.controls[0]}-${r.controls.at(-1)}) on log group ${r.logGroupName} → ${topicArn}\n`,
        )
      }
    }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    packs
      .command('import-sigma')
      .description(
        'Load Sigma rules (SigmaHQ YAML, logsource aws/cloudtrail) from a directory as event ' +
          'rules; rules using constructs event patterns cannot express are reported, not loaded',
      )
      .argument('<dir>', 'directory of .yml rules (searched recursively)')
      .option('--topic-arn <arn>', 'topic to alert (default: opentrail-security-alerts, created)')
      .option('--output <format>', 'text or json', 'text'),
  ).action(async (dir: string, opts: EnableOptions) =>
    run(async () => {
      const api = cliPackApi(opts)
      const topicArn = await alertTopic(api, opts.topicArn)
      const r = await importSigma(api, dir, topicArn)
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify({ topicArn, ...r }, null, 2) + '\n')
        return
      }
      process.stdout.write(`Loaded ${r.loaded.length} Sigma rules → ${topicArn}\n`)
      if (r.loaded.length > 0) {
        process.stdout.write(
          formatTable(
            ['RULE', 'LEVEL', 'TITLE'],
            r.loaded.map((l) => [l.rule, l.level ?? '', l.title]),
          ),
        )
      }
      if (r.skipped.length > 0) {
        process.stdout.write(`\nNot loaded (${r.skipped.length}):\n`)
        for (const s of r.skipped) process.stdout.write(`  ${s.file}: ${s.reasons.join('; ')}\n`)
      }
    }, resolveEndpoint(opts.endpointUrl)),
  )

  packs
    .command('convert-sigma')
    .description('Print the event pattern a Sigma rule converts to (offline), or why it cannot')
    .argument('<file>', 'a Sigma rule (.yml)')
    .action(async (file: string) =>
      run(async () => {
        const c = convertSigma(await readFile(file, 'utf8'), file)
        if (!c.pattern) throw new CliError(`${file}: ${c.unsupported.join('; ')}`)
        process.stdout.write(JSON.stringify(JSON.parse(c.pattern), null, 2) + '\n')
      }),
    )
}
