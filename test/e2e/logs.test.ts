/**
 * CloudWatch Logs end to end: a trail's CloudWatchLogsLogGroupArn receives its events, and the
 * Logs_20140328 API (the real @aws-sdk/client-cloudwatch-logs and the AWS CLI) lists, reads and
 * filters them; PutLogEvents, retention, metric filters and bad input.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DeleteMetricFilterCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  DescribeMetricFiltersCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  PutMetricFilterCommand,
  PutRetentionPolicyCommand,
  TestMetricFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  ListTrailsCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail'
import { AWS_CLI_VERSION, awsCli, type AwsCli } from '../helpers/aws-cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

const hasAws = AWS_CLI_VERSION !== undefined

async function expectError(p: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.equal(e.name, name, e.message)
    if (message) assert.match(e.message, message)
    return true
  })
}

describe('CloudWatch Logs', () => {
  let ts: TestServer
  let logs: CloudWatchLogsClient
  let account: string
  let cli: AwsCli | undefined

  before(async () => {
    ts = await startTestServer()
    logs = new CloudWatchLogsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
      maxAttempts: 1,
    })
    cli = await awsCli(ts, { region: 'us-east-1', tmpPrefix: 'opentrail-logs-cli-' })
    const ct = ts.client()
    await ct.send(new CreateTrailCommand({ Name: 'probe', S3BucketName: 'probe-bucket' }))
    const d = await ct.send(new DescribeTrailsCommand({ trailNameList: ['probe'] }))
    account = /:(\d{12}):/.exec(d.trailList![0]!.TrailARN!)![1]!
  })
  after(async () => {
    logs?.destroy()
    await ts?.close()
    await cli?.close()
  })

  const aws = (...args: string[]) => cli!.aws(...args)

  it("sends a trail's events to its log group, stream <account>_CloudTrail_<region>", async () => {
    const ct = ts.client()
    await ct.send(
      new UpdateTrailCommand({
        Name: 'probe',
        CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${account}:log-group:CloudTrail/audit:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${account}:role/CloudTrail_CloudWatchLogs_Role`,
      }),
    )
    const { StartLoggingCommand } = await import('@aws-sdk/client-cloudtrail')
    await ct.send(new StartLoggingCommand({ Name: 'probe' }))
    await ct.send(new ListTrailsCommand({}))
    const events = await until(async () => {
      try {
        const r = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: 'CloudTrail/audit',
            filterPattern: '{ $.eventName = "ListTrails" }',
          }),
        )
        return r.events!.length > 0 ? r.events! : undefined
      } catch (e) {
        if ((e as Error).name === 'ResourceNotFoundException') return undefined
        throw e
      }
    }, 'ListTrails in the log group')
    assert.equal(events[0]!.logStreamName, `${account}_CloudTrail_us-east-1`)
    const record = JSON.parse(events[0]!.message!) as Record<string, unknown>
    assert.equal(record['eventName'], 'ListTrails')
    assert.equal(events[0]!.timestamp, Date.parse(record['eventTime'] as string))
    const groups = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: 'CloudTrail/' }),
    )
    assert.deepEqual(
      groups.logGroups!.map((g) => g.logGroupName),
      ['CloudTrail/audit'],
    )
    assert.equal(
      groups.logGroups![0]!.arn,
      `arn:aws:logs:us-east-1:${account}:log-group:CloudTrail/audit:*`,
    )
    assert.ok(groups.logGroups![0]!.storedBytes! > 0)
    const streams = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: 'CloudTrail/audit' }),
    )
    assert.deepEqual(
      streams.logStreams!.map((s) => s.logStreamName),
      [`${account}_CloudTrail_us-east-1`],
    )
  })

  it(
    'aws logs filter-log-events with a JSON pattern, as in the seeds',
    { skip: !hasAws },
    async () => {
      await ts.client().send(new ListTrailsCommand({}))
      const out = await until(async () => {
        const r = await aws(
          'logs',
          'filter-log-events',
          '--log-group-name',
          'CloudTrail/audit',
          '--filter-pattern',
          '{ $.eventName = "ListTrails" }',
        )
        assert.equal(r.code, 0, r.stderr)
        const j = JSON.parse(r.stdout) as { events: { message: string }[] }
        return j.events.length >= 2 ? j : undefined
      }, 'two ListTrails events via the CLI')
      for (const e of out.events)
        assert.equal((JSON.parse(e.message) as { eventName: string }).eventName, 'ListTrails')
      const r = await aws(
        'logs',
        'filter-log-events',
        '--log-group-name',
        'CloudTrail/audit',
        '--filter-pattern',
        '{ $.eventName = ',
      )
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /An error occurred \(InvalidParameterException\)/)
      assert.match(r.stderr, /position 17/)
      const groups = await aws('logs', 'describe-log-groups')
      assert.equal(groups.code, 0, groups.stderr)
      assert.match(groups.stdout, /CloudTrail\/audit/)
    },
  )

  it('PutLogEvents, GetLogEvents tokens and FilterLogEvents pagination', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'app' }))
    await expectError(
      logs.send(new CreateLogGroupCommand({ logGroupName: 'app' })),
      'ResourceAlreadyExistsException',
    )
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'app', logStreamName: 'web' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'app', logStreamName: 'db' }))
    const t0 = Date.now() - 60_000
    const web = Array.from({ length: 25 }, (_, i) => ({
      timestamp: t0 + i * 1000,
      message: `10.0.0.${i} - alice [x] "GET /p${i}.html HTTP/1.1" ${i % 5 === 0 ? 404 : 200} ${100 * i}`,
    }))
    await logs.send(
      new PutLogEventsCommand({ logGroupName: 'app', logStreamName: 'web', logEvents: web }),
    )
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'app',
        logStreamName: 'db',
        logEvents: [
          { timestamp: t0 + 500, message: 'ERROR deadlock detected' },
          { timestamp: t0 + 1500, message: 'WARN slow query' },
        ],
      }),
    )
    // Space-delimited pattern with conditions.
    const notFound = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: 'app',
        filterPattern: '[ip, ident, user, ts, request, status = 404, bytes]',
      }),
    )
    assert.equal(notFound.events!.length, 5)
    // Pagination: 27 events in pages of 10, in timestamp order across streams.
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const r = await logs.send(
        new FilterLogEventsCommand({ logGroupName: 'app', limit: 10, nextToken: token }),
      )
      seen.push(...r.events!.map((e) => e.eventId!))
      token = r.nextToken
      pages++
    } while (token)
    assert.equal(pages, 3)
    assert.equal(new Set(seen).size, 27)
    // Terms, OR terms and stream filters.
    const or = await logs.send(
      new FilterLogEventsCommand({ logGroupName: 'app', filterPattern: '?ERROR ?WARN' }),
    )
    assert.deepEqual(
      or.events!.map((e) => e.message),
      ['ERROR deadlock detected', 'WARN slow query'],
    )
    const onlyWeb = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: 'app',
        logStreamNames: ['web'],
        startTime: t0 + 10_000,
        endTime: t0 + 14_000,
      }),
    )
    assert.equal(onlyWeb.events!.length, 5)
    // GetLogEvents: newest first page by default, forward tokens from the head, stable at the end.
    const tail = await logs.send(
      new GetLogEventsCommand({ logGroupName: 'app', logStreamName: 'web', limit: 5 }),
    )
    assert.deepEqual(
      tail.events!.map((e) => e.timestamp),
      [20, 21, 22, 23, 24].map((i) => t0 + i * 1000),
    )
    let fwd: string | undefined
    const all: number[] = []
    for (let i = 0; i < 10; i++) {
      const r = await logs.send(
        new GetLogEventsCommand({
          logGroupName: 'app',
          logStreamName: 'web',
          limit: 10,
          startFromHead: true,
          nextToken: fwd,
        }),
      )
      all.push(...r.events!.map((e) => e.timestamp!))
      if (r.nextForwardToken === fwd) break
      fwd = r.nextForwardToken
    }
    assert.equal(all.length, 25)
    // TestMetricFilter: matches with extracted values.
    const test = await logs.send(
      new TestMetricFilterCommand({
        filterPattern: '[ip, ident, user, ts, request, status = 404, bytes]',
        logEventMessages: [web[0]!.message, web[1]!.message],
      }),
    )
    assert.equal(test.matches!.length, 1)
    assert.equal(test.matches![0]!.eventNumber, 1)
    assert.equal(test.matches![0]!.extractedValues!['$status'], '404')
  })

  it('metric filters: put, describe, delete, limits and errors', async () => {
    await logs.send(
      new PutMetricFilterCommand({
        logGroupName: 'app',
        filterName: 'errors',
        filterPattern: 'ERROR',
        metricTransformations: [
          { metricName: 'Errors', metricNamespace: 'App', metricValue: '1', defaultValue: 0 },
        ],
      }),
    )
    const d = await logs.send(new DescribeMetricFiltersCommand({ logGroupName: 'app' }))
    assert.equal(d.metricFilters!.length, 1)
    assert.equal(d.metricFilters![0]!.metricTransformations![0]!.metricName, 'Errors')
    const byMetric = await logs.send(
      new DescribeMetricFiltersCommand({ metricName: 'Errors', metricNamespace: 'App' }),
    )
    assert.equal(byMetric.metricFilters!.length, 1)
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: 'app' }))
    assert.equal(groups.logGroups![0]!.metricFilterCount, 1)
    await expectError(
      logs.send(
        new PutMetricFilterCommand({
          logGroupName: 'app',
          filterName: 'bad',
          filterPattern: '{ $.latency > }',
          metricTransformations: [{ metricName: 'L', metricNamespace: 'App', metricValue: '1' }],
        }),
      ),
      'InvalidParameterException',
      /position 15/,
    )
    await expectError(
      logs.send(
        new PutMetricFilterCommand({
          logGroupName: 'app',
          filterName: 'bad',
          filterPattern: 'ERROR',
          metricTransformations: [
            { metricName: 'L', metricNamespace: 'App', metricValue: '$.latency' },
          ],
        }),
      ),
      'InvalidParameterException',
    )
    await expectError(
      logs.send(
        new PutMetricFilterCommand({
          logGroupName: 'nope',
          filterName: 'x',
          filterPattern: 'ERROR',
          metricTransformations: [{ metricName: 'L', metricNamespace: 'App', metricValue: '1' }],
        }),
      ),
      'ResourceNotFoundException',
    )
    await logs.send(new DeleteMetricFilterCommand({ logGroupName: 'app', filterName: 'errors' }))
    await expectError(
      logs.send(new DeleteMetricFilterCommand({ logGroupName: 'app', filterName: 'errors' })),
      'ResourceNotFoundException',
    )
  })

  it('retention, deletion and bad input', async () => {
    await expectError(
      logs.send(new PutRetentionPolicyCommand({ logGroupName: 'app', retentionInDays: 2 })),
      'InvalidParameterException',
    )
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: 'app', retentionInDays: 1 }))
    const g = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: 'app' }))
    assert.equal(g.logGroups![0]!.retentionInDays, 1)
    await expectError(
      logs.send(new FilterLogEventsCommand({ logGroupName: 'missing' })),
      'ResourceNotFoundException',
    )
    await expectError(
      logs.send(new FilterLogEventsCommand({ logGroupName: 'app', filterPattern: '%a(b)%' })),
      'InvalidParameterException',
      /position 3/,
    )
    await expectError(
      logs.send(new FilterLogEventsCommand({ logGroupName: 'app', nextToken: 'garbage' })),
      'InvalidNextTokenException',
    )
    await expectError(
      logs.send(new CreateLogGroupCommand({ logGroupName: 'bad name!' })),
      'InvalidParameterException',
    )
    await logs.send(new DeleteLogGroupCommand({ logGroupName: 'app' }))
    await expectError(
      logs.send(new FilterLogEventsCommand({ logGroupName: 'app' })),
      'ResourceNotFoundException',
    )
    // A re-created group starts empty.
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'app' }))
    const r = await logs.send(new FilterLogEventsCommand({ logGroupName: 'app' }))
    assert.equal(r.events!.length, 0)
  })
})
