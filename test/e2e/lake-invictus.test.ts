/**
 * CloudTrail Lake on real events: the invictus trail files (test/fixtures/invictus) are imported
 * into two event data stores (all management events; S3 only), then Lake queries through the AWS
 * SDK are checked against the same answers computed here independently, with zlib and JSON.parse:
 * group-by, top error codes, user + time window, map access (element_at), structs, arrays of
 * structs (resources), console logins without MFA, and a join across the two stores.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import {
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { ImportClient } from '../../src/import/client.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/invictus/CloudTrail', import.meta.url))
const ACCOUNT = '123837392027'
// The analyst's own calls are recorded into the store too: queries look at the imported day only.
const DAY = `eventTime < timestamp '2024-01-01 00:00:00'`
const ANALYST = { accessKeyId: 'AKIAANALYST000000001', secretAccessKey: 'analyst-secret-key-0001' }

type Rec = Record<string, unknown> & {
  eventID: string
  eventTime: string
  eventName: string
  eventSource: string
  errorCode?: string
  userIdentity?: { arn?: string; userName?: string; type?: string }
  requestParameters?: Record<string, unknown> | null
  additionalEventData?: Record<string, unknown> | null
  resources?: { ARN?: string; type?: string }[]
}

// The independent computation: every file's Records, read with zlib and JSON.parse.
const all: Rec[] = readdirSync(FIXTURE)
  .filter((n) => n.endsWith('.json.gz'))
  .flatMap(
    (f) =>
      (
        JSON.parse(gunzipSync(readFileSync(join(FIXTURE, f))).toString('utf8')) as {
          Records: Rec[]
        }
      ).Records,
  )

function countBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>()
  for (const t of items) {
    const k = key(t)
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1)
  }
  return m
}

async function query(client: CloudTrailClient, sql: string): Promise<Record<string, string>[]> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
  for (;;) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (d.QueryStatus === 'FINISHED') break
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') {
      throw new Error(`query ${d.QueryStatus}: ${d.ErrorMessage}`)
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  const out: Record<string, string>[] = []
  let token: string | undefined
  do {
    const r = await client.send(new GetQueryResultsCommand({ QueryId, NextToken: token }))
    for (const row of r.QueryResultRows ?? [])
      out.push(Object.assign({}, ...row) as Record<string, string>)
    token = r.NextToken
  } while (token)
  return out
}

describe('CloudTrail Lake on the invictus events', () => {
  let ts: TestServer
  let analyst: CloudTrailClient
  let mgmt: string
  let s3: string

  before(async () => {
    ts = await startTestServer({
      retentionDays: 3650,
      accounts: [
        {
          accountId: ACCOUNT,
          users: [
            { name: 'analyst', policies: ['AWSCloudTrail_FullAccess'], accessKeys: [ANALYST] },
          ],
          roles: [],
        },
      ],
    })
    analyst = ts.client(ANALYST)
    const a = await analyst.send(
      new CreateEventDataStoreCommand({ Name: 'all-management', RetentionPeriod: 3653 }),
    )
    mgmt = a.EventDataStoreArn!.split('/')[1]!
    const b = await analyst.send(
      new CreateEventDataStoreCommand({
        Name: 's3-only',
        RetentionPeriod: 3653,
        AdvancedEventSelectors: [
          {
            Name: 'S3 management events',
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'eventSource', Equals: ['s3.amazonaws.com'] },
            ],
          },
        ],
      }),
    )
    s3 = b.EventDataStoreArn!.split('/')[1]!
    const imports = new ImportClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: async () => ({
        accessKeyId: ts.accessKeyId,
        secretAccessKey: ts.secretAccessKey,
      }),
    })
    let info = await imports.start({ Source: FIXTURE })
    while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
      await new Promise((r) => setTimeout(r, 50))
      info = await imports.get(info.ImportId)
    }
    assert.equal(info.ImportStatus, 'COMPLETED', info.ErrorMessage)
    await ts.server.pipeline.drain()
  })
  after(async () => {
    await ts?.close()
  })

  it('holds every event once, and only the selected ones in the S3 store', async () => {
    const [n] = await query(
      analyst,
      `SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM ${mgmt} WHERE ${DAY}`,
    )
    assert.equal(all.length, 2900)
    assert.deepEqual(n, { n: '2900', d: '2900' })
    const [m] = await query(analyst, `SELECT count(*) AS n FROM ${s3} WHERE ${DAY}`)
    assert.equal(Number(m!['n']), all.filter((r) => r.eventSource === 's3.amazonaws.com').length)
  })

  it('reports query statistics', async () => {
    const { QueryId } = await analyst.send(
      new StartQueryCommand({ QueryStatement: `SELECT count(*) FROM ${s3} WHERE ${DAY}` }),
    )
    let d
    do {
      d = await analyst.send(new DescribeQueryCommand({ QueryId }))
    } while (d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING')
    assert.equal(d.QueryStatus, 'FINISHED')
    const inStore = all.filter((r) => r.eventSource === 's3.amazonaws.com').length
    assert.ok((d.QueryStatistics?.EventsScanned ?? 0) >= inStore)
    assert.equal(d.QueryStatistics?.EventsMatched, 1)
    assert.ok((d.QueryStatistics?.BytesScanned ?? 0) > 0)
    const r = await analyst.send(new GetQueryResultsCommand({ QueryId }))
    assert.equal(r.QueryStatistics?.ResultsCount, 1)
    assert.equal(r.QueryStatistics?.TotalResultsCount, 1)
  })

  it('GROUP BY eventName matches the files', async () => {
    const rows = await query(
      analyst,
      `SELECT eventName, count(*) FROM ${mgmt} WHERE ${DAY} GROUP BY eventName ORDER BY eventName`,
    )
    const expected = countBy(all, (r) => r.eventName)
    assert.equal(rows.length, expected.size)
    for (const row of rows) {
      const [name, n] = Object.values(row)
      assert.equal(Number(n), expected.get(name!), name)
    }
  })

  it('top error codes match the files', async () => {
    const rows = await query(
      analyst,
      `SELECT errorCode, count(*) AS n FROM ${mgmt} WHERE errorCode IS NOT NULL AND ${DAY}
       GROUP BY errorCode ORDER BY n DESC, errorCode LIMIT 5`,
    )
    const expected = [...countBy(all, (r) => r.errorCode)]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
    assert.deepEqual(
      rows.map((r) => [r['errorCode'], Number(r['n'])]),
      expected,
    )
  })

  it('filters by user (struct access) and time window', async () => {
    const user = [...countBy(all, (r) => r.userIdentity?.arn)].sort((a, b) => b[1] - a[1])[0]![0]
    const from = '2023-07-10T12:00:00Z'
    const to = '2023-07-10T12:30:00Z'
    const rows = await query(
      analyst,
      `SELECT eventID, userIdentity.userName AS who FROM ${mgmt}
       WHERE userIdentity.arn = '${user}'
         AND eventTime >= from_iso8601_timestamp('${from}')
         AND eventTime < date_add('minute', 30, from_iso8601_timestamp('${from}'))`,
    )
    const expected = all.filter(
      (r) => r.userIdentity?.arn === user && r.eventTime >= from && r.eventTime < to,
    )
    assert.ok(expected.length > 0)
    assert.deepEqual(rows.map((r) => r['eventID']).sort(), expected.map((r) => r.eventID).sort())
    assert.equal(rows[0]!['who'], expected[0]!.userIdentity?.userName ?? '')
  })

  it('reads maps (element_at, subscript) and arrays of structs (resources)', async () => {
    const rows = await query(
      analyst,
      `SELECT element_at(requestParameters, 'bucketName') AS bucket, count(*) AS n FROM ${mgmt}
       WHERE element_at(requestParameters, 'bucketName') IS NOT NULL AND ${DAY} GROUP BY 1`,
    )
    const expected = countBy(all, (r) => {
      const b = r.requestParameters?.['bucketName']
      return typeof b === 'string' ? b : undefined
    })
    assert.equal(rows.length, expected.size)
    for (const r of rows) assert.equal(Number(r['n']), expected.get(r['bucket']!), r['bucket'])

    const [res] = await query(
      analyst,
      `SELECT count(*) AS n FROM (SELECT unnest(resources) AS r FROM ${mgmt} WHERE ${DAY}) WHERE r.arn LIKE 'arn:aws:s3:::%'`,
    )
    const expectedRes = all
      .flatMap((r) => r.resources ?? [])
      .filter((x) => x.ARN?.startsWith('arn:aws:s3:::')).length
    assert.equal(Number(res!['n']), expectedRes)
  })

  it('finds console logins without MFA', async () => {
    const rows = await query(
      analyst,
      `SELECT eventID, userIdentity.arn AS arn FROM ${mgmt}
       WHERE eventName = 'ConsoleLogin' AND additionalEventData['MFAUsed'] = 'No'`,
    )
    const expected = all.filter(
      (r) => r.eventName === 'ConsoleLogin' && r.additionalEventData?.['MFAUsed'] === 'No',
    )
    assert.ok(expected.length > 0)
    assert.deepEqual(rows.map((r) => r['eventID']).sort(), expected.map((r) => r.eventID).sort())
  })

  it('joins two stores', async () => {
    const rows = await query(
      analyst,
      `SELECT a.eventName, count(*) AS n FROM ${mgmt} a JOIN ${s3} b ON a.eventID = b.eventID
       WHERE a.errorCode IS NOT NULL AND a.${DAY} GROUP BY a.eventName`,
    )
    const expected = countBy(
      all.filter((r) => r.eventSource === 's3.amazonaws.com' && r.errorCode),
      (r) => r.eventName,
    )
    assert.equal(rows.length, expected.size)
    for (const r of rows) assert.equal(Number(r['n']), expected.get(r['eventName']!))
  })
})
