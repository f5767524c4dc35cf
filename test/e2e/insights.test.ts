/**
 * Insights end to end on a started server with a fake clock: two days of synthetic history imported
 * (the baseline), a trail with both Insights types, then a live burst of AccessDenied CreateTrail
 * calls by a user without permissions. The anomaly is raised as Start Insights events (LookupEvents
 * EventCategory insight), ended when the clock moves on, explained by the Insights API (series,
 * attributions) and delivered to the trail's CloudTrail-Insight folder.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import {
  CloudTrailClient,
  CreateTrailCommand,
  ListInsightsMetricDataCommand,
  LookupEventsCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { loadConfig } from '../../src/config/load.js'
import { ImportClient } from '../../src/import/client.js'
import { InsightsApiError, InsightsClient } from '../../src/insights/client.js'
import { generate } from '../../src/insights/testing/synthetic.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { readAdminKey } from '../helpers/server.js'

const ACCOUNT = '123456789012'
const LIMITED = {
  accessKeyId: 'AKIALIMITED000000001',
  secretAccessKey: 'limited-secret-key-000001',
}
const BUCKET = 'insights-e2e-bucket'
const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z'

describe('Insights: a burst of AccessDenied calls raises Start and End Insights events', () => {
  let server: RunningServer
  let dataDir: string
  let work: string
  let now = Math.floor(Date.now() / 60_000) * 60_000 + 5_000
  const t0 = now
  let admin: { accessKeyId: string; secretAccessKey: string }
  let config: Parameters<typeof startServer>[0]
  const start = () =>
    startServer(config, {
      clock: { now: () => new Date(now) },
      logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
    })
  const offset = () => now - Date.now()
  const ct = (key: { accessKeyId: string; secretAccessKey: string }) =>
    new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
      systemClockOffset: offset(),
    })
  const insightsApi = () =>
    new InsightsClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: admin,
      clockOffsetMs: offset(),
    })

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-insights-'))
    work = await mkdtemp(join(tmpdir(), 'opentrail-insights-src-'))
    config = {
      ...(await loadConfig({ port: 0, dataDir }, {})),
      accounts: [
        {
          accountId: ACCOUNT,
          users: [{ name: 'limited', policies: [], accessKeys: [LIMITED] }],
          roles: [],
        },
      ],
      insights: { warmupMinutes: 60 },
      deliveryIntervalSeconds: 3600,
    } as Parameters<typeof startServer>[0]
    server = await start()
    admin = await readAdminKey(dataDir)
  })
  after(async () => {
    await server?.close()
    await rm(dataDir, { recursive: true, force: true })
    await rm(work, { recursive: true, force: true })
  })

  it('builds its baseline from two days of imported history', async () => {
    const records = [
      ...generate({
        accountId: ACCOUNT,
        region: 'us-east-1',
        start: new Date(t0 - 2 * 86_400_000),
        minutes: 2 * 1440 - 2,
        seed: 3,
        apis: [
          {
            eventSource: 'cloudtrail.amazonaws.com',
            eventName: 'CreateTrail',
            rate: 0.03,
            errorRate: 0.1,
            errorCode: 'TrailAlreadyExistsException',
          },
          { eventSource: 'cloudtrail.amazonaws.com', eventName: 'PutEventSelectors', rate: 0.5 },
        ],
        bursts: [],
      }),
    ]
    const dir = join(work, 'AWSLogs', ACCOUNT, 'CloudTrail', 'us-east-1')
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(
        dir,
        `${ACCOUNT}_CloudTrail_us-east-1_${stamp(new Date(t0 - 60_000))}_history000000001.json.gz`,
      ),
      gzipSync(JSON.stringify({ Records: records })),
    )
    const imports = new ImportClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: async () => admin,
    })
    // The import API signs with the real clock; keep the fake one within SigV4's 15 minutes.
    let info = await imports.start({ Source: work })
    while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
      await new Promise((r) => setTimeout(r, 50))
      info = await imports.get(info.ImportId)
    }
    assert.equal(info.ImportStatus, 'COMPLETED', JSON.stringify(info))
    assert.equal(info.ImportStatistics['EventsImported'], records.length)
    await server.pipeline.drain()
    assert.deepEqual(await insightsApi().list(), [])
  })

  it('raises call-rate and error-rate Insights for 15 denied CreateTrail calls', async () => {
    const s3 = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin,
      systemClockOffset: offset(),
    })
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    const c = ct(admin)
    await c.send(new CreateTrailCommand({ Name: 'insights-trail', S3BucketName: BUCKET }))
    await c.send(new StartLoggingCommand({ Name: 'insights-trail' }))
    await c.send(
      new PutInsightSelectorsCommand({
        TrailName: 'insights-trail',
        InsightSelectors: [
          { InsightType: 'ApiCallRateInsight' },
          { InsightType: 'ApiErrorRateInsight' },
        ],
      }),
    )
    const limited = ct(LIMITED)
    for (let i = 0; i < 15; i++) {
      now += 4_000
      await assert.rejects(
        limited.send(new CreateTrailCommand({ Name: `t${i}`, S3BucketName: BUCKET })),
        { name: 'AccessDeniedException' },
      )
    }
    await server.pipeline.drain()
    await server.pipeline.drain() // the Insights events appended by the sink
    const out = await c.send(
      new LookupEventsCommand({ EventCategory: 'insight', StartTime: new Date(t0 - 3600_000) }),
    )
    const events = (out.Events ?? []).map(
      (e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>,
    )
    const kinds = events
      .map((e) => {
        const d = e['insightDetails'] as Record<string, string | undefined>
        return `${String(d['state'])} ${String(d['eventName'])} ${String(d['insightType'])} ${d['errorCode'] ?? ''}`
      })
      .sort()
    assert.deepEqual(kinds, [
      'Start CreateTrail ApiCallRateInsight ',
      'Start CreateTrail ApiErrorRateInsight AccessDenied',
    ])
    const err = events.find(
      (e) =>
        (e['insightDetails'] as Record<string, unknown>)['insightType'] === 'ApiErrorRateInsight',
    )!
    assert.equal(err['eventType'], 'AwsCloudTrailInsight')
    assert.equal(err['eventCategory'], 'Insight')
    assert.equal(err['recipientAccountId'], ACCOUNT)
    const ctx = (err['insightDetails'] as Record<string, unknown>)['insightContext'] as {
      statistics: {
        baseline: { average: number }
        insight: { average: number }
        baselineDuration: number
      }
      attributions: { attribute: string; insight: { value: string }[] }[]
    }
    assert.ok(ctx.statistics.baseline.average < 0.02, JSON.stringify(ctx.statistics))
    assert.ok(ctx.statistics.insight.average >= 3, JSON.stringify(ctx.statistics))
    assert.ok(ctx.statistics.baselineDuration >= 2 * 1440 - 70)
    const who = ctx.attributions.find((a) => a.attribute === 'userIdentityArn')!
    assert.equal(who.insight[0]!.value, `arn:aws:iam::${ACCOUNT}:user/limited`)
    // EventName is one of the three attributes LookupEvents allows for Insights.
    const byName = await c.send(
      new LookupEventsCommand({
        EventCategory: 'insight',
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'PutEventSelectors' }],
        StartTime: new Date(t0 - 3600_000),
      }),
    )
    assert.equal(byName.Events?.length, 0)
  })

  it('ends the anomaly once the clock moves past quiet minutes; Start and End share an ID', async () => {
    now += 10 * 60_000
    await server.insights.tick()
    await server.pipeline.drain()
    await server.pipeline.drain()
    const out = await ct(admin).send(
      new LookupEventsCommand({ EventCategory: 'insight', StartTime: new Date(t0 - 3600_000) }),
    )
    const events = (out.Events ?? []).map(
      (e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>,
    )
    assert.equal(events.length, 4)
    const byShared = new Map<string, string[]>()
    for (const e of events) {
      const d = e['insightDetails'] as Record<string, unknown>
      byShared.set(String(e['sharedEventID']), [
        ...(byShared.get(String(e['sharedEventID'])) ?? []),
        String(d['state']),
      ])
    }
    assert.deepEqual(
      [...byShared.values()].map((s) => s.sort()),
      [
        ['End', 'Start'],
        ['End', 'Start'],
      ],
    )
    const end = events.find(
      (e) => (e['insightDetails'] as Record<string, unknown>)['state'] === 'End',
    )!
    const stats = (
      (end['insightDetails'] as Record<string, unknown>)['insightContext'] as {
        statistics: Record<string, number>
      }
    ).statistics
    assert.ok(
      stats['insightDuration']! >= 1 && stats['insightDuration']! <= 6,
      JSON.stringify(stats),
    )
  })

  it('explains each anomaly through the Insights API: series, band and attributions', async () => {
    const api = insightsApi()
    const list = await api.list({ State: 'CLOSED' })
    assert.equal(list.length, 2)
    const a = await api.get(list.find((x) => x.InsightType === 'ApiErrorRateInsight')!.AnomalyId)
    assert.equal(a.ErrorCode, 'AccessDenied')
    assert.equal(a.Emitted, true)
    const burst = a.Series!.filter((p) => p.Count > 0)
    assert.equal(
      burst.reduce((n, p) => n + p.Count, 0),
      15,
    )
    assert.ok(a.Series!.every((p) => p.Upper > p.Expected))
    await assert.rejects(api.get('no-such-anomaly'), (e: InsightsApiError) => {
      assert.equal(e.name, 'AnomalyNotFoundException')
      return true
    })
    const limited = new InsightsClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: LIMITED,
      clockOffsetMs: offset(),
    })
    await assert.rejects(limited.list(), { name: 'AccessDeniedException' })
  })

  it('ListInsightsMetricData returns the per-minute and 5-minute counts behind the chart', async () => {
    const c = ct(admin)
    const minute = await c.send(
      new ListInsightsMetricDataCommand({
        EventSource: 'cloudtrail.amazonaws.com',
        EventName: 'CreateTrail',
        InsightType: 'ApiErrorRateInsight',
        ErrorCode: 'AccessDenied',
        Period: 60,
        StartTime: new Date(t0 - 3600_000),
      }),
    )
    assert.equal(
      (minute.Values ?? []).reduce((a, b) => a + b, 0),
      15,
    )
    assert.ok((minute.Values ?? []).every((v) => v > 0)) // NonZeroData by default
    const filled = await c.send(
      new ListInsightsMetricDataCommand({
        EventSource: 'cloudtrail.amazonaws.com',
        EventName: 'PutEventSelectors',
        InsightType: 'ApiCallRateInsight',
        Period: 300,
        DataType: 'FillWithZeros',
        StartTime: new Date(t0 - 86_400_000),
        EndTime: new Date(t0),
      }),
    )
    assert.equal(filled.Timestamps?.length, 288)
    const total = (filled.Values ?? []).reduce((a, b) => a + b, 0)
    assert.ok(total > 500 && total < 950, String(total)) // 0.5 calls/min of imported history
    await assert.rejects(
      c.send(
        new ListInsightsMetricDataCommand({
          EventSource: 'cloudtrail.amazonaws.com',
          EventName: 'CreateTrail',
          InsightType: 'ApiErrorRateInsight',
        }),
      ),
      { name: 'InvalidParameterException', message: /ErrorCode is required/ },
    )
  })

  it('opentrail insights list and show print the anomalies and the series', async () => {
    const cli = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [BIN, 'insights', ...args, '--endpoint-url', server.url, '--data-dir', dataDir],
          {
            env: {
              ...process.env,
              AWS_PROFILE: 'opentrail',
              AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
            },
          },
          (err, stdout, stderr) =>
            err ? reject(new Error(stderr || err.message)) : resolve(stdout),
        )
      })
    const list = JSON.parse(await cli(['list', '-o', 'json'])) as {
      AnomalyId: string
      ErrorCode?: string
    }[]
    assert.equal(list.length, 2)
    const id = list.find((a) => a.ErrorCode === 'AccessDenied')!.AnomalyId
    const table = await cli(['list'])
    assert.match(table, /CLOSED .*cloudtrail:CreateTrail/)
    const shown = await cli(['show', id])
    assert.match(
      shown,
      /ApiErrorRateInsight on cloudtrail\.amazonaws\.com CreateTrail \(AccessDenied\)/,
    )
    assert.match(shown, new RegExp(`arn:aws:iam::${ACCOUNT}:user/limited  insight`))
    assert.match(shown, /MINUTE +COUNT +EXPECTED +BAND/)
  })

  it('delivers the Insights events to the trail CloudTrail-Insight folder', async () => {
    await server.delivery.flush()
    const s3 = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin,
      systemClockOffset: offset(),
    })
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: `AWSLogs/${ACCOUNT}/CloudTrail-Insight/us-east-1/`,
      }),
    )
    const keys = (listed.Contents ?? []).map((o) => o.Key!)
    assert.ok(keys.length >= 1, 'no Insights file')
    assert.match(
      keys[0]!,
      new RegExp(`/${ACCOUNT}_CloudTrail-Insight_us-east-1_\\d{8}T\\d{4}Z_\\w{16}\\.json\\.gz$`),
    )
    let records: Record<string, unknown>[] = []
    for (const key of keys) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      const body = Buffer.from(await obj.Body!.transformToByteArray())
      records = records.concat(
        (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: Record<string, unknown>[] })
          .Records,
      )
    }
    assert.equal(records.length, 4)
    assert.ok(records.every((r) => r['eventType'] === 'AwsCloudTrailInsight'))
  })

  it('sensitivity and per-API rules are read and changed through the Insights API', async () => {
    const api = insightsApi()
    const before = await api.call<Record<string, unknown>>('GetInsightsSettings')
    assert.equal(before['Score'], 7)
    assert.equal(before['WarmupMinutes'], 60)
    const after = await api.call<{ Score: number; Rules: Record<string, unknown>[] }>(
      'PutInsightsSettings',
      {
        Score: 8,
        Rules: [
          { EventSource: 'cloudtrail.amazonaws.com', EventName: 'CreateTrail', Excluded: true },
          { EventName: 'PutEventSelectors', MinCount: 50 },
        ],
      },
    )
    assert.equal(after.Score, 8)
    assert.deepEqual(after.Rules, [
      { EventSource: 'cloudtrail.amazonaws.com', EventName: 'CreateTrail', Excluded: true },
      { EventName: 'PutEventSelectors', MinCount: 50 },
    ])
    // An excluded API raises nothing: another denied burst stays quiet.
    const limited = ct(LIMITED)
    for (let i = 0; i < 15; i++) {
      now += 2_000
      await assert.rejects(
        limited.send(new CreateTrailCommand({ Name: `u${i}`, S3BucketName: BUCKET })),
        { name: 'AccessDeniedException' },
      )
    }
    await server.pipeline.drain()
    assert.equal((await api.list({ State: 'OPEN' })).length, 0)
    await assert.rejects(
      api.call('PutInsightsSettings', { Score: 3, EndScore: 4 }),
      (e: InsightsApiError) =>
        e.name === 'InvalidParameterException' && /below Score/.test(e.message),
    )
    await assert.rejects(
      api.call('PutInsightsSettings', { Rules: [{}] }),
      (e: InsightsApiError) => e.name === 'InvalidParameterException',
    )
    await api.call('PutInsightsSettings', { Score: 7, Rules: [] })
  })

  it('a restart resumes from the snapshot: same anomalies, no Insights event twice', async () => {
    await server.close()
    server = await start()
    await server.pipeline.drain()
    await server.insights.tick()
    await server.pipeline.drain()
    const list = await insightsApi().list()
    assert.equal(list.length, 2)
    const out = await ct(admin).send(
      new LookupEventsCommand({ EventCategory: 'insight', StartTime: new Date(t0 - 3600_000) }),
    )
    assert.equal(out.Events?.length, 4)
  })
})
