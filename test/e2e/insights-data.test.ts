/**
 * Data-event Insights on a trail, end to end with a fake clock: a trail that logs S3 object data
 * events turns on ApiCallRateInsight for `EventCategories: ["Data"]`; two days of imported PutObject
 * data events are its baseline; a burst of PutObject calls through OpenTrail's S3 API raises a Start
 * Insights event for PutObject with `insightDetails.eventCategory: "Data"`. A trail without data
 * events cannot turn data-event Insights on.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import {
  CloudTrailClient,
  CreateTrailCommand,
  GetInsightSelectorsCommand,
  LookupEventsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { loadConfig } from '../../src/config/load.js'
import { ImportClient } from '../../src/import/client.js'
import { generate } from '../../src/insights/testing/synthetic.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { readAdminKey } from '../helpers/server.js'

const ACCOUNT = '123456789012'
const BUCKET = 'insights-data-bucket'
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z'

describe('data-event Insights on a trail: a burst of PutObject calls', () => {
  let server: RunningServer
  let dataDir: string
  let work: string
  let now = Math.floor(Date.now() / 60_000) * 60_000 + 5_000
  const t0 = now
  let admin: { accessKeyId: string; secretAccessKey: string }
  const ct = () =>
    new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: admin,
      maxAttempts: 1,
      systemClockOffset: now - Date.now(),
    })
  const s3 = () =>
    new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: admin,
      maxAttempts: 1,
      systemClockOffset: now - Date.now(),
    })

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-insights-data-'))
    work = await mkdtemp(join(tmpdir(), 'opentrail-insights-data-src-'))
    const config = {
      ...(await loadConfig({ port: 0, dataDir }, {})),
      accounts: [{ accountId: ACCOUNT, users: [], roles: [] }],
      insights: { warmupMinutes: 60 },
      deliveryIntervalSeconds: 3600,
    } as Parameters<typeof startServer>[0]
    server = await startServer(config, {
      clock: { now: () => new Date(now) },
      logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
    })
    admin = await readAdminKey(dataDir)
  })
  after(async () => {
    await server?.close()
    await rm(dataDir, { recursive: true, force: true })
    await rm(work, { recursive: true, force: true })
  })

  it('needs a trail that logs data events', async () => {
    const c = ct()
    await s3().send(new CreateBucketCommand({ Bucket: BUCKET }))
    await c.send(new CreateTrailCommand({ Name: 'mgmt-only', S3BucketName: BUCKET }))
    await assert.rejects(
      c.send(
        new PutInsightSelectorsCommand({
          TrailName: 'mgmt-only',
          InsightSelectors: [{ InsightType: 'ApiCallRateInsight', EventCategories: ['Data'] }],
        }),
      ),
      { name: 'InvalidInsightSelectorsException' },
    )
    await c.send(new CreateTrailCommand({ Name: 'data-trail', S3BucketName: BUCKET }))
    await c.send(
      new PutEventSelectorsCommand({
        TrailName: 'data-trail',
        AdvancedEventSelectors: [
          { Name: 'm', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          {
            Name: 'objects',
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      }),
    )
    await c.send(new StartLoggingCommand({ Name: 'data-trail' }))
    const put = await c.send(
      new PutInsightSelectorsCommand({
        TrailName: 'data-trail',
        InsightSelectors: [{ InsightType: 'ApiCallRateInsight', EventCategories: ['Data'] }],
      }),
    )
    assert.deepEqual(put.InsightSelectors, [
      { InsightType: 'ApiCallRateInsight', EventCategories: ['Data'] },
    ])
    const got = await c.send(new GetInsightSelectorsCommand({ TrailName: 'data-trail' }))
    assert.deepEqual(got.InsightSelectors, put.InsightSelectors)
  })

  it('builds a PutObject baseline from two days of imported data events', async () => {
    const records = [
      ...generate({
        accountId: ACCOUNT,
        region: 'us-east-1',
        start: new Date(t0 - 2 * 86_400_000),
        minutes: 2 * 1440 - 2,
        seed: 11,
        apis: [{ eventSource: 's3.amazonaws.com', eventName: 'PutObject', rate: 0.05 }],
        bursts: [],
      }),
    ].map((r, i) => ({
      ...r,
      eventCategory: 'Data',
      managementEvent: false,
      readOnly: false,
      resources: [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${BUCKET}/old/${i}` }],
    }))
    const dir = join(work, 'AWSLogs', ACCOUNT, 'CloudTrail', 'us-east-1')
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(dir, `${ACCOUNT}_CloudTrail_us-east-1_${stamp(new Date(t0 - 60_000))}_data0001.json.gz`),
      gzipSync(JSON.stringify({ Records: records })),
    )
    const imports = new ImportClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: async () => admin,
    })
    let info = await imports.start({ Source: work })
    while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
      await new Promise((r) => setTimeout(r, 50))
      info = await imports.get(info.ImportId)
    }
    assert.equal(info.ImportStatus, 'COMPLETED', JSON.stringify(info))
    await server.pipeline.drain()
    assert.deepEqual(server.insights.anomalies(), [])
  })

  it('raises a data-event Start Insights event for 20 PutObject calls in a minute', async () => {
    for (let i = 0; i < 20; i++) {
      now += 3_000
      await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: `burst/${i}`, Body: 'x' }))
    }
    await server.pipeline.drain()
    await server.pipeline.drain() // the Insights events appended by the sink
    const out = await ct().send(
      new LookupEventsCommand({ EventCategory: 'insight', StartTime: new Date(t0 - 3600_000) }),
    )
    const details = (out.Events ?? []).map(
      (e) =>
        (JSON.parse(e.CloudTrailEvent!) as { insightDetails: Record<string, unknown> })
          .insightDetails,
    )
    assert.deepEqual(
      details.map(
        (d) => `${String(d['state'])} ${String(d['eventName'])} ${String(d['insightType'])}`,
      ),
      ['Start PutObject ApiCallRateInsight'],
    )
    assert.equal(details[0]!['eventCategory'], 'Data')
    assert.equal(details[0]!['eventSource'], 's3.amazonaws.com')
    const a = server.insights.anomalies().find((x) => x.emitted)!
    assert.equal(a.key.eventCategory, 'Data')
    assert.ok(a.windowCount >= 10)
  })
})
