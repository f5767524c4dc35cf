/**
 * CloudTrail Lake imports end to end through @aws-sdk/client-cloudtrail: StartImport of the invictus
 * trail files (a path on the server, for the server's own account) into an event data store with a
 * time window, GetImport/ListImports/ListImportFailures, the imported events queried back and
 * compared with zlib + JSON.parse over the same files, a second import that adds nothing, and the
 * errors for bad destinations and sources.
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
  GetImportCommand,
  GetQueryResultsCommand,
  ListImportFailuresCommand,
  ListImportsCommand,
  StartImportCommand,
  StartQueryCommand,
  type CloudTrailClient,
  type GetImportCommandOutput,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/invictus/CloudTrail', import.meta.url))
const ACCOUNT = '123837392027'
const ANALYST = { accessKeyId: 'AKIAANALYST000000002', secretAccessKey: 'analyst-secret-key-0002' }
const OUTSIDER = { accessKeyId: 'AKIAOUTSIDER00000002', secretAccessKey: 'outsider-secret-0002' }
const FROM = '2023-07-10T12:00:00Z'
const TO = '2023-07-10T12:30:00Z'

type Rec = { eventID: string; eventTime: string; eventName: string }
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
const inWindow = all.filter(
  (r) => Date.parse(r.eventTime) >= Date.parse(FROM) && Date.parse(r.eventTime) <= Date.parse(TO),
)

async function query(client: CloudTrailClient, sql: string): Promise<Record<string, string>[]> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
  for (;;) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (d.QueryStatus === 'FINISHED') break
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING')
      throw new Error(`${d.QueryStatus}: ${d.ErrorMessage}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  const r = await client.send(new GetQueryResultsCommand({ QueryId }))
  return (r.QueryResultRows ?? []).map((row) => Object.assign({}, ...row) as Record<string, string>)
}

async function finish(client: CloudTrailClient, id: string): Promise<GetImportCommandOutput> {
  for (;;) {
    const g = await client.send(new GetImportCommand({ ImportId: id }))
    if (g.ImportStatus !== 'INITIALIZING' && g.ImportStatus !== 'IN_PROGRESS') return g
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('CloudTrail Lake imports', () => {
  let ts: TestServer
  let analyst: CloudTrailClient
  let storeArn: string
  let storeId: string

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
        {
          accountId: '210987654321',
          users: [
            { name: 'outsider', policies: ['AWSCloudTrail_FullAccess'], accessKeys: [OUTSIDER] },
          ],
          roles: [],
        },
      ],
    })
    analyst = ts.client(ANALYST)
    // No ingestion from the pipeline: the store holds only what is imported.
    const st = await analyst.send(
      new CreateEventDataStoreCommand({
        Name: 'imported',
        RetentionPeriod: 3653,
        StartIngestion: false,
      }),
    )
    storeArn = st.EventDataStoreArn!
    storeId = storeArn.split('/')[1]!
  })
  after(async () => {
    await ts?.close()
  })

  it('imports trail files into a store within the time window', async () => {
    const started = await analyst.send(
      new StartImportCommand({
        Destinations: [storeArn],
        ImportSource: {
          S3: {
            S3LocationUri: `file://${FIXTURE}`,
            S3BucketRegion: 'us-east-1',
            S3BucketAccessRoleArn: `arn:aws:iam::${ACCOUNT}:role/import`,
          },
        },
        StartEventTime: new Date(FROM),
        EndEventTime: new Date(TO),
      }),
    )
    assert.match(started.ImportId!, /^[0-9a-f-]{36}$/)
    assert.deepEqual(started.Destinations, [storeArn])
    const done = await finish(analyst, started.ImportId!)
    assert.equal(done.ImportStatus, 'COMPLETED')
    assert.equal(done.ImportStatistics?.EventsCompleted, inWindow.length)
    assert.equal(done.ImportStatistics?.FailedEntries, 0)
    // Files named outside the window are skipped unread.
    assert.ok((done.ImportStatistics?.FilesCompleted ?? 0) > 0)

    const rows = await query(
      analyst,
      `SELECT eventName, count(*) AS n FROM ${storeId} GROUP BY eventName`,
    )
    const expected = new Map<string, number>()
    for (const r of inWindow) expected.set(r.eventName, (expected.get(r.eventName) ?? 0) + 1)
    assert.equal(rows.length, expected.size)
    for (const r of rows)
      assert.equal(Number(r['n']), expected.get(r['eventName']!), r['eventName'])

    const list = await analyst.send(new ListImportsCommand({ Destination: storeArn }))
    assert.deepEqual(
      list.Imports?.map((i) => [i.ImportId, i.ImportStatus]),
      [[started.ImportId, 'COMPLETED']],
    )
    const failures = await analyst.send(
      new ListImportFailuresCommand({ ImportId: started.ImportId }),
    )
    assert.deepEqual(failures.Failures, [])
  })

  it('adds nothing when the same files are imported again', async () => {
    const again = await analyst.send(
      new StartImportCommand({
        Destinations: [storeId],
        ImportSource: {
          S3: {
            S3LocationUri: FIXTURE,
            S3BucketRegion: 'us-east-1',
            S3BucketAccessRoleArn: `arn:aws:iam::${ACCOUNT}:role/import`,
          },
        },
      }),
    )
    const done = await finish(analyst, again.ImportId!)
    assert.equal(done.ImportStatus, 'COMPLETED')
    const [n] = await query(
      analyst,
      `SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM ${storeId}`,
    )
    assert.deepEqual(n, { n: String(all.length), d: String(all.length) })
    assert.equal(done.ImportStatistics?.EventsCompleted, all.length - inWindow.length)
  })

  it('refuses bad destinations, sources and other accounts', async () => {
    const source = {
      S3: {
        S3LocationUri: FIXTURE,
        S3BucketRegion: 'us-east-1',
        S3BucketAccessRoleArn: 'arn:aws:iam::123837392027:role/x',
      },
    }
    await assert.rejects(
      analyst.send(
        new StartImportCommand({
          Destinations: ['00000000-0000-4000-8000-000000000000'],
          ImportSource: source,
        }),
      ),
      { name: 'EventDataStoreNotFoundException' },
    )
    await assert.rejects(
      analyst.send(
        new StartImportCommand({
          Destinations: [storeArn],
          ImportSource: { S3: { ...source.S3, S3LocationUri: 'ftp://x' } },
        }),
      ),
      { name: 'InvalidImportSourceException' },
    )
    await assert.rejects(
      analyst.send(
        new StartImportCommand({
          Destinations: [storeArn],
          ImportSource: { S3: { ...source.S3, S3LocationUri: '/nonexistent/dir' } },
        }),
      ),
      { name: 'InvalidImportSourceException' },
    )
    const outsider = ts.client(OUTSIDER)
    await assert.rejects(
      outsider.send(new StartImportCommand({ Destinations: [storeArn], ImportSource: source })),
      { name: 'EventDataStoreNotFoundException' },
    )
    const theirs = await outsider.send(new CreateEventDataStoreCommand({ Name: 'theirs' }))
    await assert.rejects(
      outsider.send(
        new StartImportCommand({ Destinations: [theirs.EventDataStoreArn!], ImportSource: source }),
      ),
      { name: 'InvalidImportSourceException' },
    )
    const mine = await analyst.send(new ListImportsCommand({}))
    await assert.rejects(
      outsider.send(new GetImportCommand({ ImportId: mine.Imports![0]!.ImportId })),
      { name: 'ImportNotFoundException' },
    )
  })
})
