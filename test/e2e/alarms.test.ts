/**
 * Metric filters → metrics → alarms end to end: a CIS-style metric filter on a trail's log group,
 * an alarm on its metric (AWS CLI `aws cloudwatch`, JSON 1.0), the ALARM transition seconds after
 * the API call, the Notifier, alarm history, GetMetricStatistics / ListMetrics, PutMetricData,
 * bad input, and the Prometheus endpoint.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CloudWatchLogsClient, PutMetricFilterCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import type { AlarmNotification } from '../../src/notify/port.js'
import { AWS_CLI_VERSION, awsCli, type AwsCli } from '../helpers/aws-cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

describe(
  'metric filters, metrics and alarms',
  { skip: !AWS_CLI_VERSION && 'the AWS CLI is not installed' },
  () => {
    let ts: TestServer
    let cliHome: AwsCli | undefined
    let account: string
    const notified: AlarmNotification[] = []

    before(async () => {
      ts = await startTestServer()
      ts.server.monitoring.monitoring.setNotifier({
        alarmChanged: async (n) => {
          notified.push(n)
        },
      })
      cliHome = await awsCli(ts, { region: 'us-east-1', tmpPrefix: 'opentrail-alarms-cli-' })
      const ct = ts.client()
      await ct.send(new CreateTrailCommand({ Name: 'main', S3BucketName: 'main-bucket' }))
      const d = await ct.send(new DescribeTrailsCommand({ trailNameList: ['main'] }))
      account = /:(\d{12}):/.exec(d.trailList![0]!.TrailARN!)![1]!
    })
    after(async () => {
      await ts?.close()
      await cliHome?.close()
    })

    const cli = (...args: string[]) => cliHome!.aws(...args)
    const ok = <T = Record<string, unknown>>(...args: string[]) => cliHome!.ok<T>(...args)

    it('a CIS "protect the trail" filter and alarm go to ALARM seconds after StopLogging', async () => {
      const group = 'CloudTrail/DefaultLogGroup'
      await ok(
        'cloudtrail',
        'update-trail',
        '--name',
        'main',
        '--cloud-watch-logs-log-group-arn',
        `arn:aws:logs:us-east-1:${account}:log-group:${group}:*`,
        '--cloud-watch-logs-role-arn',
        `arn:aws:iam::${account}:role/CloudTrail_CloudWatchLogs_Role`,
      )
      await ok('logs', 'create-log-group', '--log-group-name', group)
      await ok(
        'logs',
        'put-metric-filter',
        '--log-group-name',
        group,
        '--filter-name',
        'CloudTrailChanges',
        '--filter-pattern',
        '{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }',
        '--metric-transformations',
        'metricName=CloudTrailEventCount,metricNamespace=CISBenchmark,metricValue=1',
      )
      const topic = `arn:aws:sns:us-east-1:${account}:security-alerts`
      await ok(
        'cloudwatch',
        'put-metric-alarm',
        '--alarm-name',
        'cis-4.5-cloudtrail-changes',
        '--metric-name',
        'CloudTrailEventCount',
        '--namespace',
        'CISBenchmark',
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
        '--treat-missing-data',
        'notBreaching',
        '--alarm-actions',
        topic,
      )
      // notBreaching with no data: OK.
      await until(async () => {
        const d = await ok<{ MetricAlarms: { StateValue: string }[] }>(
          'cloudwatch',
          'describe-alarms',
          '--alarm-names',
          'cis-4.5-cloudtrail-changes',
        )
        return d.MetricAlarms[0]!.StateValue === 'OK' ? true : undefined
      }, 'the alarm to be OK')
      const ct = ts.client()
      await ct.send(new StartLoggingCommand({ Name: 'main' }))
      await ct.send(new StopLoggingCommand({ Name: 'main' }))
      const alarm = await until(async () => {
        const d = await ok<{ MetricAlarms: Record<string, unknown>[] }>(
          'cloudwatch',
          'describe-alarms',
          '--state-value',
          'ALARM',
        )
        return d.MetricAlarms[0]
      }, 'the alarm to go to ALARM')
      assert.equal(alarm['AlarmName'], 'cis-4.5-cloudtrail-changes')
      assert.match(
        String(alarm['StateReason']),
        /^Threshold Crossed: 1 out of the last 1 datapoints/,
      )
      assert.equal(
        alarm['AlarmArn'],
        `arn:aws:cloudwatch:us-east-1:${account}:alarm:cis-4.5-cloudtrail-changes`,
      )
      const n = await until(
        async () => notified.find((x) => x.newState === 'ALARM'),
        'a notification',
      )
      assert.deepEqual(n.actions, [topic])
      assert.equal(n.oldState, 'OK')
      assert.equal(n.accountId, account)
      const h = await ok<{
        AlarmHistoryItems: { HistoryItemType: string; HistorySummary: string }[]
      }>('cloudwatch', 'describe-alarm-history', '--alarm-name', 'cis-4.5-cloudtrail-changes')
      const summaries = h.AlarmHistoryItems.map((i) => `${i.HistoryItemType}: ${i.HistorySummary}`)
      assert.ok(
        summaries.includes('StateUpdate: Alarm updated from OK to ALARM'),
        summaries.join('\n'),
      )
      assert.ok(summaries.includes('StateUpdate: Alarm updated from INSUFFICIENT_DATA to OK'))
      assert.ok(summaries.some((s) => s.startsWith('ConfigurationUpdate: Alarm "cis-4.5')))
      assert.ok(summaries.includes(`Action: Successfully executed action ${topic}`))
      // The metric itself.
      const m = await ok<{ Metrics: { MetricName: string; Namespace: string }[] }>(
        'cloudwatch',
        'list-metrics',
        '--namespace',
        'CISBenchmark',
      )
      assert.deepEqual(m.Metrics, [
        { Namespace: 'CISBenchmark', MetricName: 'CloudTrailEventCount', Dimensions: [] },
      ])
      const now = Date.now()
      const stats = await ok<{ Datapoints: { Sum: number; SampleCount: number }[] }>(
        'cloudwatch',
        'get-metric-statistics',
        '--namespace',
        'CISBenchmark',
        '--metric-name',
        'CloudTrailEventCount',
        '--start-time',
        new Date(now - 3600_000).toISOString(),
        '--end-time',
        new Date(now + 60_000).toISOString(),
        '--period',
        '3600',
        '--statistics',
        'Sum',
        'SampleCount',
      )
      // StartLogging and StopLogging (UpdateTrail came before the trail was logging).
      const total = stats.Datapoints.reduce((a, d) => a + d.Sum, 0)
      assert.equal(total, 2)
    })

    it('PutMetricData, alarms on dimensions, SetAlarmState and DeleteAlarms', async () => {
      await ok(
        'cloudwatch',
        'put-metric-alarm',
        '--alarm-name',
        'latency-high',
        '--metric-name',
        'Latency',
        '--namespace',
        'App',
        '--dimensions',
        'Name=Service,Value=api',
        '--statistic',
        'Average',
        '--period',
        '60',
        '--threshold',
        '500',
        '--comparison-operator',
        'GreaterThanThreshold',
        '--evaluation-periods',
        '2',
        '--datapoints-to-alarm',
        '1',
      )
      await ok(
        'cloudwatch',
        'put-metric-data',
        '--namespace',
        'App',
        '--metric-data',
        'MetricName=Latency,Dimensions=[{Name=Service,Value=api}],Value=900,Unit=Milliseconds',
      )
      await until(async () => {
        const d = await ok<{ MetricAlarms: { StateValue: string }[] }>(
          'cloudwatch',
          'describe-alarms-for-metric',
          '--metric-name',
          'Latency',
          '--namespace',
          'App',
          '--dimensions',
          'Name=Service,Value=api',
        )
        return d.MetricAlarms[0]?.StateValue === 'ALARM' ? true : undefined
      }, 'latency-high in ALARM')
      await ok(
        'cloudwatch',
        'set-alarm-state',
        '--alarm-name',
        'latency-high',
        '--state-value',
        'OK',
        '--state-reason',
        'testing',
      )
      // The set state lasts until the next evaluation (at most 10 s later, back to ALARM here), so
      // the history is checked rather than the current state.
      const h = await ok<{ AlarmHistoryItems: { HistorySummary: string; HistoryData: string }[] }>(
        'cloudwatch',
        'describe-alarm-history',
        '--alarm-name',
        'latency-high',
        '--history-item-type',
        'StateUpdate',
      )
      const set = h.AlarmHistoryItems.find(
        (i) => i.HistorySummary === 'Alarm updated from ALARM to OK',
      )
      assert.ok(set, h.AlarmHistoryItems.map((i) => i.HistorySummary).join('\n'))
      assert.equal(
        (JSON.parse(set.HistoryData) as { newState: { stateReason: string } }).newState.stateReason,
        'testing',
      )
      await ok('cloudwatch', 'delete-alarms', '--alarm-names', 'latency-high')
      const r = await cli('cloudwatch', 'delete-alarms', '--alarm-names', 'latency-high')
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /ResourceNotFound/)
    })

    it('rejects bad alarms with CloudWatch errors', async () => {
      const base = [
        'cloudwatch',
        'put-metric-alarm',
        '--alarm-name',
        'bad',
        '--metric-name',
        'M',
        '--namespace',
        'N',
        '--statistic',
        'Sum',
        '--threshold',
        '1',
        '--comparison-operator',
        'GreaterThanThreshold',
      ]
      let r = await cli(...base, '--period', '45', '--evaluation-periods', '1')
      assert.match(r.stderr, /InvalidParameterValue/)
      r = await cli(
        ...base,
        '--period',
        '60',
        '--evaluation-periods',
        '2',
        '--datapoints-to-alarm',
        '3',
      )
      assert.match(r.stderr, /InvalidParameterValue/)
      r = await cli(
        ...base,
        '--period',
        '60',
        '--evaluation-periods',
        '1',
        '--treat-missing-data',
        'maybe',
      )
      assert.match(r.stderr, /InvalidParameterValue/)
      r = await cli(
        'cloudwatch',
        'get-metric-statistics',
        '--namespace',
        'N',
        '--metric-name',
        'M',
        '--start-time',
        '2026-01-01T00:00:00Z',
        '--end-time',
        '2026-01-10T00:00:00Z',
        '--period',
        '60',
        '--statistics',
        'Sum',
      )
      assert.match(r.stderr, /InvalidParameterCombination.*exceeds the limit of 1440/)
      const logs = new CloudWatchLogsClient({
        endpoint: ts.url,
        region: 'us-east-1',
        credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
        maxAttempts: 1,
      })
      await assert.rejects(
        logs.send(
          new PutMetricFilterCommand({
            logGroupName: 'CloudTrail/DefaultLogGroup',
            filterName: 'dims-and-default',
            filterPattern: '{ $.eventName = * }',
            metricTransformations: [
              {
                metricName: 'X',
                metricNamespace: 'Y',
                metricValue: '1',
                defaultValue: 0,
                dimensions: { EventName: '$.eventName' },
              },
            ],
          }),
        ),
        /cannot have a default value/,
      )
      logs.destroy()
    })

    it('serves Prometheus metrics to loopback clients', async () => {
      const res = await fetch(`${ts.url}/metrics`)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0.0.4/)
      const text = await res.text()
      assert.match(
        text,
        /opentrail_alarm_state\{account="\d{12}",region="us-east-1",alarm="cis-4.5-cloudtrail-changes",state="ALARM"\} 1/,
      )
      assert.match(
        text,
        /opentrail_cloudwatch_metric_sum\{account="\d{12}",region="us-east-1",namespace="CISBenchmark",metric_name="CloudTrailEventCount"\} [1-9]/,
      )
      assert.match(
        text,
        /opentrail_log_group_stored_bytes\{[^}]*log_group="CloudTrail\/DefaultLogGroup"\} [1-9]/,
      )
      assert.match(text, /opentrail_pipeline_sink_lag\{sink="cloudwatch-logs"\} \d+/)
    })
  },
)

describe('Prometheus endpoint with a token', () => {
  it('needs the bearer token', async () => {
    const ts = await startTestServer({ metricsToken: 'a-long-enough-token' })
    try {
      assert.equal((await fetch(`${ts.url}/metrics`)).status, 401)
      const bad = await fetch(`${ts.url}/metrics`, { headers: { authorization: 'Bearer nope' } })
      assert.equal(bad.status, 401)
      const good = await fetch(`${ts.url}/metrics`, {
        headers: { authorization: 'Bearer a-long-enough-token' },
      })
      assert.equal(good.status, 200)
      assert.match(await good.text(), /# TYPE opentrail_alarm_state gauge/)
    } finally {
      await ts.close()
    }
  })
})
