/**
 * Crash test for the CloudWatch Logs sink: clients call a server (child process) whose trail sends
 * to a log group with a metric filter; the server is killed with SIGKILL and restarted twice.
 * Afterwards every acknowledged call is in the log group exactly once, and the metric counts each
 * stored event exactly once (datapoints commit with the events and the checkpoint).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  CreateTrailCommand,
  DescribeTrailsCommand,
  ListTrailsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  FilterLogEventsCommand,
  PutMetricFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import { awsJsonCall } from '../../src/shared/aws-call.js'
import { readAdminKey } from '../helpers/server.js'
import { callLoop, freePort, killAndRestart, waitForEveryAck } from '../helpers/crash.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'

const KILLS = 2
const WORKERS = 4

describe('e2e crash: CloudWatch Logs sink under SIGKILL', () => {
  let dir: string
  let proc: ServerProcess | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-logs-crash-'))
  })
  after(async () => {
    await proc?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('every acknowledged call reaches the log group and the metric exactly once', async (t) => {
    const started = Date.now()
    const port = await freePort()
    const endpoint = `http://127.0.0.1:${port}`
    const args = ['--port', String(port), '--data-dir', dir]
    proc = await spawnServer(args)
    const key = await readAdminKey(dir)
    const ct = new CloudTrailClient({
      endpoint,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    const logs = new CloudWatchLogsClient({
      endpoint,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    await ct.send(new CreateTrailCommand({ Name: 'main', S3BucketName: 'main-bucket' }))
    const d = await ct.send(new DescribeTrailsCommand({ trailNameList: ['main'] }))
    const account = /:(\d{12}):/.exec(d.trailList![0]!.TrailARN!)![1]!
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'audit' }))
    await logs.send(
      new PutMetricFilterCommand({
        logGroupName: 'audit',
        filterName: 'list-trails',
        filterPattern: '{ $.eventName = ListTrails }',
        metricTransformations: [
          { metricName: 'ListTrails', metricNamespace: 'Crash', metricValue: '1' },
        ],
      }),
    )
    await ct.send(
      new UpdateTrailCommand({
        Name: 'main',
        CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${account}:log-group:audit:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${account}:role/cwl`,
      }),
    )
    await ct.send(new StartLoggingCommand({ Name: 'main' }))

    const load = callLoop(
      async () => (await ct.send(new ListTrailsCommand({}))).$metadata.requestId,
      WORKERS,
    )
    const { acked } = load
    await killAndRestart(proc, args, load, {
      kills: KILLS,
      maxPauseMs: 500,
      onRestart: (p) => (proc = p),
    })
    const errors = load.errors

    const counts = await waitForEveryAck(acked, async () => {
      const counts = new Map<string, number>()
      let nextToken: string | undefined
      do {
        const page = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: 'audit',
            filterPattern: '{ $.eventName = ListTrails }',
            nextToken,
          }),
        )
        for (const e of page.events ?? []) {
          const id = (JSON.parse(e.message!) as { requestID: string }).requestID
          counts.set(id, (counts.get(id) ?? 0) + 1)
        }
        nextToken = page.nextToken
      } while (nextToken)
      return counts
    })
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1),
      [],
      'events stored more than once',
    )
    const stored = [...counts.values()].reduce((a, b) => a + b, 0)
    const stats = await awsJsonCall<{ Datapoints: { Sum: number }[] }>({
      endpoint,
      region: 'us-east-1',
      credentials: async () => key,
      service: 'monitoring',
      target: 'GraniteServiceVersion20100801.GetMetricStatistics',
      version: '1.0',
      input: {
        Namespace: 'Crash',
        MetricName: 'ListTrails',
        StartTime: Math.floor((started - 120_000) / 60_000) * 60,
        EndTime: Math.ceil((Date.now() + 120_000) / 60_000) * 60,
        Period: 60,
        Statistics: ['Sum'],
      },
    })
    const sum = stats.Datapoints.reduce((a, p) => a + p.Sum, 0)
    assert.equal(sum, stored, 'the metric counts each stored event once')
    t.diagnostic(`${acked.size} acknowledged, ${stored} stored, ${errors} failed calls`)
    ct.destroy()
    logs.destroy()
  })
})
