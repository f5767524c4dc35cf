/**
 * Insights on event data stores end to end, on a started server with a fake clock: a source store
 * (management events) and a destination store (eventCategory = Insight); every error of
 * PutInsightSelectors/GetInsightSelectors on stores; Insights turned on with the AWS CLI; two days of
 * imported history routed to the source store (its baseline); a live burst of AccessDenied
 * CreateTrail calls raises Start Insights events that a Lake query finds in the destination store
 * (not in the source); after a restart the selectors are still there and the End events land;
 * empty selectors turn Insights off.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  DescribeQueryCommand,
  GetInsightSelectorsCommand,
  GetQueryResultsCommand,
  PutInsightSelectorsCommand,
  StartQueryCommand,
  type InsightSelector,
} from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../../src/config/load.js'
import { ImportClient } from '../../src/import/client.js'
import { generate } from '../../src/insights/testing/synthetic.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { readAdminKey } from '../helpers/server.js'

const ACCOUNT = '123456789012'
const LIMITED = {
  accessKeyId: 'AKIALIMITED000000002',
  secretAccessKey: 'limited-secret-key-000002',
}
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z'
const exec = promisify(execFile)
const BOTH: InsightSelector[] = [
  { InsightType: 'ApiCallRateInsight' },
  { InsightType: 'ApiErrorRateInsight' },
]

describe('Insights on event data stores: a burst lands in the InsightsDestination store', () => {
  let server: RunningServer
  let dataDir: string
  let work: string
  let now = Math.floor(Date.now() / 60_000) * 60_000 + 5_000
  const t0 = now
  let admin: { accessKeyId: string; secretAccessKey: string }
  let config: Parameters<typeof startServer>[0]
  let source: { id: string; arn: string }
  let destination: { id: string; arn: string }
  let plain: { id: string; arn: string }
  let readOnly: { id: string; arn: string }
  const start = () =>
    startServer(config, {
      clock: { now: () => new Date(now) },
      logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
    })
  const ct = (key = admin) =>
    new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
      systemClockOffset: now - Date.now(),
    })
  const cli = async (...args: string[]) =>
    JSON.parse(
      (
        await exec(
          'aws',
          ['--endpoint-url', server.url, 'cloudtrail', ...args, '--output', 'json'],
          {
            env: {
              ...Object.fromEntries(
                Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')),
              ),
              AWS_ACCESS_KEY_ID: admin.accessKeyId,
              AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
              AWS_DEFAULT_REGION: 'us-east-1',
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
            },
          },
        )
      ).stdout,
    ) as Record<string, unknown>
  const hasCli = exec('aws', ['--version']).then(
    () => true,
    () => false,
  )

  /** Rows of a Lake query, as name → value objects. */
  async function query(sql: string): Promise<Record<string, string>[]> {
    // A client per call: the SDK takes a response's Date header (the real clock) as its clock.
    const c = { send: ((cmd: never) => ct().send(cmd)) as CloudTrailClient['send'] }
    const { QueryId } = await c.send(new StartQueryCommand({ QueryStatement: sql }))
    for (let i = 0; i < 400; i++) {
      const d = await c.send(new DescribeQueryCommand({ QueryId }))
      if (d.QueryStatus === 'FINISHED') break
      assert.ok(
        ['QUEUED', 'RUNNING'].includes(d.QueryStatus!),
        `${d.QueryStatus} ${d.ErrorMessage}`,
      )
      await new Promise((r) => setTimeout(r, 25))
    }
    const r = await c.send(new GetQueryResultsCommand({ QueryId }))
    assert.equal(r.QueryStatus, 'FINISHED')
    return (r.QueryResultRows ?? []).map(
      (row) => Object.assign({}, ...row) as Record<string, string>,
    )
  }

  const insightRows = async (storeId: string) =>
    (
      await query(
        `SELECT eventID, eventTime, insightDetails FROM ${storeId} WHERE eventCategory = 'Insight'`,
      )
    ).map((r) => {
      const d = JSON.parse(r['insightDetails']!) as Record<string, string>
      return `${d['state']} ${d['eventName']} ${d['insightType']} ${d['errorCode'] ?? ''}`.trim()
    })

  const drain = async () => {
    await server.pipeline.drain()
    await server.pipeline.drain() // the Insights events appended by the sink
  }

  async function burst(n: number) {
    for (let i = 0; i < n; i++) {
      now += 4_000
      await assert.rejects(
        ct(LIMITED).send(new CreateTrailCommand({ Name: `t${i}`, S3BucketName: 'b' })),
        { name: 'AccessDeniedException' },
      )
    }
    await drain()
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-insights-eds-'))
    work = await mkdtemp(join(tmpdir(), 'opentrail-insights-eds-src-'))
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
    const c = ct()
    const create = async (Name: string, fieldSelectors?: Record<string, string[]>[]) => {
      const out = await c.send(
        new CreateEventDataStoreCommand({
          Name,
          ...(fieldSelectors
            ? {
                AdvancedEventSelectors: [
                  {
                    Name,
                    FieldSelectors: fieldSelectors.map((f) => ({
                      Field: f['Field']![0]!,
                      Equals: f['Equals']!,
                    })),
                  },
                ],
              }
            : {}),
        }),
      )
      return { id: out.EventDataStoreArn!.split('/').pop()!, arn: out.EventDataStoreArn! }
    }
    source = await create('insights-source') // the default: all management events
    destination = await create('insights-destination', [
      { Field: ['eventCategory'], Equals: ['Insight'] },
    ])
    plain = await create('plain-store', [{ Field: ['eventCategory'], Equals: ['Management'] }])
    readOnly = await create('read-only-store', [
      { Field: ['eventCategory'], Equals: ['Management'] },
      { Field: ['readOnly'], Equals: ['true'] },
    ])
  })
  after(async () => {
    await server?.close()
    await rm(dataDir, { recursive: true, force: true })
    await rm(work, { recursive: true, force: true })
  })

  it('answers every bad request with the AWS error', async () => {
    const c = ct()
    await c.send(new CreateTrailCommand({ Name: 'some-trail', S3BucketName: 'any-bucket' }))
    const put = (input: ConstructorParameters<typeof PutInsightSelectorsCommand>[0]) =>
      c.send(new PutInsightSelectorsCommand(input))
    const cases: [ConstructorParameters<typeof PutInsightSelectorsCommand>[0], string][] = [
      // TrailName with EventDataStore or InsightsDestination; a destination without a source.
      [
        {
          TrailName: 'some-trail',
          EventDataStore: source.arn,
          InsightsDestination: destination.arn,
          InsightSelectors: BOTH,
        },
        'InvalidParameterCombinationException',
      ],
      [
        { InsightsDestination: destination.arn, InsightSelectors: BOTH },
        'InvalidParameterCombinationException',
      ],
      // Turning Insights on needs both stores; they must differ.
      [
        { EventDataStore: source.arn, InsightSelectors: BOTH },
        'InvalidParameterCombinationException',
      ],
      [
        { EventDataStore: source.arn, InsightsDestination: source.arn, InsightSelectors: BOTH },
        'InvalidParameterCombinationException',
      ],
      // Stores that do not exist, or are not named right.
      [
        {
          EventDataStore: source.arn.replace(source.id, 'aaaaaaaa-0000-0000-0000-000000000000'),
          InsightsDestination: destination.arn,
          InsightSelectors: BOTH,
        },
        'EventDataStoreNotFoundException',
      ],
      [
        {
          EventDataStore: source.id,
          InsightsDestination: 'aaaaaaaa-0000-0000-0000-000000000000',
          InsightSelectors: BOTH,
        },
        'EventDataStoreNotFoundException',
      ],
      [
        {
          EventDataStore: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE`,
          InsightsDestination: destination.arn,
          InsightSelectors: BOTH,
        },
        'EventDataStoreNotFoundException',
      ],
      [
        {
          EventDataStore: 'arn:aws:cloudtrail:us-east-1:123:eventdatastore',
          InsightsDestination: destination.arn,
          InsightSelectors: BOTH,
        },
        'EventDataStoreARNInvalidException',
      ],
      // The destination must collect Insights events; the source must log what the types analyse.
      [
        { EventDataStore: source.id, InsightsDestination: plain.id, InsightSelectors: BOTH },
        'InvalidInsightSelectorsException',
      ],
      [
        {
          EventDataStore: readOnly.id,
          InsightsDestination: destination.id,
          InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }],
        },
        'InvalidInsightSelectorsException',
      ],
      // No data-event Insights on event data stores; known types, once each.
      [
        {
          EventDataStore: source.id,
          InsightsDestination: destination.id,
          InsightSelectors: [{ InsightType: 'ApiCallRateInsight', EventCategories: ['Data'] }],
        },
        'InvalidInsightSelectorsException',
      ],
      [
        {
          EventDataStore: source.id,
          InsightsDestination: destination.id,
          InsightSelectors: [
            { InsightType: 'ApiCallRateInsight' },
            { InsightType: 'ApiCallRateInsight' },
          ],
        },
        'InvalidInsightSelectorsException',
      ],
      [
        {
          EventDataStore: source.id,
          InsightsDestination: destination.id,
          InsightSelectors: [{ InsightType: 'ApiNopeInsight' as 'ApiCallRateInsight' }],
        },
        'ValidationException', // the model's enum, checked before the operation
      ],
      [
        {
          EventDataStore: source.id,
          InsightsDestination: destination.id,
          InsightSelectors: [{}],
        },
        'InvalidInsightSelectorsException',
      ],
    ]
    for (const [input, name] of cases) {
      await assert.rejects(put(input), { name }, JSON.stringify(input))
    }
    const get = (input: { TrailName?: string; EventDataStore?: string }) =>
      c.send(new GetInsightSelectorsCommand(input))
    await assert.rejects(get({ EventDataStore: source.arn }), {
      name: 'InsightNotEnabledException',
    })
    await assert.rejects(get({ TrailName: 'some-trail', EventDataStore: source.arn }), {
      name: 'InvalidParameterCombinationException',
    })
    await assert.rejects(get({ EventDataStore: 'aaaaaaaa-0000-0000-0000-000000000000' }), {
      name: 'EventDataStoreNotFoundException',
    })
    // A caller without cloudtrail:PutInsightSelectors on the store is denied.
    await assert.rejects(
      ct(LIMITED).send(
        new PutInsightSelectorsCommand({
          EventDataStore: source.arn,
          InsightsDestination: destination.arn,
          InsightSelectors: BOTH,
        }),
      ),
      { name: 'AccessDeniedException' },
    )
    // The read-only store may have error-rate Insights (read calls fail too).
    const ok = await put({
      EventDataStore: readOnly.id,
      InsightsDestination: destination.id,
      InsightSelectors: [{ InsightType: 'ApiErrorRateInsight' }],
    })
    assert.equal(ok.EventDataStoreArn, readOnly.arn)
    // Turning them off names both stores too.
    await assert.rejects(put({ EventDataStore: readOnly.id, InsightSelectors: [] }), {
      name: 'InvalidParameterCombinationException',
    })
    await put({
      EventDataStore: readOnly.id,
      InsightsDestination: destination.id,
      InsightSelectors: [],
    })
  })

  it('turns Insights on with the AWS CLI; GetInsightSelectors returns both stores', async (t) => {
    if (await hasCli) {
      const out = await cli(
        'put-insight-selectors',
        '--event-data-store',
        source.arn,
        '--insights-destination',
        destination.id,
        '--insight-selectors',
        JSON.stringify(BOTH),
      )
      assert.deepEqual(out, {
        EventDataStoreArn: source.arn,
        InsightsDestination: destination.arn,
        InsightSelectors: BOTH,
      })
    } else {
      t.diagnostic('aws CLI is not installed: turned on with the SDK')
      await ct().send(
        new PutInsightSelectorsCommand({
          EventDataStore: source.arn,
          InsightsDestination: destination.id,
          InsightSelectors: BOTH,
        }),
      )
    }
    const got = await ct().send(new GetInsightSelectorsCommand({ EventDataStore: source.id }))
    assert.equal(got.EventDataStoreArn, source.arn)
    assert.equal(got.InsightsDestination, destination.arn)
    assert.deepEqual(got.InsightSelectors, BOTH)
    assert.equal(got.TrailARN, undefined)
  })

  it("builds the source store's baseline from two days of imported history", async () => {
    const records = generate({
      accountId: ACCOUNT,
      region: 'us-east-1',
      start: new Date(t0 - 2 * 86_400_000),
      minutes: 2 * 1440 - 2,
      seed: 5,
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
    })
    const list = [...records]
    const dir = join(work, 'AWSLogs', ACCOUNT, 'CloudTrail', 'us-east-1')
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(
        dir,
        `${ACCOUNT}_CloudTrail_us-east-1_${stamp(new Date(t0 - 60_000))}_history000000002.json.gz`,
      ),
      gzipSync(JSON.stringify({ Records: list })),
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
    await drain()
    const rows = await query(
      `SELECT count(*) AS n FROM ${source.id} WHERE eventName = 'PutEventSelectors'`,
    )
    assert.ok(Number(rows[0]!['n']) > 1000, JSON.stringify(rows))
    assert.deepEqual(await insightRows(destination.id), [])
  })

  it('raises Start Insights events for a burst of denied CreateTrail calls, in the destination store', async () => {
    await burst(15)
    assert.deepEqual((await insightRows(destination.id)).sort(), [
      'Start CreateTrail ApiCallRateInsight',
      'Start CreateTrail ApiErrorRateInsight AccessDenied',
    ])
    // Not in the source store, nor in a store that does not collect Insights.
    assert.deepEqual(await insightRows(source.id), [])
    assert.deepEqual(await insightRows(plain.id), [])
    const anomalies = server.insights.anomalies().filter((a) => a.emitted)
    assert.equal(anomalies.length, 2)
    for (const a of anomalies) assert.equal(a.key.source, source.arn)
  })

  it('keeps the selectors and the open anomalies across a restart; the End events land', async (t) => {
    await server.close()
    server = await start()
    if (await hasCli) {
      const got = await cli('get-insight-selectors', '--event-data-store', source.id)
      assert.deepEqual(got, {
        EventDataStoreArn: source.arn,
        InsightsDestination: destination.arn,
        InsightSelectors: BOTH,
      })
    } else {
      t.diagnostic('aws CLI is not installed')
    }
    now += 10 * 60_000
    await server.insights.tick()
    await drain()
    assert.deepEqual((await insightRows(destination.id)).sort(), [
      'End CreateTrail ApiCallRateInsight',
      'End CreateTrail ApiErrorRateInsight AccessDenied',
      'Start CreateTrail ApiCallRateInsight',
      'Start CreateTrail ApiErrorRateInsight AccessDenied',
    ])
  })

  it('stops with empty InsightSelectors: a new burst raises nothing in the destination', async () => {
    const c = ct()
    const out = await c.send(
      new PutInsightSelectorsCommand({
        EventDataStore: source.arn,
        InsightsDestination: destination.arn,
        InsightSelectors: [],
      }),
    )
    assert.deepEqual(out.InsightSelectors, [])
    assert.equal(out.InsightsDestination, destination.arn)
    assert.equal(out.EventDataStoreArn, source.arn)
    await assert.rejects(
      ct().send(new GetInsightSelectorsCommand({ EventDataStore: source.arn })),
      {
        name: 'InsightNotEnabledException',
      },
    )
    const accountView = () => server.insights.anomalies().filter((a) => !a.key.source).length
    const before = accountView()
    await burst(25)
    // The burst is anomalous (the account's own view, which no trail emits, raised it) ...
    assert.ok(accountView() > before, 'the second burst is an anomaly')
    now += 10 * 60_000
    await server.insights.tick()
    await drain()
    // ... but the store's Insights are off: nothing new in the destination, no view of the source.
    assert.equal((await insightRows(destination.id)).length, 4)
    assert.ok(
      server.insights.anomalies().every((a) => a.key.source !== source.arn || a.state === 'closed'),
    )
  })
})
