/**
 * Notifications end to end: topics and subscriptions through the real SNS SDK (query protocol) and
 * the AWS CLI; webhook deliveries signed with HMAC-SHA256; Slack-style webhooks; email over real
 * SMTP (an `smtp-server` receiver); retries, dead letters and redrive; the outbox surviving a
 * restart; and alarm changes (the monitoring port) reaching topics.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  type SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns'
import type { RunningServer } from '../../src/main.js'
import { SIGNATURE_HEADER, verifySignature } from '../../src/notify/transports.js'
import { queryCall, receiver, smtpReceiver, startNotifyServer, until } from '../helpers/notify.js'

describe('e2e notify: topics, subscriptions and deliveries', () => {
  let dataDir: string
  let server: RunningServer
  let sns: SNSClient
  let key: { accessKeyId: string; secretAccessKey: string }
  let smtp: Awaited<ReturnType<typeof smtpReceiver>>
  let hook: Awaited<ReturnType<typeof receiver>>
  let slack: Awaited<ReturnType<typeof receiver>>
  let flaky: Awaited<ReturnType<typeof receiver>>
  let flakyStatus = 500
  const settings = () => ({
    smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'alerts@opentrail.test' },
    baseDelayMs: 20,
    maxDelayMs: 100,
    maxAttempts: 3,
    timeoutMs: 2000,
  })

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-notify-'))
    smtp = await smtpReceiver()
    hook = await receiver()
    slack = await receiver()
    flaky = await receiver(() => flakyStatus)
    ;({ server, sns, key } = await startNotifyServer(dataDir, settings()))
  })

  after(async () => {
    await server.close()
    await Promise.all([hook.close(), slack.close(), flaky.close(), smtp.close()])
    await rm(dataDir, { recursive: true, force: true })
  })

  it('creates, lists and describes topics (idempotent CreateTopic)', async () => {
    const a = await sns.send(new CreateTopicCommand({ Name: 'security-alerts' }))
    assert.match(a.TopicArn!, /^arn:aws:sns:us-east-1:\d{12}:security-alerts$/)
    const again = await sns.send(new CreateTopicCommand({ Name: 'security-alerts' }))
    assert.equal(again.TopicArn, a.TopicArn)
    const list = await sns.send(new ListTopicsCommand({}))
    assert.deepEqual(
      list.Topics?.map((t) => t.TopicArn),
      [a.TopicArn],
    )
    const attrs = await sns.send(new GetTopicAttributesCommand({ TopicArn: a.TopicArn }))
    assert.equal(attrs.Attributes?.['TopicArn'], a.TopicArn)
    assert.equal(attrs.Attributes?.['SubscriptionsConfirmed'], '0')
  })

  it('refuses bad input with SNS errors', async () => {
    await assert.rejects(sns.send(new CreateTopicCommand({ Name: 'bad name!' })), {
      name: 'InvalidParameterException',
    })
    await assert.rejects(
      sns.send(
        new GetTopicAttributesCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope' }),
      ),
      { name: 'NotFoundException' },
    )
    const t = await sns.send(new CreateTopicCommand({ Name: 'x' }))
    await assert.rejects(
      sns.send(new SubscribeCommand({ TopicArn: t.TopicArn, Protocol: 'sms', Endpoint: '+1555' })),
      { name: 'InvalidParameterException' },
    )
    await assert.rejects(
      sns.send(
        new SubscribeCommand({ TopicArn: t.TopicArn, Protocol: 'http', Endpoint: 'not a url' }),
      ),
      { name: 'InvalidParameterException' },
    )
    await sns.send(new DeleteTopicCommand({ TopicArn: t.TopicArn }))
  })

  it('publishes to webhook (signed), Slack and email subscribers', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'fanout' }))
    const h = await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: `${hook.url}/hook` }),
    )
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'slack',
        Endpoint: `${slack.url}/services/T/B/X`,
      }),
    )
    await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: 'oncall@example.test' }),
    )
    const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }))
    assert.deepEqual(subs.Subscriptions?.map((s) => s.Protocol).sort(), ['email', 'http', 'slack'])
    const attrs = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: h.SubscriptionArn }),
    )
    const secret = attrs.Attributes?.['SigningSecret']
    assert.ok(secret && secret.length >= 32)

    const pub = await sns.send(
      new PublishCommand({ TopicArn, Subject: 'Root login', Message: 'root signed in' }),
    )
    assert.ok(pub.MessageId)

    const [got] = await hook.waitFor(1)
    assert.equal(got!.path, '/hook')
    const body = JSON.parse(got!.body) as Record<string, string>
    assert.equal(body['Type'], 'Notification')
    assert.equal(body['MessageId'], pub.MessageId)
    assert.equal(body['TopicArn'], TopicArn)
    assert.equal(body['Subject'], 'Root login')
    assert.equal(body['Message'], 'root signed in')
    assert.equal(got!.headers['x-amz-sns-message-type'], 'Notification')
    const sig = String(got!.headers[SIGNATURE_HEADER])
    assert.ok(verifySignature(secret, sig, got!.body, Math.floor(Date.now() / 1000)))
    assert.ok(!verifySignature(secret, sig, got!.body + ' ', Math.floor(Date.now() / 1000)))
    assert.ok(!verifySignature('wrong-secret', sig, got!.body, Math.floor(Date.now() / 1000)))

    const [s] = await slack.waitFor(1)
    assert.equal(s!.path, '/services/T/B/X')
    assert.deepEqual(JSON.parse(s!.body), { text: '*Root login*\nroot signed in' })

    const mail = await until(() => smtp.mails[0])
    assert.deepEqual(mail.to, ['oncall@example.test'])
    assert.equal(mail.from, 'alerts@opentrail.test')
    assert.match(mail.data, /^Subject: Root login$/m)
    assert.match(mail.data, /root signed in/)
  })

  it('retries a failing webhook, then keeps it as a dead letter; redrive delivers it', async () => {
    flakyStatus = 500
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'flaky' }))
    const sub = await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: flaky.url }),
    )
    await sns.send(new PublishCommand({ TopicArn, Message: 'must not be lost' }))
    const dead = await until(() => {
      const d = server.notify.outbox.deadLetters({ subscriptionArn: sub.SubscriptionArn })
      return d.length === 1 ? d : undefined
    })
    assert.equal(dead[0]!.attempts, 3)
    assert.equal(dead[0]!.lastError, 'HTTP 500')
    const attrs = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: sub.SubscriptionArn }),
    )
    assert.equal(attrs.Attributes?.['UndeliveredNotifications'], '1')

    // Visible and redrivable through the API (the CLI's `topics undelivered` / `topics redrive`).
    const listed = await queryCall(server.url, key, {
      Action: 'ListUndeliveredNotifications',
      SubscriptionArn: sub.SubscriptionArn!,
    })
    assert.match(listed, /<Message>[^<]*must not be lost[^<]*<\/Message>/)
    assert.match(listed, /<LastError>HTTP 500<\/LastError>/)
    flakyStatus = 200
    const redriven = await queryCall(server.url, key, { Action: 'RedriveUndeliveredNotifications' })
    assert.match(redriven, /<Redriven>1<\/Redriven>/)
    const [got] = await flaky.waitFor(1)
    assert.equal((JSON.parse(got!.body) as { Message: string }).Message, 'must not be lost')
    assert.equal(server.notify.outbox.deadLetters().length, 0)
  })

  it('applies a MessageBody filter policy', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'filtered' }))
    const r = await receiver()
    try {
      await assert.rejects(
        sns.send(
          new SubscribeCommand({
            TopicArn,
            Protocol: 'http',
            Endpoint: r.url,
            Attributes: { FilterPolicy: '{"severity":["high"]}' },
          }),
        ),
        { name: 'InvalidParameterException' },
      )
      await sns.send(
        new SubscribeCommand({
          TopicArn,
          Protocol: 'http',
          Endpoint: r.url,
          Attributes: {
            FilterPolicy: '{"severity":["high"],"source":[{"prefix":"aws."}]}',
            FilterPolicyScope: 'MessageBody',
          },
        }),
      )
      await sns.send(
        new PublishCommand({ TopicArn, Message: '{"severity":"low","source":"aws.s3"}' }),
      )
      await sns.send(new PublishCommand({ TopicArn, Message: 'not json' }))
      await sns.send(
        new PublishCommand({ TopicArn, Message: '{"severity":"high","source":"aws.iam"}' }),
      )
      const [got] = await r.waitFor(1)
      assert.equal(
        (JSON.parse(got!.body) as { Message: string }).Message,
        '{"severity":"high","source":"aws.iam"}',
      )
      await new Promise((res) => setTimeout(res, 300))
      assert.equal(r.got.length, 1)
    } finally {
      await r.close()
    }
  })

  it('an unsubscribed endpoint gets nothing more', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'unsub' }))
    const r = await receiver()
    try {
      const sub = await sns.send(
        new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: r.url }),
      )
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }))
      await sns.send(new PublishCommand({ TopicArn, Message: 'nobody' }))
      const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }))
      assert.equal(subs.Subscriptions?.length, 0)
      assert.equal(r.got.length, 0)
    } finally {
      await r.close()
    }
  })

  it('delivers alarm state changes to the topics in the alarm actions', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'alarms' }))
    const r = await receiver()
    try {
      await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: r.url }))
      await server.notify.alarmChanged({
        alarmName: 'cis-4.3-root-usage',
        alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:cis-4.3-root-usage',
        accountId: '123456789012',
        region: 'us-east-1',
        oldState: 'OK',
        newState: 'ALARM',
        reason: 'Threshold Crossed: 1 datapoint [1.0] was >= the threshold (1.0).',
        timestamp: '2026-01-01T00:00:00.000Z',
        actions: [TopicArn!, 'arn:aws:sns:us-east-1:123456789012:not-ours'],
      })
      const [got] = await r.waitFor(1)
      const env = JSON.parse(got!.body) as { Subject: string; Message: string }
      assert.equal(env.Subject, 'ALARM: "cis-4.3-root-usage" in us-east-1')
      const msg = JSON.parse(env.Message) as Record<string, string>
      assert.equal(msg['NewStateValue'], 'ALARM')
      assert.equal(msg['OldStateValue'], 'OK')
      assert.equal(msg['AlarmName'], 'cis-4.3-root-usage')
    } finally {
      await r.close()
    }
  })

  it('works with the AWS CLI (sns create-topic, list-topics, publish)', async (t) => {
    if (!(await commandExists('aws'))) return t.skip('aws is not on PATH')
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    }
    const aws = (...args: string[]) => run('aws', ['--endpoint-url', server.url, ...args], env)
    const created = JSON.parse(await aws('sns', 'create-topic', '--name', 'cli-topic')) as {
      TopicArn: string
    }
    assert.match(created.TopicArn, /:cli-topic$/)
    const listed = JSON.parse(await aws('sns', 'list-topics')) as { Topics: { TopicArn: string }[] }
    assert.ok(listed.Topics.some((x) => x.TopicArn === created.TopicArn))
    const r = await receiver()
    try {
      await aws(
        'sns',
        'subscribe',
        '--topic-arn',
        created.TopicArn,
        '--protocol',
        'http',
        '--notification-endpoint',
        r.url,
      )
      const pub = JSON.parse(
        await aws('sns', 'publish', '--topic-arn', created.TopicArn, '--message', 'from the cli'),
      ) as { MessageId: string }
      const [got] = await r.waitFor(1)
      assert.equal((JSON.parse(got!.body) as { MessageId: string }).MessageId, pub.MessageId)
    } finally {
      await r.close()
    }
  })
})

describe('e2e notify: the outbox survives a restart', () => {
  it('delivers after restart what was pending when the server stopped', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-notify-restart-'))
    let up = false
    const r = await receiver(() => (up ? 200 : 503))
    try {
      const settings = { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 5 }
      const first = await startNotifyServer(dataDir, settings)
      const { TopicArn } = await first.sns.send(new CreateTopicCommand({ Name: 'durable' }))
      await first.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: r.url }))
      await first.sns.send(new PublishCommand({ TopicArn, Message: 'survives' }))
      // The first attempt fails (503) and is rescheduled a minute later; stop before that.
      await until(() => first.server.notify.outbox.pendingCount() === 1 && r.got.length === 0)
      await new Promise((res) => setTimeout(res, 200))
      await first.server.close()
      up = true
      const second = await startNotifyServer(dataDir, { baseDelayMs: 10, maxDelayMs: 10 })
      try {
        // Pending deliveries are due at once after a restart (their backoff is not waited out).
        const [got] = await r.waitFor(1)
        assert.equal((JSON.parse(got!.body) as { Message: string }).Message, 'survives')
      } finally {
        await second.server.close()
      }
    } finally {
      await r.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`))
        : resolve(stdout),
    ),
  )
}

async function commandExists(cmd: string): Promise<boolean> {
  return new Promise((r) => execFile('sh', ['-c', `command -v ${cmd}`], (err) => r(!err)))
}
