/**
 * AWS CLI interop for CloudWatch Logs and CloudWatch alarms: the `aws logs …` and `aws cloudwatch …`
 * commands users run on a CloudTrail log group, unchanged, against OpenTrail.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AWS_CLI_VERSION, awsCli, type AwsCli } from '../helpers/aws-cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const skip = !AWS_CLI_VERSION && 'the AWS CLI (aws) is not on PATH'

describe('aws logs / aws cloudwatch against OpenTrail', { skip }, () => {
  let ts: TestServer
  let cli: AwsCli | undefined
  let account: string

  before(async () => {
    ts = await startTestServer()
    cli = await awsCli(ts, { region: 'us-east-1', tmpPrefix: 'opentrail-awslogs-' })
  })
  after(async () => {
    await ts?.close()
    await cli?.close()
  })

  const aws = (...args: string[]) => cli!.aws(...args)
  const ok = <T = Record<string, unknown>>(...args: string[]) => cli!.ok<T>(...args)

  it('sends a trail to a log group and reads it back', async () => {
    const created = await ok<{ TrailARN: string }>(
      'cloudtrail',
      'create-trail',
      '--name',
      'org-trail',
      '--s3-bucket-name',
      'org-trail-bucket',
    )
    account = /:(\d{12}):/.exec(created.TrailARN)![1]!
    await ok('logs', 'create-log-group', '--log-group-name', 'aws-cloudtrail-logs')
    await ok(
      'logs',
      'put-retention-policy',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--retention-in-days',
      '90',
    )
    await ok(
      'cloudtrail',
      'update-trail',
      '--name',
      'org-trail',
      '--cloud-watch-logs-log-group-arn',
      `arn:aws:logs:us-east-1:${account}:log-group:aws-cloudtrail-logs:*`,
      '--cloud-watch-logs-role-arn',
      `arn:aws:iam::${account}:role/CloudTrailRoleForCloudWatchLogs`,
    )
    await ok('cloudtrail', 'start-logging', '--name', 'org-trail')
    await ok('cloudtrail', 'describe-trails')
    const stream = `${account}_CloudTrail_us-east-1`
    const deadline = Date.now() + 20_000
    let found: { events: { message: string }[] } = { events: [] }
    while (found.events.length === 0 && Date.now() < deadline) {
      found = await ok(
        'logs',
        'filter-log-events',
        '--log-group-name',
        'aws-cloudtrail-logs',
        '--filter-pattern',
        '{ $.eventName = "DescribeTrails" }',
        '--start-time',
        String(Date.now() - 600_000),
      )
      if (found.events.length === 0) await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(found.events.length, 1)
    const groups = await ok<{ logGroups: { logGroupName: string; retentionInDays: number }[] }>(
      'logs',
      'describe-log-groups',
      '--log-group-name-prefix',
      'aws-cloudtrail',
    )
    assert.deepEqual(
      groups.logGroups.map((g) => [g.logGroupName, g.retentionInDays]),
      [['aws-cloudtrail-logs', 90]],
    )
    const streams = await ok<{ logStreams: { logStreamName: string }[] }>(
      'logs',
      'describe-log-streams',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--order-by',
      'LastEventTime',
      '--descending',
    )
    assert.equal(streams.logStreams[0]!.logStreamName, stream)
    const events = await ok<{ events: { message: string }[]; nextForwardToken: string }>(
      'logs',
      'get-log-events',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--log-stream-name',
      stream,
      '--start-from-head',
      '--limit',
      '5',
    )
    assert.ok(events.events.length >= 1)
    assert.match(events.nextForwardToken, /^f\//)
    const names = events.events.map(
      (e) => (JSON.parse(e.message) as { eventName: string }).eventName,
    )
    assert.ok(names.includes('DescribeTrails'), names.join(','))
  })

  it('metric filters and alarms as CIS remediation scripts create them', async () => {
    await ok(
      'logs',
      'put-metric-filter',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--filter-name',
      'ConsoleSigninWithoutMFA',
      '--metric-transformations',
      'metricName=ConsoleSigninWithoutMFA,metricNamespace=CISBenchmark,metricValue=1',
      '--filter-pattern',
      '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    )
    const filters = await ok<{ metricFilters: { filterName: string }[] }>(
      'logs',
      'describe-metric-filters',
      '--log-group-name',
      'aws-cloudtrail-logs',
    )
    assert.deepEqual(
      filters.metricFilters.map((f) => f.filterName),
      ['ConsoleSigninWithoutMFA'],
    )
    const test = await ok<{ matches: { eventNumber: number }[] }>(
      'logs',
      'test-metric-filter',
      '--filter-pattern',
      '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
      '--log-event-messages',
      '{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"}}',
      '{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"}}',
    )
    assert.deepEqual(
      test.matches.map((m) => m.eventNumber),
      [1],
    )
    await ok(
      'cloudwatch',
      'put-metric-alarm',
      '--alarm-name',
      'ConsoleSigninWithoutMFA',
      '--metric-name',
      'ConsoleSigninWithoutMFA',
      '--statistic',
      'Sum',
      '--period',
      '300',
      '--threshold',
      '1',
      '--comparison-operator',
      'GreaterThanOrEqualToThreshold',
      '--evaluation-periods',
      '1',
      '--namespace',
      'CISBenchmark',
    )
    const alarms = await ok<{ MetricAlarms: { AlarmName: string; Namespace: string }[] }>(
      'cloudwatch',
      'describe-alarms',
    )
    assert.deepEqual(
      alarms.MetricAlarms.map((a) => [a.AlarmName, a.Namespace]),
      [['ConsoleSigninWithoutMFA', 'CISBenchmark']],
    )
    const bad = await aws(
      'logs',
      'put-metric-filter',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--filter-name',
      'bad',
      '--metric-transformations',
      'metricName=X,metricNamespace=Y,metricValue=1',
      '--filter-pattern',
      '{ ($.eventName = "ConsoleLogin" }',
    )
    assert.notEqual(bad.code, 0)
    assert.match(
      bad.stderr,
      /An error occurred \(InvalidParameterException\).*position 33: expected .\). but found .}./,
    )
    await ok('cloudwatch', 'delete-alarms', '--alarm-names', 'ConsoleSigninWithoutMFA')
    await ok(
      'logs',
      'delete-metric-filter',
      '--log-group-name',
      'aws-cloudtrail-logs',
      '--filter-name',
      'ConsoleSigninWithoutMFA',
    )
    // (The trail's group would be re-created by its next event: delete one no trail sends to.)
    await ok('logs', 'create-log-group', '--log-group-name', 'scratch')
    await ok('logs', 'delete-log-group', '--log-group-name', 'scratch')
    const gone = await aws('logs', 'describe-log-streams', '--log-group-name', 'scratch')
    assert.match(gone.stderr, /ResourceNotFoundException/)
  })
})
