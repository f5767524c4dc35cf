/**
 * @module cli/commands/topics
 * `opentrail topics ...`: topics and subscriptions over the SNS API (create, list, delete,
 * subscribe, unsubscribe, subscriptions, publish), and undelivered notifications (dead letters:
 * list, redrive, delete) over OpenTrail's own SNS actions.
 */
import type { Command } from 'commander'
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
  type Subscription,
} from '@aws-sdk/client-sns'
import { XMLParser } from 'fast-xml-parser'
import { AwsCallError, signedPost } from '../../shared/aws-call.js'
import {
  addConnectionOptions,
  connect,
  resolveEndpoint,
  sdkClient,
  type ConnectionOptions,
} from '../connection.js'
import { formatTable, run } from '../output.js'

const snsClient = (opts: ConnectionOptions) => sdkClient(SNSClient, opts)

/** OpenTrail's own SNS actions (no SDK command): a signed query-protocol call, parsed XML. */
async function snsAction(
  opts: ConnectionOptions,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await signedPost({
    ...connect(opts),
    service: 'sns',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, Version: '2010-03-31' }).toString(),
  })
  const xml = new XMLParser({ isArray: (name) => name === 'member' }).parse(
    await res.text(),
  ) as Record<string, Record<string, unknown>>
  if (!res.ok) {
    const err = (xml['ErrorResponse']?.['Error'] ?? {}) as Record<string, string>
    throw new AwsCallError(
      err['Code'] ?? 'UnknownError',
      err['Message'] ?? `HTTP ${res.status}`,
      res.status,
    )
  }
  const action = params['Action']!
  return (xml[`${action}Response`]?.[`${action}Result`] ?? {}) as Record<string, unknown>
}

type Opts = ConnectionOptions & { output: string }
const text = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''
const out = (opts: Opts, json: unknown, text: () => string) =>
  process.stdout.write(opts.output === 'json' ? JSON.stringify(json, null, 2) + '\n' : text())

export function registerTopics(program: Command): void {
  const topics = program
    .command('topics')
    .description('Notification topics and subscriptions (SNS API), undelivered notifications')
  const cmd = (name: string, description: string) =>
    addConnectionOptions(
      topics
        .command(name)
        .description(description)
        .option('--output <format>', 'text or json', 'text'),
    )

  cmd('list', 'List topics').action(async (opts: Opts) =>
    run(async () => {
      const c = snsClient(opts)
      const arns: string[] = []
      let token: string | undefined
      do {
        const r = await c.send(new ListTopicsCommand({ NextToken: token }))
        for (const t of r.Topics ?? []) arns.push(t.TopicArn!)
        token = r.NextToken
      } while (token)
      out(opts, arns, () => arns.map((a) => a + '\n').join(''))
    }, resolveEndpoint(opts.endpointUrl)),
  )

  cmd('create', 'Create a topic (idempotent); prints its ARN')
    .argument('<name>')
    .action(async (name: string, opts: Opts) =>
      run(async () => {
        const r = await snsClient(opts).send(new CreateTopicCommand({ Name: name }))
        out(opts, { TopicArn: r.TopicArn }, () => `${r.TopicArn}\n`)
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('delete', 'Delete a topic and its subscriptions')
    .argument('<topic-arn>')
    .action(async (arn: string, opts: Opts) =>
      run(async () => {
        await snsClient(opts).send(new DeleteTopicCommand({ TopicArn: arn }))
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd(
    'subscribe',
    'Subscribe an endpoint: http/https (signed webhook), slack (incoming webhook URL), email, email-json',
  )
    .argument('<topic-arn>')
    .requiredOption('--protocol <protocol>', 'http | https | slack | email | email-json')
    .requiredOption('--endpoint <endpoint>', 'URL or e-mail address')
    .option('--raw', 'deliver the raw message instead of the SNS JSON envelope')
    .action(
      async (arn: string, opts: Opts & { protocol: string; endpoint: string; raw?: boolean }) =>
        run(async () => {
          const c = snsClient(opts)
          const r = await c.send(
            new SubscribeCommand({
              TopicArn: arn,
              Protocol: opts.protocol,
              Endpoint: opts.endpoint,
              ReturnSubscriptionArn: true,
              ...(opts.raw ? { Attributes: { RawMessageDelivery: 'true' } } : {}),
            }),
          )
          const attrs = await c.send(
            new GetSubscriptionAttributesCommand({ SubscriptionArn: r.SubscriptionArn }),
          )
          const secret = attrs.Attributes?.['SigningSecret']
          out(
            opts,
            { SubscriptionArn: r.SubscriptionArn, ...(secret ? { SigningSecret: secret } : {}) },
            () =>
              `${r.SubscriptionArn}\n` +
              (secret ? `Signing secret (X-OpenTrail-Signature, HMAC-SHA256): ${secret}\n` : ''),
          )
        }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('unsubscribe', 'Delete a subscription')
    .argument('<subscription-arn>')
    .action(async (arn: string, opts: Opts) =>
      run(async () => {
        await snsClient(opts).send(new UnsubscribeCommand({ SubscriptionArn: arn }))
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('subscriptions', 'List subscriptions (of one topic, or all)')
    .argument('[topic-arn]')
    .action(async (arn: string | undefined, opts: Opts) =>
      run(async () => {
        const c = snsClient(opts)
        const all: Subscription[] = []
        let token: string | undefined
        do {
          const r = arn
            ? await c.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn, NextToken: token }))
            : await c.send(new ListSubscriptionsCommand({ NextToken: token }))
          all.push(...(r.Subscriptions ?? []))
          token = r.NextToken
        } while (token)
        out(opts, all, () =>
          formatTable(
            ['PROTOCOL', 'ENDPOINT', 'SUBSCRIPTION'],
            all.map((s) => [s.Protocol ?? '', s.Endpoint ?? '', s.SubscriptionArn ?? '']),
          ),
        )
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('publish', 'Publish a message to a topic')
    .argument('<topic-arn>')
    .requiredOption('--message <text>')
    .option('--subject <text>')
    .action(async (arn: string, opts: Opts & { message: string; subject?: string }) =>
      run(async () => {
        const r = await snsClient(opts).send(
          new PublishCommand({ TopicArn: arn, Message: opts.message, Subject: opts.subject }),
        )
        out(opts, { MessageId: r.MessageId }, () => `${r.MessageId}\n`)
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('undelivered', 'List notifications that exhausted their retries (dead letters)')
    .option('--topic-arn <arn>')
    .option('--subscription-arn <arn>')
    .action(async (opts: Opts & { topicArn?: string; subscriptionArn?: string }) =>
      run(async () => {
        const r = await snsAction(opts, {
          Action: 'ListUndeliveredNotifications',
          ...(opts.topicArn ? { TopicArn: opts.topicArn } : {}),
          ...(opts.subscriptionArn ? { SubscriptionArn: opts.subscriptionArn } : {}),
        })
        const list =
          (r['Notifications'] as { member?: Record<string, unknown>[] } | '' | undefined) || {}
        const items = list.member ?? []
        out(opts, items, () =>
          formatTable(
            ['DEAD AT', 'ATTEMPTS', 'ENDPOINT', 'ORIGIN', 'LAST ERROR', 'ID'],
            items.map((n) => [
              text(n['DeadAt']),
              text(n['Attempts']),
              text(n['Endpoint']),
              text(n['Origin']),
              text(n['LastError']),
              text(n['Id']),
            ]),
          ),
        )
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('redrive', 'Send dead letters again (all, or the given ids)')
    .argument('[ids...]')
    .action(async (ids: string[], opts: Opts) =>
      run(async () => {
        const params: Record<string, string> = { Action: 'RedriveUndeliveredNotifications' }
        ids.forEach((id, i) => (params[`Ids.member.${i + 1}`] = id))
        const r = await snsAction(opts, params)
        out(opts, r, () => `Redriven: ${text(r['Redriven'] ?? 0)}\n`)
      }, resolveEndpoint(opts.endpointUrl)),
    )

  cmd('purge-undelivered', 'Delete dead letters (all, or the given ids)')
    .argument('[ids...]')
    .action(async (ids: string[], opts: Opts) =>
      run(async () => {
        const params: Record<string, string> = { Action: 'DeleteUndeliveredNotifications' }
        ids.forEach((id, i) => (params[`Ids.member.${i + 1}`] = id))
        const r = await snsAction(opts, params)
        out(opts, r, () => `Deleted: ${text(r['Deleted'] ?? 0)}\n`)
      }, resolveEndpoint(opts.endpointUrl)),
    )
}
