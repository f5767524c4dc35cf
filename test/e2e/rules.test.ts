/**
 * Event rules end to end through the EventBridge SDK: rule and target operations with AWS's errors,
 * TestEventPattern, and matches on live CloudTrail events reaching a topic's webhook and a direct
 * webhook target (as EventBridge shapes them), with a restart that delivers nothing twice.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateTrailCommand,
  CloudTrailClient,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge'
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns'
import type { RunningServer } from '../../src/main.js'
import { receiver, startNotifyServer } from '../helpers/notify.js'

describe('e2e rules: EventBridge API and rule evaluation', () => {
  let dataDir: string
  let server: RunningServer
  let events: EventBridgeClient
  let cloudtrail: CloudTrailClient
  let key: { accessKeyId: string; secretAccessKey: string }
  let sns: Awaited<ReturnType<typeof startNotifyServer>>['sns']

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-rules-'))
    ;({ server, sns, key } = await startNotifyServer(dataDir, { baseDelayMs: 20, maxAttempts: 3 }))
    events = new EventBridgeClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    cloudtrail = new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
  })

  after(async () => {
    await server.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('puts, describes, lists, disables and deletes rules', async () => {
    const pattern = JSON.stringify({ source: ['aws.cloudtrail'] })
    const put = await events.send(
      new PutRuleCommand({ Name: 'r-one', EventPattern: pattern, Description: 'first' }),
    )
    assert.match(put.RuleArn!, /^arn:aws:events:us-east-1:\d{12}:rule\/r-one$/)
    const d = await events.send(new DescribeRuleCommand({ Name: 'r-one' }))
    assert.equal(d.EventPattern, pattern)
    assert.equal(d.State, 'ENABLED')
    assert.equal(d.Description, 'first')
    assert.equal(d.EventBusName, 'default')
    await events.send(new PutRuleCommand({ Name: 'r-two', EventPattern: pattern }))
    const list = await events.send(new ListRulesCommand({ NamePrefix: 'r-' }))
    assert.deepEqual(
      list.Rules?.map((r) => r.Name),
      ['r-one', 'r-two'],
    )
    const paged = await events.send(new ListRulesCommand({ NamePrefix: 'r-', Limit: 1 }))
    assert.equal(paged.Rules?.length, 1)
    assert.ok(paged.NextToken)
    await events.send(new DisableRuleCommand({ Name: 'r-two' }))
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'r-two' }))).State, 'DISABLED')
    await events.send(new DeleteRuleCommand({ Name: 'r-two' }))
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'r-two' })), {
      name: 'ResourceNotFoundException',
      message: 'Rule r-two does not exist on EventBus default.',
    })
  })

  it('refuses bad patterns, targets and deletes with AWS errors', async () => {
    await assert.rejects(
      events.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source": "aws.s3"}' })),
      (e: Error) => e.name === 'InvalidEventPatternException' && /source/.test(e.message),
    )
    await assert.rejects(
      events.send(
        new PutRuleCommand({
          Name: 'bad',
          EventPattern: '{"detail": {"n": [{"numeric": [">", 1, ">", 2]}]}}',
        }),
      ),
      { name: 'InvalidEventPatternException' },
    )
    await assert.rejects(
      events.send(new PutRuleCommand({ Name: 'sched', ScheduleExpression: 'rate(5 minutes)' })),
      { name: 'ValidationException' },
    )
    await events.send(new PutRuleCommand({ Name: 'with-target', EventPattern: '{"source":["x"]}' }))
    const t = await events.send(
      new PutTargetsCommand({
        Rule: 'with-target',
        Targets: [
          { Id: 'ok', Arn: 'https://hooks.example.test/x' },
          { Id: 'lambda', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
          { Id: 'missing-topic', Arn: 'arn:aws:sns:us-east-1:123456789012:nope' },
        ],
      }),
    )
    assert.equal(t.FailedEntryCount, 2)
    assert.deepEqual(
      t.FailedEntries?.map((f) => f.TargetId),
      ['lambda', 'missing-topic'],
    )
    await assert.rejects(events.send(new DeleteRuleCommand({ Name: 'with-target' })), {
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    })
    await events.send(new RemoveTargetsCommand({ Rule: 'with-target', Ids: ['ok'] }))
    await events.send(new DeleteRuleCommand({ Name: 'with-target' }))
    await assert.rejects(
      events.send(
        new PutTargetsCommand({ Rule: 'nope', Targets: [{ Id: 'a', Arn: 'https://x.test' }] }),
      ),
      { name: 'ResourceNotFoundException' },
    )
  })

  it('TestEventPattern answers as EventBridge does', async () => {
    const event = JSON.stringify({
      id: '1',
      account: '123456789012',
      source: 'aws.cloudtrail',
      time: '2023-07-10T12:00:42Z',
      region: 'us-east-1',
      'detail-type': 'AWS API Call via CloudTrail',
      resources: [],
      detail: { eventName: 'StopLogging', sourceIPAddress: '10.1.2.3' },
    })
    const yes = await events.send(
      new TestEventPatternCommand({
        EventPattern:
          '{"detail": {"eventName": [{"prefix": "Stop"}], "sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}}',
        Event: event,
      }),
    )
    assert.equal(yes.Result, true)
    const no = await events.send(
      new TestEventPatternCommand({
        EventPattern: '{"detail": {"eventName": [{"anything-but": "StopLogging"}]}}',
        Event: event,
      }),
    )
    assert.equal(no.Result, false)
    await assert.rejects(
      events.send(
        new TestEventPatternCommand({ EventPattern: '{"a":["b"]}', Event: '{"detail":{}}' }),
      ),
      { name: 'ValidationException' },
    )
  })

  it('delivers matching CloudTrail events to a topic and to a webhook target', async () => {
    const viaTopic = await receiver()
    const direct = await receiver()
    try {
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'trail-alerts' }))
      await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: viaTopic.url }))
      await events.send(
        new PutRuleCommand({
          Name: 'stop-logging',
          EventPattern: JSON.stringify({
            source: ['aws.cloudtrail'],
            'detail-type': ['AWS API Call via CloudTrail'],
            detail: { eventName: ['StopLogging'] },
          }),
        }),
      )
      const put = await events.send(
        new PutTargetsCommand({
          Rule: 'stop-logging',
          Targets: [
            { Id: 'topic', Arn: TopicArn },
            {
              Id: 'hook',
              Arn: `${direct.url}/events`,
              InputPath: '$.detail',
              HttpParameters: { HeaderParameters: { authorization: 'Bearer t0k3n' } },
            },
          ],
        }),
      )
      assert.equal(put.FailedEntryCount, 0)
      const targets = await events.send(new ListTargetsByRuleCommand({ Rule: 'stop-logging' }))
      assert.deepEqual(
        targets.Targets?.map((t) => t.Id),
        ['topic', 'hook'],
      )
      await cloudtrail.send(new CreateTrailCommand({ Name: 'main', S3BucketName: 'audit-bucket' }))
      await cloudtrail.send(new StopLoggingCommand({ Name: 'main' }))

      const [n] = await viaTopic.waitFor(1)
      const env = JSON.parse(n!.body) as { Type: string; TopicArn: string; Message: string }
      assert.equal(env.TopicArn, TopicArn)
      const ev = JSON.parse(env.Message) as {
        'detail-type': string
        source: string
        account: string
        detail: { eventName: string; eventSource: string }
      }
      assert.equal(ev['detail-type'], 'AWS API Call via CloudTrail')
      assert.equal(ev.source, 'aws.cloudtrail')
      assert.match(ev.account, /^\d{12}$/)
      assert.equal(ev.detail.eventName, 'StopLogging')
      assert.equal(ev.detail.eventSource, 'cloudtrail.amazonaws.com')

      const [h] = await direct.waitFor(1)
      assert.equal(h!.path, '/events')
      assert.equal(h!.headers['authorization'], 'Bearer t0k3n')
      assert.equal((JSON.parse(h!.body) as { eventName: string }).eventName, 'StopLogging')
      // CreateTrail did not match; nothing else arrives.
      await server.pipeline.drain()
      assert.equal(viaTopic.got.length, 1)
      assert.equal(direct.got.length, 1)
    } finally {
      await viaTopic.close()
      await direct.close()
    }
  })
})

describe('e2e rules: restart', () => {
  it('neither replays history for a new rules sink nor delivers a match twice after restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-rules-restart-'))
    const hook = await receiver()
    try {
      const first = await startNotifyServer(dataDir, { baseDelayMs: 20 })
      const ev1 = new EventBridgeClient({
        endpoint: first.server.url,
        region: 'us-east-1',
        credentials: first.key,
        maxAttempts: 1,
      })
      await ev1.send(
        new PutRuleCommand({
          Name: 'all-put-rule',
          EventPattern: JSON.stringify({ detail: { eventName: ['PutRule'] } }),
        }),
      )
      await ev1.send(
        new PutTargetsCommand({ Rule: 'all-put-rule', Targets: [{ Id: 'h', Arn: hook.url }] }),
      )
      await ev1.send(new PutRuleCommand({ Name: 'again', EventPattern: '{"source":["x"]}' }))
      await hook.waitFor(1)
      await first.server.pipeline.drain()
      await first.server.close()
      const second = await startNotifyServer(dataDir, { baseDelayMs: 20 })
      try {
        await second.server.pipeline.drain()
        const ev2 = new EventBridgeClient({
          endpoint: second.server.url,
          region: 'us-east-1',
          credentials: second.key,
          maxAttempts: 1,
        })
        await ev2.send(new PutRuleCommand({ Name: 'third', EventPattern: '{"source":["x"]}' }))
        await hook.waitFor(2)
        await second.server.pipeline.drain()
        await new Promise((r) => setTimeout(r, 300))
        const names = hook.got.map(
          (g) =>
            (JSON.parse(g.body) as { detail: { requestParameters: { name: string } } }).detail
              .requestParameters.name,
        )
        assert.deepEqual(names, ['again', 'third'])
      } finally {
        await second.server.close()
      }
    } finally {
      await hook.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
