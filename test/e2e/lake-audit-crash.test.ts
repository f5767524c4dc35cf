/**
 * Crash test for PutAuditEvents: clients send application events into a channel of a server (child
 * process) that is killed with SIGKILL and restarted twice. PutAuditEvents answers once its events
 * are in the durable audit-event log, before the Lake has loaded them; afterwards every eventID an
 * answer returned is in the event data store exactly once.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudtrail'
import { AuditEventsClient } from '../../src/lake/audit-client.js'
import { readAdminKey } from '../helpers/server.js'
import { callLoop, freePort, killAndRestart, sleep, waitForEveryAck } from '../helpers/crash.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'

const KILLS = 2
const WORKERS = 4
const PER_CALL = 20

describe('e2e crash: PutAuditEvents under SIGKILL', () => {
  let dir: string
  let proc: ServerProcess | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-audit-crash-'))
  })
  after(async () => {
    await proc?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('every event PutAuditEvents acknowledged is in the store exactly once', async () => {
    const port = await freePort()
    const endpoint = `http://127.0.0.1:${port}`
    const args = ['--port', String(port), '--data-dir', dir]
    proc = await spawnServer(args)
    const key = await readAdminKey(dir)
    const ct = new CloudTrailClient({ endpoint, region: 'us-east-1', credentials: key })
    const st = await ct.send(
      new CreateEventDataStoreCommand({
        Name: 'app',
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] },
        ],
      }),
    )
    const storeId = st.EventDataStoreArn!.split('/')[1]!
    const account = st.EventDataStoreArn!.split(':')[4]!
    const ch = await ct.send(
      new CreateChannelCommand({
        Name: 'app',
        Source: 'Custom',
        Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeId }],
      }),
    )
    const audit = new AuditEventsClient({ endpoint, region: 'us-east-1', credentials: key })
    const eventIds = new Set<string>()
    let n = 0
    const load = callLoop(async () => {
      const auditEvents = Array.from({ length: PER_CALL }, (_, i) => ({
        id: `e${i}`,
        eventData: JSON.stringify({
          version: '1.0',
          userIdentity: { type: 'CustomUser', principalId: `u${n % 7}` },
          eventSource: 'crash.example.com',
          eventName: 'Write',
          eventTime: new Date(Date.UTC(2026, 0, 1) + n++).toISOString(),
          UID: randomUUID(),
          recipientAccountId: account,
        }),
      }))
      const out = await audit.putAuditEvents({ channelArn: ch.ChannelArn!, auditEvents })
      assert.equal(out.failed.length, 0)
      for (const s of out.successful) eventIds.add(s.eventID)
      return out.successful[0]!.eventID
    }, WORKERS)
    const run = await killAndRestart(proc, args, load, { kills: KILLS, maxPauseMs: 300 })
    proc = run.proc
    assert.ok(
      eventIds.size >= PER_CALL * 30 * (KILLS + 1),
      `only ${eventIds.size} events acknowledged`,
    )

    const count = async (): Promise<Map<string, number>> => {
      const { QueryId } = await ct.send(
        new StartQueryCommand({
          QueryStatement: `SELECT eventID, count(*) AS n FROM ${storeId} GROUP BY eventID`,
        }),
      )
      for (;;) {
        const d = await ct.send(new DescribeQueryCommand({ QueryId }))
        if (d.QueryStatus === 'FINISHED') break
        assert.ok(d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING', d.ErrorMessage)
        await sleep(20)
      }
      const counts = new Map<string, number>()
      let NextToken: string | undefined
      do {
        const r = await ct.send(new GetQueryResultsCommand({ QueryId, NextToken }))
        for (const row of r.QueryResultRows ?? []) {
          const o = Object.assign({}, ...row) as Record<string, string>
          counts.set(o['eventID']!, Number(o['n']))
        }
        NextToken = r.NextToken
      } while (NextToken)
      return counts
    }
    const counts = await waitForEveryAck(eventIds, count)
    const twice = [...counts].filter(([, c]) => c !== 1)
    assert.deepEqual(twice, [], 'events stored more than once')
  })
})
