/**
 * CloudTrail Lake queries end to end: at most 10 queued or running queries per account
 * (MaxConcurrentQueriesException), CancelQuery interrupting real long-running queries and freeing
 * their connections, results and the query list kept on disk across a restart.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  CancelQueryCommand,
  CloudTrailClient,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  DescribeTrailsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'

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
  let ts: TestServer
  let client: CloudTrailClient
  let storeId: string

  before(async () => {
    ts = await startTestServer()
    client = ts.client()
    const s = await client.send(new CreateEventDataStoreCommand({ Name: 'queries-store' }))
    storeId = s.EventDataStoreArn!.split('/')[1]!
    for (let i = 0; i < 4; i++) await client.send(new DescribeTrailsCommand({}))
    for (let i = 0; i < 200; i++) {
      const { QueryId } = await client.send(
        new StartQueryCommand({ QueryStatement: `SELECT count(*) AS n FROM ${storeId}` }),
      )
      await waitFor(client, QueryId!, finished)
      const r = await client.send(new GetQueryResultsCommand({ QueryId }))
      if (Number(r.QueryResultRows?.[0]?.[0]?.['n']) >= 4) break
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  after(async () => {
    await ts?.close()
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
    // Cancelled queries stop (the connections are free): a new query runs to the end, long before
    // the one-hour timeout the heavy ones would otherwise reach.
    const { QueryId } = await client.send(
      new StartQueryCommand({ QueryStatement: `SELECT count(*) AS n FROM ${storeId}` }),
    )
    const d = await waitFor(client, QueryId!, finished)
    assert.equal(d.QueryStatus, 'FINISHED')
    const r = await client.send(new GetQueryResultsCommand({ QueryId }))
    assert.ok(Number(r.QueryResultRows?.[0]?.[0]?.['n']) >= 4)
    for (const QueryId of ids) {
      const x = await client.send(new DescribeQueryCommand({ QueryId }))
      assert.equal(x.QueryStatus, 'CANCELLED')
    }
  })
})
