/**
 * Crash test for the CloudWatch Logs sink: clients call a server (child process) whose trail sends
 * to a log group with a metric filter; the server is killed with SIGKILL and restarted twice.
 * Afterwards every acknowledged call is in the log group exactly once, and the metric counts each
 * stored event exactly once (datapoints commit with the events and the checkpoint).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
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
import { spawnServer, type ServerProcess } from '../helpers/process.js'

const KILLS = 2
const WORKERS = 4
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

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

    const acked = new Set<string>()
    let running = true
    let errors = 0
    const worker = async () => {
      while (running) {
        try {
          const r = await ct.send(new ListTrailsCommand({}))
          if (r.$metadata.requestId) acked.add(r.$metadata.requestId)
        } catch {
          errors++
          await sleep(5)
        }
      }
    }
    const moreAcks = async (n: number) => {
      const floor = acked.size + n
      const deadline = Date.now() + 30_000
      while (acked.size < floor) {
        assert.ok(Date.now() < deadline, `no ${n} acknowledged calls within 30 s`)
        await sleep(5)
      }
    }
    const workers = Array.from({ length: WORKERS }, worker)
    try {
      for (let k = 0; k < KILLS; k++) {
        await moreAcks(30)
        await sleep(Math.random() * 500)
        assert.equal(await proc.kill('SIGKILL'), 'SIGKILL')
        proc = await spawnServer(args)
      }
      await moreAcks(30)
    } finally {
      running = false
      await Promise.all(workers)
    }

    const counts = new Map<string, number>()
    const deadline = Date.now() + 30_000
    for (;;) {
      counts.clear()
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
      const missing = [...acked].filter((id) => !counts.has(id))
      if (missing.length === 0 || Date.now() > deadline) {
        assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged calls lost`)
        break
      }
      await sleep(200)
    }
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
