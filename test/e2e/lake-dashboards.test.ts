/**
 * CloudTrail Lake dashboards end to end with the AWS SDK: create, get, list, update, refresh (each
 * widget's query found with DescribeQuery by RefreshId and QueryAlias, its results checked against
 * the calls made), termination protection, IAM per operation, and AWS's errors for bad input.
 */
import { execFile, spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import assert from 'node:assert/strict'
import {
  CloudTrailClient,
  CreateDashboardCommand,
  CreateEventDataStoreCommand,
  DeleteDashboardCommand,
  DescribeQueryCommand,
  DescribeTrailsCommand,
  GetDashboardCommand,
  GetQueryResultsCommand,
  ListDashboardsCommand,
  LookupEventsCommand,
  StartDashboardRefreshCommand,
  StartQueryCommand,
  UpdateDashboardCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

const MINE = '111122223333'
const AUTHOR = {
  accessKeyId: 'AKIAAUTHOR0000000001',
  secretAccessKey: 'authorsecretauthorsecret0000000001',
}
const noCli = spawnSync('aws', ['--version']).error ? 'the AWS CLI (aws) is not on PATH' : undefined
const READER = {
  accessKeyId: 'AKIAREADER0000000001',
  secretAccessKey: 'readersecretreadersecret0000000001',
}

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

async function finished(client: CloudTrailClient, refreshId: string, alias: string) {
  for (let i = 0; i < 300; i++) {
    const d = await client.send(
      new DescribeQueryCommand({ RefreshId: refreshId, QueryAlias: alias }),
    )
    if (d.QueryStatus === 'FINISHED') return d.QueryId!
    assert.ok(['QUEUED', 'RUNNING'].includes(d.QueryStatus!), `${d.QueryStatus} ${d.ErrorMessage}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error('the widget query never finished')
}

async function rows(client: CloudTrailClient, queryId: string) {
  const r = await client.send(new GetQueryResultsCommand({ QueryId: queryId }))
  return (r.QueryResultRows ?? []).map((row) => Object.assign({}, ...row) as Record<string, string>)
}

describe('CloudTrail Lake dashboards', () => {
  let ts: TestServer
  let client: CloudTrailClient
  let storeId: string

  before(async () => {
    ts = await startTestServer({
      accounts: [
        {
          accountId: MINE,
          roles: [],
          users: [
            {
              name: 'reader',
              policies: [
                {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Effect: 'Allow',
                      Action: ['cloudtrail:GetDashboard', 'cloudtrail:ListDashboards'],
                      Resource: '*',
                    },
                  ],
                },
              ],
              accessKeys: [READER],
            },
            {
              name: 'author',
              policies: [
                {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Effect: 'Allow',
                      Action: ['cloudtrail:CreateDashboard', 'cloudtrail:UpdateDashboard'],
                      Resource: '*',
                    },
                  ],
                },
              ],
              accessKeys: [AUTHOR],
            },
          ],
        },
      ],
    })
    client = ts.client()
    const s = await client.send(new CreateEventDataStoreCommand({ Name: 'dash-store' }))
    storeId = s.EventDataStoreArn!.split('/')[1]!
    for (let i = 0; i < 3; i++) await client.send(new DescribeTrailsCommand({}))
    // Wait until the three calls are in the store.
    for (let i = 0; ; i++) {
      const { QueryId } = await client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'DescribeTrails'`,
        }),
      )
      let d
      do d = await client.send(new DescribeQueryCommand({ QueryId }))
      while (d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING')
      if ((await rows(client, QueryId!))[0]?.['n'] === '3') break
      assert.ok(i < 100, 'events never reached the store')
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  after(async () => {
    await ts?.close()
  })

  const byName = (id: string) =>
    `SELECT eventName, count(*) AS calls FROM ${id} WHERE eventTime > '?' AND eventTime < '?' GROUP BY eventName ORDER BY calls DESC`
  const overTime = (id: string) =>
    `SELECT date_trunc('?', eventTime) AS t, count(*) AS calls FROM ${id} GROUP BY 1 ORDER BY 1`

  it('creates a custom dashboard with two widgets and reads it back', async () => {
    const c = await client.send(
      new CreateDashboardCommand({
        Name: 'activity',
        TagsList: [{ Key: 'team', Value: 'sec' }],
        Widgets: [
          {
            QueryStatement: byName(storeId),
            QueryParameters: ['$StartTime$', '$EndTime$'],
            ViewProperties: { View: 'Table', Title: 'Calls by name', Height: '2', Width: '4' },
          },
          {
            QueryStatement: overTime(storeId),
            QueryParameters: ['$Period$'],
            ViewProperties: {
              View: 'LineChart',
              Title: 'Calls over time',
              XAxisColumn: 't',
              YAxisColumn: 'calls',
            },
          },
        ],
      }),
    )
    assert.match(c.DashboardArn!, /^arn:aws:cloudtrail:us-east-1:111122223333:dashboard\/activity$/)
    assert.equal(c.Name, 'activity')
    assert.equal(c.Type, 'CUSTOM')
    assert.equal(c.TerminationProtectionEnabled, false)
    assert.deepEqual(c.TagsList, [{ Key: 'team', Value: 'sec' }])
    assert.deepEqual(
      c.Widgets?.map((w) => [w.QueryAlias, w.ViewProperties?.['View']]),
      [
        ['widget1', 'Table'],
        ['widget2', 'LineChart'],
      ],
    )
    const g = await client.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    assert.equal(g.DashboardArn, c.DashboardArn)
    assert.equal(g.Status, 'CREATED')
    assert.equal(g.Widgets?.length, 2)
    assert.deepEqual(g.Widgets?.[0]?.QueryParameters, ['$StartTime$', '$EndTime$'])
    assert.ok(g.CreatedTimestamp instanceof Date)
    assert.equal(g.LastRefreshId, undefined)
    // By ARN too.
    const byArn = await client.send(new GetDashboardCommand({ DashboardId: c.DashboardArn }))
    assert.equal(byArn.Widgets?.[1]?.QueryStatement, overTime(storeId))
  })

  it('refreshes: every widget query runs and DescribeQuery finds it by RefreshId and QueryAlias', async () => {
    const { RefreshId } = await client.send(
      new StartDashboardRefreshCommand({ DashboardId: 'activity' }),
    )
    assert.match(RefreshId!, /^\d{10,20}$/)
    const q1 = await finished(client, RefreshId!, 'widget1')
    const q2 = await finished(client, RefreshId!, 'widget2')
    assert.notEqual(q1, q2)
    const names = await rows(client, q1)
    // Independent count: LookupEvents over the same calls.
    const lookup = await client.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }],
      }),
    )
    assert.equal(lookup.Events?.length, 3)
    assert.equal(names.find((r) => r['eventName'] === 'DescribeTrails')?.['calls'], '3')
    const series = await rows(client, q2)
    assert.ok(series.length >= 1)
    // $Period$ defaults to hour over the default day: each bucket starts on the hour.
    for (const r of series) assert.match(r['t']!, /:00:00(\.000)?$/)
    const total = series.reduce((n, r) => n + Number(r['calls']), 0)
    assert.ok(total >= 3)
    const g = await client.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    assert.equal(g.LastRefreshId, RefreshId)
    assert.equal(g.LastRefreshFailureReason, undefined)
  })

  it('takes QueryParameterValues: a window with no events gives no rows', async () => {
    const { RefreshId } = await client.send(
      new StartDashboardRefreshCommand({
        DashboardId: 'activity',
        QueryParameterValues: {
          $StartTime$: '2001-01-01T00:00:00Z',
          $EndTime$: '2001-01-02T00:00:00Z',
          $Period$: 'day',
        },
      }),
    )
    assert.deepEqual(await rows(client, await finished(client, RefreshId!, 'widget1')), [])
    const bad = await errorName(
      client.send(
        new StartDashboardRefreshCommand({
          DashboardId: 'activity',
          QueryParameterValues: { $Period$: 'fortnight' },
        }),
      ),
    )
    assert.equal(bad, 'ValidationException')
    const unknown = await errorName(
      client.send(
        new StartDashboardRefreshCommand({
          DashboardId: 'activity',
          QueryParameterValues: { $Other$: 'x1' },
        }),
      ),
    )
    assert.equal(unknown, 'ValidationException')
  })

  it('updates widgets (remove one), the schedule and termination protection', async () => {
    const g = await client.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    const keep = g.Widgets![0]!
    const u = await client.send(
      new UpdateDashboardCommand({
        DashboardId: 'activity',
        Widgets: [
          {
            QueryStatement: keep.QueryStatement,
            QueryParameters: keep.QueryParameters,
            ViewProperties: {
              ...keep.ViewProperties,
              View: 'BarChart',
              XAxisColumn: 'eventName',
              YAxisColumn: 'calls',
            },
          },
        ],
        RefreshSchedule: {
          Frequency: { Unit: 'HOURS', Value: 6 },
          Status: 'ENABLED',
          TimeOfDay: '00:30',
        },
        TerminationProtectionEnabled: true,
      }),
    )
    assert.equal(u.Widgets?.length, 1)
    assert.equal(u.Widgets?.[0]?.ViewProperties?.['View'], 'BarChart')
    assert.deepEqual(u.RefreshSchedule, {
      Frequency: { Unit: 'HOURS', Value: 6 },
      Status: 'ENABLED',
      TimeOfDay: '00:30',
    })
    assert.equal(u.TerminationProtectionEnabled, true)
    const after = await client.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    assert.equal(after.Status, 'UPDATED')
    assert.equal(after.Widgets?.length, 1)
    // Protected: DeleteDashboard is refused until protection is turned off.
    assert.equal(
      await errorName(client.send(new DeleteDashboardCommand({ DashboardId: 'activity' }))),
      'ConflictException',
    )
    await client.send(
      new UpdateDashboardCommand({ DashboardId: 'activity', TerminationProtectionEnabled: false }),
    )
    // Widgets untouched when the update does not name them.
    const kept = await client.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    assert.equal(kept.Widgets?.length, 1)
  })

  it('lists dashboards with NamePrefix, Type and pages', async () => {
    await client.send(new CreateDashboardCommand({ Name: 'another-one' }))
    await client.send(new CreateDashboardCommand({ Name: 'act-two' }))
    const all = await client.send(new ListDashboardsCommand({}))
    assert.deepEqual(
      all.Dashboards?.map((d) => d.DashboardArn!.split('/')[1]),
      ['act-two', 'activity', 'another-one'],
    )
    assert.ok(all.Dashboards?.every((d) => d.Type === 'CUSTOM'))
    const pref = await client.send(new ListDashboardsCommand({ NamePrefix: 'act' }))
    assert.equal(pref.Dashboards?.length, 2)
    const managed = await client.send(new ListDashboardsCommand({ Type: 'MANAGED' }))
    assert.deepEqual(managed.Dashboards, [])
    const p1 = await client.send(new ListDashboardsCommand({ MaxResults: 2 }))
    assert.equal(p1.Dashboards?.length, 2)
    const p2 = await client.send(
      new ListDashboardsCommand({ MaxResults: 2, NextToken: p1.NextToken }),
    )
    assert.deepEqual(
      p2.Dashboards?.map((d) => d.DashboardArn!.split('/')[1]),
      ['another-one'],
    )
    assert.equal(p2.NextToken, undefined)
    assert.equal(
      await errorName(client.send(new ListDashboardsCommand({ NextToken: 'garbage-token' }))),
      'InvalidNextTokenException',
    )
  })

  it("answers bad input with AWS's errors", async () => {
    const widget = (sql: string, params?: string[]) => ({
      QueryStatement: sql,
      ...(params ? { QueryParameters: params } : {}),
      ViewProperties: { View: 'Table', Title: 'x' },
    })
    const create = (name: string, widgets: ReturnType<typeof widget>[] = []) =>
      errorName(client.send(new CreateDashboardCommand({ Name: name, Widgets: widgets })))
    assert.equal(await create('activity'), 'ConflictException')
    assert.equal(await create('bad name!'), 'ValidationException')
    assert.equal(await create('AWSCloudTrail-Highlights'), 'UnsupportedOperationException')
    assert.equal(
      await create('syntax', [widget(`SELEC eventName FROM ${storeId}`)]),
      'InvalidQueryStatementException',
    )
    assert.equal(
      await create('no-store', [
        widget('SELECT eventName FROM 00000000-0000-4000-8000-000000000000'),
      ]),
      'EventDataStoreNotFoundException',
    )
    assert.equal(
      await create('hostile', [widget("SELECT * FROM read_csv('/etc/passwd')")]),
      'InvalidQueryStatementException',
    )
    assert.equal(
      await create('params', [widget(`SELECT 1 FROM ${storeId} WHERE eventTime > '?'`)]),
      'InvalidQueryStatementException',
    )
    assert.equal(
      await create('params2', [
        widget(`SELECT 1 FROM ${storeId} WHERE eventName = '?'`, ['$Who$']),
      ]),
      'InvalidQueryStatementException',
    )
    const eleven = Array.from({ length: 11 }, () => widget(`SELECT 1 FROM ${storeId}`))
    assert.equal(await create('too-many', eleven), 'ServiceQuotaExceededException')
    assert.equal(
      await errorName(
        client.send(
          new CreateDashboardCommand({
            Name: 'bad-view',
            Widgets: [
              { QueryStatement: `SELECT 1 FROM ${storeId}`, ViewProperties: { View: "it's" } },
            ],
          }),
        ),
      ),
      'ValidationException',
    )
    assert.equal(
      await errorName(
        client.send(
          new CreateDashboardCommand({
            Name: 'bad-schedule',
            RefreshSchedule: { Frequency: { Unit: 'HOURS', Value: 0 }, Status: 'ENABLED' },
          }),
        ),
      ),
      'ValidationException',
    )
    for (const cmd of [
      new GetDashboardCommand({ DashboardId: 'nope' }),
      new DeleteDashboardCommand({ DashboardId: 'nope' }),
      new StartDashboardRefreshCommand({ DashboardId: 'nope' }),
      new UpdateDashboardCommand({ DashboardId: 'nope' }),
    ]) {
      assert.equal(await errorName(client.send(cmd as never)), 'ResourceNotFoundException')
    }
    assert.equal(
      await errorName(
        client.send(
          new DescribeQueryCommand({ RefreshId: '1234567890123', QueryAlias: 'widget1' }),
        ),
      ),
      'QueryIdNotFoundException',
    )
    // Nothing was created by the failed calls.
    const all = await client.send(new ListDashboardsCommand({}))
    assert.equal(all.Dashboards?.length, 3)
  })

  it('authorizes each operation with IAM and records the calls', async () => {
    const reader = ts.client(READER)
    const g = await reader.send(new GetDashboardCommand({ DashboardId: 'activity' }))
    assert.equal(g.Widgets?.length, 1)
    assert.equal((await reader.send(new ListDashboardsCommand({}))).Dashboards?.length, 3)
    for (const cmd of [
      new CreateDashboardCommand({ Name: 'by-reader' }),
      new StartDashboardRefreshCommand({ DashboardId: 'activity' }),
      new DeleteDashboardCommand({ DashboardId: 'activity' }),
    ]) {
      assert.equal(await errorName(reader.send(cmd as never)), 'AccessDeniedException')
    }
    // Saving a widget needs cloudtrail:StartQuery on its stores, enabling a schedule
    // cloudtrail:StartDashboardRefresh: a dashboard holds only what its authors could run.
    const author = ts.client(AUTHOR)
    const widget = {
      QueryStatement: `SELECT count(*) FROM ${storeId}`,
      ViewProperties: { View: 'Table', Title: 'All' },
    }
    assert.equal(
      await errorName(
        author.send(new CreateDashboardCommand({ Name: 'auth1', Widgets: [widget] })),
      ),
      'AccessDeniedException',
    )
    await author.send(new CreateDashboardCommand({ Name: 'auth1' }))
    assert.equal(
      await errorName(
        author.send(new UpdateDashboardCommand({ DashboardId: 'auth1', Widgets: [widget] })),
      ),
      'AccessDeniedException',
    )
    assert.equal(
      await errorName(
        author.send(
          new UpdateDashboardCommand({
            DashboardId: 'auth1',
            RefreshSchedule: { Frequency: { Unit: 'DAYS', Value: 1 }, Status: 'ENABLED' },
          }),
        ),
      ),
      'AccessDeniedException',
    )
    await client.send(new DeleteDashboardCommand({ DashboardId: 'auth1' }))
    // The calls are CloudTrail events, with the dashboard as the resource.
    for (let i = 0; ; i++) {
      const r = await client.send(
        new LookupEventsCommand({
          LookupAttributes: [
            { AttributeKey: 'EventName', AttributeValue: 'StartDashboardRefresh' },
          ],
        }),
      )
      const denied = r.Events?.find((e) => e.Username === 'reader')
      if (denied) {
        const record = JSON.parse(denied.CloudTrailEvent!) as Record<string, unknown>
        assert.equal(record['errorCode'], 'AccessDenied')
        assert.deepEqual(denied.Resources, [
          {
            ResourceType: 'AWS::CloudTrail::Dashboard',
            ResourceName: `arn:aws:cloudtrail:us-east-1:${MINE}:dashboard/activity`,
          },
        ])
        break
      }
      assert.ok(i < 100, 'the refused StartDashboardRefresh was not recorded')
      await new Promise((r) => setTimeout(r, 50))
    }
  })

  it(
    'works from the AWS CLI: create-dashboard, start-dashboard-refresh, describe-query --refresh-id',
    { skip: noCli },
    async () => {
      const aws = async (...args: string[]) => {
        const r = await promisify(execFile)(
          'aws',
          ['--endpoint-url', ts.url, '--output', 'json', 'cloudtrail', ...args],
          {
            env: {
              ...process.env,
              AWS_SHARED_CREDENTIALS_FILE: ts.credentialsFile,
              AWS_PROFILE: 'opentrail',
              AWS_DEFAULT_REGION: 'us-east-1',
            },
          },
        )
        return JSON.parse(r.stdout || '{}') as Record<string, unknown>
      }
      const widgets = JSON.stringify([
        {
          QueryStatement: `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'DescribeTrails' AND eventTime > '?'`,
          QueryParameters: ['$StartTime$'],
          ViewProperties: { View: 'Table', Title: 'Describe calls' },
        },
      ])
      const c = await aws('create-dashboard', '--name', 'from-cli', '--widgets', widgets)
      assert.equal(c['Type'], 'CUSTOM')
      const { RefreshId } = (await aws(
        'start-dashboard-refresh',
        '--dashboard-id',
        'from-cli',
      )) as { RefreshId: string }
      // Wait with the SDK (each CLI run starts Python), then read the widget's query with the CLI.
      await finished(client, RefreshId, 'widget1')
      const d = await aws('describe-query', '--refresh-id', RefreshId, '--query-alias', 'widget1')
      assert.equal(d['QueryStatus'], 'FINISHED')
      const r = (await aws('get-query-results', '--query-id', String(d['QueryId']))) as {
        QueryResultRows: Record<string, string>[][]
      }
      assert.deepEqual(r.QueryResultRows, [[{ n: '3' }]])
      await client.send(new DeleteDashboardCommand({ DashboardId: 'from-cli' }))
    },
  )

  it('deletes a dashboard', async () => {
    await client.send(new DeleteDashboardCommand({ DashboardId: 'another-one' }))
    assert.equal(
      await errorName(client.send(new GetDashboardCommand({ DashboardId: 'another-one' }))),
      'ResourceNotFoundException',
    )
  })
})
