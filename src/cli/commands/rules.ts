/**
 * @module cli/commands/rules
 * `opentrail rules ...`: event rules over the EventBridge API (list, put, delete, targets,
 * enable, disable) and `rules test`, which checks a pattern against an event (TestEventPattern).
 * A pattern or event argument is JSON text, or `@file`.
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
  type Rule,
} from '@aws-sdk/client-eventbridge'
import { envelopeOf } from '../../rules/envelope.js'
import {
  addConnectionOptions,
  resolveEndpoint,
  sdkClient,
  type ConnectionOptions,
} from '../connection.js'
import { CliError, formatTable, run } from '../output.js'

const eventsClient = (opts: ConnectionOptions) => sdkClient(EventBridgeClient, opts)

async function jsonArg(v: string, what: string): Promise<string> {
  const text = v.startsWith('@') ? await readFile(v.slice(1), 'utf8') : v
  try {
    JSON.parse(text)
  } catch (e) {
    throw new CliError(`${what} is not valid JSON: ${(e as Error).message}`)
  }
  return text
}

type Opts = ConnectionOptions & { output: string }
const out = (opts: Opts, json: unknown, text: () => string) =>
  process.stdout.write(opts.output === 'json' ? JSON.stringify(json, null, 2) + '\n' : text())

export function registerRules(program: Command): void {
  const rules = program
    .command('rules')
    .description('Event rules (EventBridge API): patterns over CloudTrail events, targets')
  const cmd = (name: string, description: string) =>
    addConnectionOptions(
      rules
        .command(name)
        .description(description)
        .option('--output <format>', 'text or json', 'text'),
    )

  cmd('list', 'List rules')
    .option('--prefix <prefix>', 'only rules whose name starts with this')
    .action(async (opts: Opts & { prefix?: string }) =>
      run(async () => {
        const c = eventsClient(opts)
        const all: Rule[] = []
        let token: string | undefined
        do {
          const r = await c.send(
            new ListRulesCommand({ NamePrefix: opts.prefix, NextToken: token }),
          )
          all.push(...(r.Rules ?? []))
          token = r.NextToken
        } while (token)
        out(opts, all, () =>
          formatTable(
            ['NAME', 'STATE', 'DESCRIPTION'],
            all.map((r) => [r.Name ?? '', r.State ?? '', r.Description ?? '']),
          ),
        )
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('put', 'Create or update a rule, optionally with targets (topic ARNs or http(s) URLs)')
    .argument('<name>')
    .requiredOption('--pattern <json|@file>', 'the event pattern')
    .option('--description <text>')
    .option('--target <arn-or-url...>', 'targets (ids t1, t2, ...)')
    .action(
      async (
        name: string,
        opts: Opts & { pattern: string; description?: string; target?: string[] },
      ) =>
        run(async () => {
          const c = eventsClient(opts)
          const r = await c.send(
            new PutRuleCommand({
              Name: name,
              EventPattern: await jsonArg(opts.pattern, '--pattern'),
              Description: opts.description,
            }),
          )
          if (opts.target?.length) {
            const t = await c.send(
              new PutTargetsCommand({
                Rule: name,
                Targets: opts.target.map((arn, i) => ({ Id: `t${i + 1}`, Arn: arn })),
              }),
            )
            if (t.FailedEntryCount) {
              throw new CliError(
                (t.FailedEntries ?? []).map((f) => `${f.TargetId}: ${f.ErrorMessage}`).join('\n'),
              )
            }
          }
          out(opts, { RuleArn: r.RuleArn }, () => `${r.RuleArn}\n`)
        }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('delete', "Delete a rule (its targets first); --force for a pack's rule")
    .argument('<name>')
    .option('--force')
    .action(async (name: string, opts: Opts & { force?: boolean }) =>
      run(async () => {
        const c = eventsClient(opts)
        const t = await c.send(new ListTargetsByRuleCommand({ Rule: name }))
        const ids = (t.Targets ?? []).map((x) => x.Id!)
        if (ids.length > 0) await c.send(new RemoveTargetsCommand({ Rule: name, Ids: ids }))
        await c.send(new DeleteRuleCommand({ Name: name, Force: opts.force }))
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('targets', 'List the targets of a rule')
    .argument('<name>')
    .action(async (name: string, opts: Opts) =>
      run(async () => {
        const r = await eventsClient(opts).send(new ListTargetsByRuleCommand({ Rule: name }))
        const all = r.Targets ?? []
        out(opts, all, () =>
          formatTable(
            ['ID', 'TARGET'],
            all.map((t) => [t.Id ?? '', t.Arn ?? '']),
          ),
        )
      }, resolveEndpoint(opts.endpointUrl)),
    )

  for (const [verb, Ctor] of [
    ['enable', EnableRuleCommand],
    ['disable', DisableRuleCommand],
  ] as const) {
    cmd(verb, `${verb === 'enable' ? 'Enable' : 'Disable'} a rule`)
      .argument('<name>')
      .action(async (name: string, opts: Opts) =>
        run(async () => {
          await eventsClient(opts).send(new Ctor({ Name: name }))
        }, resolveEndpoint(opts.endpointUrl)),
      )
  }

  cmd(
    'test',
    'Test a pattern against an event; the event may be an EventBridge event or a bare CloudTrail record',
  )
    .requiredOption('--pattern <json|@file>')
    .requiredOption('--event <json|@file>')
    .action(async (opts: Opts & { pattern: string; event: string }) =>
      run(async () => {
        const event = JSON.parse(await jsonArg(opts.event, '--event')) as Record<string, unknown>
        const wrapped = 'detail-type' in event ? event : envelopeOf(event as never)
        const r = await eventsClient(opts).send(
          new TestEventPatternCommand({
            EventPattern: await jsonArg(opts.pattern, '--pattern'),
            Event: JSON.stringify(wrapped),
          }),
        )
        out(opts, { Result: r.Result }, () => (r.Result ? 'match\n' : 'no match\n'))
        if (!r.Result) process.exitCode = 1
      }, resolveEndpoint(opts.endpointUrl)),
    )
}
