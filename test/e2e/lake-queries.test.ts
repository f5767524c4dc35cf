/**
 * CloudTrail Lake queries end to end: at most 10 queued or running queries per account
 * (MaxConcurrentQueriesException), CancelQuery interrupting real long-running queries and freeing
 * their connections, results and the query list kept on disk across a restart.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CancelQueryCommand,
  CloudTrailClient,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  DescribeTrailsCommand,
  GetQueryResultsCommand,
  ListQueriesCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../../src/config/load.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { readAdminKey } from '../helpers/server.js'

async function waitFor(
  client: CloudTrailClient,
  QueryId: string,
  done: (s: string | undefined) => boolean,
) {
  for (let i = 0; i < 600; i++) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (done(d.QueryStatus)) return d
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`query ${QueryId} did not settle`)
}

const finished = (s: string | undefined) => s !== 'QUEUED' && s !== 'RUNNING'

describe('CloudTrail Lake queries', () => {
  let dataDir: string
  let config: Parameters<typeof startServer>[0]
  let server: RunningServer
  let client: CloudTrailClient
  let storeId: string
  const cancelledIds: string[] = []

  const start = async () => {
    server = await startServer(config, {
      logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
    })
    client = new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: await readAdminKey(dataDir),
      maxAttempts: 1,
    })
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-lake-queries-'))
    config = await loadConfig({ port: 0, dataDir }, {})
    await start()
    const s = await client.send(new CreateEventDataStoreCommand({ Name: 'queries-store' }))
    storeId = s.EventDataStoreArn!.split('/')[1]!
    for (let i = 0; i < 5; i++) await client.send(new DescribeTrailsCommand({}))
    for (let i = 0; i < 200; i++) {
      const { QueryId } = await client.send(
        new StartQueryCommand({ QueryStatement: `SELECT count(*) AS n FROM ${storeId}` }),
      )
      await waitFor(client, QueryId!, finished)
      const r = await client.send(new GetQueryResultsCommand({ QueryId }))
      if (Number(r.QueryResultRows?.[0]?.[0]?.['n']) >= 5) break
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  after(async () => {
    await server?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('allows 10 concurrent queries, refuses the 11th, and frees connections on cancel', async () => {
    // A cross join of 26 copies of the store: billions of rows, far longer than this test.
    const aliases = 'abcdefghijklmnopqrstuvwxyz'.split('')
    const heavy = `SELECT count(*) FROM ${aliases.map((a) => `${storeId} ${a}`).join(', ')} WHERE md5(concat(a.eventID, z.eventID, m.eventID)) = 'x'`
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: heavy }))
      ids.push(QueryId!)
    }
    await assert.rejects(
      client.send(new StartQueryCommand({ QueryStatement: `SELECT 1 FROM ${storeId}` })),
      { name: 'MaxConcurrentQueriesException' },
    )
    // The server still answers while they run: four RUNNING (one per query connection), six QUEUED.
    const states = await Promise.all(
      ids.map((QueryId) => client.send(new DescribeQueryCommand({ QueryId }))),
    )
    const count = (s: string) => states.filter((d) => d.QueryStatus === s).length
    assert.equal(count('RUNNING'), 4)
    assert.equal(count('QUEUED'), 6)
    for (const QueryId of ids) {
      const c = await client.send(new CancelQueryCommand({ QueryId }))
      assert.equal(c.QueryStatus, 'CANCELLED')
    }
    // Cancelled queries stop and free their connections: four new heavy queries all run at once.
    const again: string[] = []
    for (let i = 0; i < 4; i++) {
      const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: heavy }))
      again.push(QueryId!)
    }
    // A cancelled query's connection is free once DuckDB has stopped it (within moments): each new
    // one is RUNNING soon, not QUEUED until the hour-long timeout.
    for (const QueryId of again) {
      const deadline = Date.now() + 10_000
      let status: string | undefined
      do {
        status = (await client.send(new DescribeQueryCommand({ QueryId }))).QueryStatus
        if (status !== 'RUNNING') await new Promise((r) => setTimeout(r, 20))
      } while (status !== 'RUNNING' && Date.now() < deadline)
      assert.equal(status, 'RUNNING', 'a cancelled query still holds a connection')
    }
    for (const QueryId of again) await client.send(new CancelQueryCommand({ QueryId }))
    ids.push(...again)
    // And a new query runs to the end, long before the one-hour timeout the heavy ones would reach.
    const { QueryId } = await client.send(
      new StartQueryCommand({ QueryStatement: `SELECT count(*) AS n FROM ${storeId}` }),
    )
    const d = await waitFor(client, QueryId!, finished)
    assert.equal(d.QueryStatus, 'FINISHED')
    const r = await client.send(new GetQueryResultsCommand({ QueryId }))
    assert.ok(Number(r.QueryResultRows?.[0]?.[0]?.['n']) >= 5, 'events counted')
    for (const QueryId of ids) {
      const x = await client.send(new DescribeQueryCommand({ QueryId }))
      assert.equal(x.QueryStatus, 'CANCELLED')
    }
    cancelledIds.push(...ids)
  })

  it('pages results, refuses bad pages, and keeps queries and results across a restart', async () => {
    const sql = `SELECT eventID, eventName, userIdentity.arn AS who FROM ${storeId} ORDER BY eventID`
    const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
    const d = await waitFor(client, QueryId!, finished)
    assert.equal(d.QueryStatus, 'FINISHED')
    const total = Number(d.QueryStatistics?.EventsMatched)
    assert.ok(total >= 5, `only ${total} rows`)
    assert.ok(Number(d.QueryStatistics?.EventsScanned) > 0, 'EventsScanned')
    assert.ok(Number(d.QueryStatistics?.BytesScanned) > 0, 'BytesScanned')
    assert.ok(d.QueryStatistics?.CreationTime instanceof Date, 'CreationTime')
    const failed = await client.send(
      new StartQueryCommand({
        QueryStatement: `SELECT CAST(eventName AS INTEGER) FROM ${storeId}`,
      }),
    )
    const f = await waitFor(client, failed.QueryId!, finished)
    assert.equal(f.QueryStatus, 'FAILED')
    assert.match(f.ErrorMessage ?? '', /Conversion Error/)

    const pages = async (size: number) => {
      const rows: Record<string, string>[] = []
      const counts: number[] = []
      let token: string | undefined
      do {
        const r = await client.send(
          new GetQueryResultsCommand({ QueryId, MaxQueryResults: size, NextToken: token }),
        )
        assert.equal(r.QueryStatus, 'FINISHED')
        assert.equal(r.QueryStatistics?.TotalResultsCount, total)
        assert.equal(r.QueryStatistics?.ResultsCount, r.QueryResultRows?.length)
        counts.push(r.QueryResultRows!.length)
        for (const row of r.QueryResultRows!)
          rows.push(Object.assign({}, ...row) as Record<string, string>)
        token = r.NextToken
      } while (token)
      return { rows, counts }
    }
    const whole = await pages(1000)
    assert.equal(whole.rows.length, total)
    assert.deepEqual(whole.counts, [total])
    const byTwo = await pages(2)
    assert.deepEqual(byTwo.rows, whole.rows)
    assert.deepEqual(byTwo.counts, [
      ...Array<number>(Math.floor(total / 2)).fill(2),
      ...(total % 2 ? [1] : []),
    ])
    assert.deepEqual(Object.keys(whole.rows[0]!), ['eventID', 'eventName', 'who'])
    const ids = whole.rows.map((r) => r['eventID']!)
    assert.deepEqual(ids, [...ids].sort())

    await assert.rejects(
      client.send(new GetQueryResultsCommand({ QueryId, NextToken: 'not-a-token' })),
      { name: 'InvalidNextTokenException' },
    )
    const first = await client.send(new GetQueryResultsCommand({ QueryId, MaxQueryResults: 2 }))
    // A token belongs to its query.
    await assert.rejects(
      client.send(
        new GetQueryResultsCommand({ QueryId: failed.QueryId, NextToken: first.NextToken }),
      ),
      { name: 'InvalidNextTokenException' },
    )
    await assert.rejects(
      client.send(new GetQueryResultsCommand({ QueryId: '00000000-0000-4000-8000-000000000000' })),
      { name: 'QueryIdNotFoundException' },
    )
    await assert.rejects(client.send(new DescribeQueryCommand({})), {
      name: 'InvalidParameterException',
    })
    await assert.rejects(
      client.send(new DescribeQueryCommand({ QueryAlias: 'widget', RefreshId: '1234567890' })),
      { name: 'QueryIdNotFoundException' },
    )
    await assert.rejects(
      client.send(new DescribeQueryCommand({ QueryId, EventDataStore: 'not-a-store' })),
      { name: 'EventDataStoreARNInvalidException' },
    )
    await assert.rejects(client.send(new CancelQueryCommand({ QueryId })), {
      name: 'InactiveQueryException',
    })
    await assert.rejects(
      client.send(
        new ListQueriesCommand({
          EventDataStore: storeId,
          StartTime: new Date(Date.now()),
          EndTime: new Date(Date.now() - 60_000),
        }),
      ),
      { name: 'InvalidDateRangeException' },
    )

    const listBefore = await client.send(new ListQueriesCommand({ EventDataStore: storeId }))
    const described = await client.send(new DescribeQueryCommand({ QueryId }))

    // Restart on the same data directory.
    await server.close()
    await start()

    const after = await client.send(new DescribeQueryCommand({ QueryId }))
    assert.deepEqual(after, { ...described, $metadata: after.$metadata })
    assert.deepEqual((await pages(2)).rows, whole.rows)
    const f2 = await client.send(new DescribeQueryCommand({ QueryId: failed.QueryId }))
    assert.equal(f2.QueryStatus, 'FAILED')
    assert.equal(f2.ErrorMessage, f.ErrorMessage)
    const listAfter = await client.send(new ListQueriesCommand({ EventDataStore: storeId }))
    assert.deepEqual(listAfter.Queries, listBefore.Queries)
    const statuses = new Map(listAfter.Queries!.map((q) => [q.QueryId, q.QueryStatus]))
    assert.equal(statuses.get(QueryId), 'FINISHED')
    assert.equal(statuses.get(failed.QueryId), 'FAILED')
    for (const id of cancelledIds) assert.equal(statuses.get(id), 'CANCELLED')
    const onlyCancelled = await client.send(
      new ListQueriesCommand({ EventDataStore: storeId, QueryStatus: 'CANCELLED' }),
    )
    assert.deepEqual(onlyCancelled.Queries!.map((q) => q.QueryId).sort(), [...cancelledIds].sort())
  })
})
