/**
 * CloudTrail Lake end to end with the AWS SDK: event data stores, queries checked against the calls
 * made, struct/map access, time filters, a join, and hostile queries refused by the sandbox.
 */
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  DeleteEventDataStoreCommand,
  DescribeQueryCommand,
  GetEventDataStoreCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  ListQueriesCommand,
  RestoreEventDataStoreCommand,
  StartQueryCommand,
  UpdateEventDataStoreCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

const MINE = '111122223333'
const OTHER = '222233334444'

async function run(client: CloudTrailClient, sql: string): Promise<Record<string, string>[]> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
  for (let i = 0; i < 200; i++) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (d.QueryStatus === 'FINISHED') break
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') {
      throw new Error(`query ${d.QueryStatus}: ${d.ErrorMessage}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  const out: Record<string, string>[] = []
  let token: string | undefined
  do {
    const r = await client.send(
      new GetQueryResultsCommand({ QueryId, NextToken: token, MaxQueryResults: 2 }),
    )
    assert.equal(r.QueryStatus, 'FINISHED')
    for (const row of r.QueryResultRows ?? [])
      out.push(Object.assign({}, ...row) as Record<string, string>)
    token = r.NextToken
  } while (token)
  return out
}

async function refused(client: CloudTrailClient, sql: string): Promise<string> {
  try {
    const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
    // Refused at execution (the locked-down instance) is acceptable only as FAILED.
    for (let i = 0; i < 100; i++) {
      const d = await client.send(new DescribeQueryCommand({ QueryId }))
      if (d.QueryStatus === 'FAILED') return 'FAILED'
      assert.notEqual(d.QueryStatus, 'FINISHED', `hostile query ran: ${sql}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    throw new Error('no outcome')
  } catch (err) {
    return (err as Error).name
  }
}

describe('CloudTrail Lake', () => {
  let ts: TestServer
  let client: CloudTrailClient
  let storeId: string
  let storeArn: string
  let store2: string

  before(async () => {
    ts = await startTestServer({
      accounts: [
        { accountId: MINE, users: [], roles: [] },
        {
          accountId: OTHER,
          roles: [],
          users: [
            {
              name: 'other',
              policies: [
                {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
                },
              ],
              accessKeys: [
                {
                  accessKeyId: 'AKIAOTHER00000000001',
                  secretAccessKey: 'othersecretothersecretothersecret0001',
                },
              ],
            },
          ],
        },
      ],
    })
    client = ts.client()
    const s = await client.send(
      new CreateEventDataStoreCommand({ Name: 'main-store', TagsList: [{ Key: 'k', Value: 'v' }] }),
    )
    storeArn = s.EventDataStoreArn!
    storeId = storeArn.split('/')[1]!
    assert.match(storeArn, /^arn:aws:cloudtrail:us-east-1:\d{12}:eventdatastore\/[0-9a-f-]{36}$/)
    assert.equal(s.Status, 'ENABLED')
    assert.equal(s.TerminationProtectionEnabled, true)
    assert.equal(s.RetentionPeriod, 366)
    const s2 = await client.send(
      new CreateEventDataStoreCommand({
        Name: 'second-store',
        TerminationProtectionEnabled: false,
        RetentionPeriod: 30,
      }),
    )
    store2 = s2.EventDataStoreArn!.split('/')[1]!
    // Calls to count: 3 DescribeTrails, 2 GetTrailStatus (failing: no such trail).
    for (let i = 0; i < 3; i++) await client.send(new DescribeTrailsCommand({}))
    for (let i = 0; i < 2; i++) {
      await client.send(new GetTrailStatusCommand({ Name: 'nope' })).catch(() => undefined)
    }
    // Wait until the sink has caught up.
    for (let i = 0; i < 200; i++) {
      const rows = await run(
        client,
        `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'GetTrailStatus'`,
      )
      if (rows[0]?.['n'] === '2') break
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  after(async () => {
    await ts?.close()
  })

  it('manages event data stores with AWS semantics', async () => {
    const got = await client.send(new GetEventDataStoreCommand({ EventDataStore: storeId }))
    assert.equal(got.Name, 'main-store')
    assert.equal(got.AdvancedEventSelectors?.[0]?.FieldSelectors?.[0]?.Field, 'eventCategory')
    const list = await client.send(new ListEventDataStoresCommand({ MaxResults: 1 }))
    assert.equal(list.EventDataStores?.length, 1)
    assert.ok(list.NextToken)
    await assert.rejects(
      client.send(new DeleteEventDataStoreCommand({ EventDataStore: storeArn })),
      { name: 'EventDataStoreTerminationProtectedException' },
    )
    await assert.rejects(
      client.send(new CreateEventDataStoreCommand({ Name: 'bad', RetentionPeriod: 3 })),
      { name: 'ValidationException' },
    )
    await assert.rejects(
      client.send(
        new CreateEventDataStoreCommand({
          Name: 'fixed',
          BillingMode: 'FIXED_RETENTION_PRICING',
          RetentionPeriod: 3000,
        }),
      ),
      { name: 'InvalidParameterException' },
    )
    const u = await client.send(
      new UpdateEventDataStoreCommand({ EventDataStore: store2, RetentionPeriod: 60 }),
    )
    assert.equal(u.RetentionPeriod, 60)
    const tmp = await client.send(
      new CreateEventDataStoreCommand({ Name: 'to-delete', TerminationProtectionEnabled: false }),
    )
    await client.send(new DeleteEventDataStoreCommand({ EventDataStore: tmp.EventDataStoreArn }))
    const pending = await client.send(
      new GetEventDataStoreCommand({ EventDataStore: tmp.EventDataStoreArn }),
    )
    assert.equal(pending.Status, 'PENDING_DELETION')
    const restored = await client.send(
      new RestoreEventDataStoreCommand({ EventDataStore: tmp.EventDataStoreArn }),
    )
    assert.equal(restored.Status, 'ENABLED')
  })

  it('answers GROUP BY queries that match the calls made', async () => {
    const rows = await run(
      client,
      `SELECT eventName, count(*) AS n FROM ${storeId} WHERE eventName IN ('DescribeTrails', 'GetTrailStatus') GROUP BY eventName ORDER BY eventName`,
    )
    assert.deepEqual(rows, [
      { eventName: 'DescribeTrails', n: '3' },
      { eventName: 'GetTrailStatus', n: '2' },
    ])
  })

  it('reads structs, maps, time filters and joins; accepts the ARN as table name', async () => {
    const rows = await run(
      client,
      `SELECT userIdentity.arn AS arn, element_at(requestParameters, 'name') AS name, errorCode
       FROM ${storeArn}
       WHERE eventName = 'GetTrailStatus' AND eventTime > now() - INTERVAL 1 HOUR`,
    )
    assert.equal(rows.length, 2)
    assert.equal(rows[0]!['name'], 'nope')
    assert.equal(rows[0]!['errorCode'], 'TrailNotFoundException')
    assert.match(rows[0]!['arn']!, /^arn:aws:iam::\d{12}:/)
    const none = await run(
      client,
      `SELECT count(*) AS n FROM ${storeId} WHERE eventTime < timestamp '2000-01-01 00:00:00'`,
    )
    assert.equal(none[0]!['n'], '0')
    const joined = await run(
      client,
      `SELECT count(*) AS n FROM ${storeId} a JOIN ${store2} b ON a.eventID = b.eventID WHERE a.eventName = 'DescribeTrails'`,
    )
    assert.equal(joined[0]!['n'], '3')
    const union = await run(
      client,
      `SELECT eventID FROM ${storeId} WHERE eventName = 'DescribeTrails' UNION SELECT eventID FROM ${store2} WHERE eventName = 'DescribeTrails'`,
    )
    assert.equal(union.length, 3)
    const q = await client.send(new ListQueriesCommand({ EventDataStore: storeId }))
    assert.ok((q.Queries?.length ?? 0) > 0)
  })

  it('refuses hostile and invalid queries', async () => {
    const hostile = [
      `SELECT * FROM read_csv('/etc/passwd')`,
      `SELECT * FROM read_json('/etc/passwd')`,
      `SELECT * FROM read_text('/etc/passwd')`,
      `SELECT * FROM duckdb_settings()`,
      `SELECT * FROM ${storeId}, duckdb_extensions()`,
      `SELECT * FROM main.${storeId}`,
      `SELECT * FROM system.main.duckdb_tables`,
      `SELECT getenv('HOME') FROM ${storeId}`,
      `EXPORT DATABASE '/tmp/x'`,
      `DETACH lake`,
      `CALL duckdb_settings()`,
      `SELECT * FROM ${storeId} WHERE eventName = (SELECT current_setting('threads'))`,
      `WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x`,
      `SELECT * FROM glob('/*')`,
      `COPY ${storeId} TO '/tmp/out.parquet'`,
      `SELECT * FROM '/etc/passwd'`,
      `ATTACH '/tmp/x.duckdb' AS x`,
      `COPY (SELECT 1) TO '/tmp/out.csv'`,
      `INSTALL httpfs`,
      `LOAD httpfs`,
      `PRAGMA database_list`,
      `SET memory_limit = '10GB'`,
      `CREATE TABLE t AS SELECT 1`,
      `SELECT * FROM duckdb_tables()`,
      `SELECT * FROM information_schema.tables`,
      `SELECT * FROM lake_checkpoint`,
      `SELECT * FROM ${storeId}; SELECT 1`,
      `SELECT current_setting('memory_limit') FROM ${storeId}`,
      `SELECT * FROM ${storeId} WHERE eventName IN (SELECT * FROM read_parquet('/x'))`,
    ]
    for (const sql of hostile) {
      const name = await refused(client, sql)
      assert.ok(
        ['InvalidQueryStatementException', 'EventDataStoreNotFoundException'].includes(name),
        `${sql} -> ${name}`,
      )
    }
    await assert.rejects(
      client.send(new StartQueryCommand({ QueryStatement: `SELECT FROM WHERE ${storeId}` })),
      (err: Error) => {
        assert.equal(err.name, 'InvalidQueryStatementException')
        assert.match(err.message, /position \d+/)
        return true
      },
    )
    const other = ts.client({
      accessKeyId: 'AKIAOTHER00000000001',
      secretAccessKey: 'othersecretothersecretothersecret0001',
    })
    assert.equal(
      await refused(other, `SELECT * FROM ${storeId}`),
      'EventDataStoreNotFoundException',
    )
    assert.equal(
      await refused(client, `SELECT * FROM 00000000-0000-4000-8000-000000000000`),
      'EventDataStoreNotFoundException',
    )
  })

  it('fails a query that exceeds the memory limit, and stays responsive', async () => {
    const { QueryId } = await client.send(
      new StartQueryCommand({
        QueryStatement: `SELECT list(repeat(a.eventID, 200000)) FROM ${storeId} a, ${storeId} b, ${storeId} c`,
      }),
    )
    let d
    for (;;) {
      d = await client.send(new DescribeQueryCommand({ QueryId }))
      if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(d.QueryStatus, 'FAILED')
    assert.match(d.ErrorMessage ?? '', /memory/i)
    const rows = await run(
      client,
      `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'DescribeTrails'`,
    )
    assert.equal(rows[0]!['n'], '3')
  })

  it('works with the AWS CLI', async (t) => {
    const exec = promisify(execFile)
    try {
      await exec('aws', ['--version'])
    } catch {
      t.skip('aws CLI is not installed')
      return
    }
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: ts.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    }
    const cli = async (...args: string[]) =>
      JSON.parse(
        (
          await exec('aws', ['--endpoint-url', ts.url, 'cloudtrail', ...args, '--output', 'json'], {
            env,
          })
        ).stdout,
      ) as Record<string, unknown>
    const started = await cli(
      'start-query',
      '--query-statement',
      `SELECT eventName, count(*) FROM ${storeId} WHERE eventName = 'DescribeTrails' GROUP BY eventName`,
    )
    const id = started['QueryId'] as string
    let res: Record<string, unknown> = {}
    for (let i = 0; i < 50; i++) {
      res = await cli('get-query-results', '--query-id', id)
      if (res['QueryStatus'] === 'FINISHED') break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(res['QueryStatus'], 'FINISHED')
    const rows = res['QueryResultRows'] as Record<string, string>[][]
    assert.equal(rows[0]![0]!['eventName'], 'DescribeTrails')
    assert.equal(Object.values(rows[0]![1]!)[0], '3')
  })

  it('runs queries from the opentrail CLI (lake query, lake stores)', async () => {
    const exec = promisify(execFile)
    const bin = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
      AWS_ACCESS_KEY_ID: ts.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
      AWS_REGION: 'us-east-1',
    }
    const q = await exec(
      process.execPath,
      [
        bin,
        'lake',
        'query',
        "SELECT eventName, count(*) AS n FROM $EDS WHERE eventName = 'DescribeTrails' GROUP BY eventName",
        '--store',
        'main-store',
        '-o',
        'json',
        '--endpoint-url',
        ts.url,
      ],
      { env },
    )
    const out = JSON.parse(q.stdout) as { Rows: Record<string, string>[] }
    assert.deepEqual(out.Rows, [{ eventName: 'DescribeTrails', n: '3' }])
    // QueryParameters from --param, in order, bound as literals (a quote in a value stays text).
    const p = await exec(
      process.execPath,
      [
        bin,
        'lake',
        'query',
        'SELECT eventName, count(*) AS n FROM $EDS WHERE eventName IN (?, ?) GROUP BY eventName',
        '--store',
        'main-store',
        '--param',
        'DescribeTrails',
        '--param',
        "x' OR '1'='1",
        '-o',
        'json',
        '--endpoint-url',
        ts.url,
      ],
      { env },
    )
    assert.deepEqual((JSON.parse(p.stdout) as { Rows: unknown }).Rows, [
      { eventName: 'DescribeTrails', n: '3' },
    ])
    const s = await exec(process.execPath, [bin, 'lake', 'stores', '--endpoint-url', ts.url], {
      env,
    })
    assert.match(s.stdout, new RegExp(`${storeId}\\s+main-store\\s+ENABLED`))
  })
})
