/**
 * Crash test: clients keep calling a server (a child process) that is killed with SIGKILL at
 * random moments and restarted on the same data directory. Every call that got a response was
 * acknowledged durably, so afterwards each of them must be in Event History exactly once.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  ListTrailsCommand,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail'
import { readAdminKey } from '../helpers/server.js'
import { callLoop, freePort, killAndRestart, waitForEveryAck } from '../helpers/crash.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'

const KILLS = 3
const WORKERS = 6

describe('e2e crash: SIGKILL while clients write', () => {
  let dir: string
  let proc: ServerProcess | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-crash-'))
  })
  after(async () => {
    await proc?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('every acknowledged call is in Event History exactly once after 3 kill -9 and restarts', async (t) => {
    const port = await freePort()
    const args = ['--port', String(port), '--data-dir', dir]
    proc = await spawnServer(args)
    const key = await readAdminKey(dir)
    const client = new CloudTrailClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })

    const load = callLoop(
      async () => (await client.send(new ListTrailsCommand({}))).$metadata.requestId,
      WORKERS,
      { strict: true },
    )
    const { acked } = load
    // Let some calls through, then kill at a random moment; three times.
    const { ackedAtKills } = await killAndRestart(proc, args, load, {
      kills: KILLS,
      maxPauseMs: 700,
      onRestart: (p) => (proc = p),
    })
    assert.equal(load.unexpected, undefined)
    const errors = load.errors
    assert.ok(errors > 0, 'some calls must have hit a dead server')

    // Every acknowledged call, exactly once. Events recorded but not acknowledged (the server
    // died before answering) may be there too, but once at most.
    const counts = await waitForEveryAck(acked, async () => {
      const counts = new Map<string, number>()
      let NextToken: string | undefined
      do {
        const page = await client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ListTrails' }],
            MaxResults: 50,
            NextToken,
          }),
        )
        for (const e of page.Events ?? []) {
          const id = (JSON.parse(e.CloudTrailEvent!) as { requestID: string }).requestID
          counts.set(id, (counts.get(id) ?? 0) + 1)
        }
        NextToken = page.NextToken
      } while (NextToken)
      return counts
    })
    const dupes = [...counts].filter(([, n]) => n > 1)
    assert.deepEqual(dupes, [], 'calls recorded more than once')
    assert.ok(counts.size >= acked.size)
    assert.ok(
      counts.size - acked.size <= KILLS * WORKERS,
      'more unacknowledged calls than in flight',
    )
    t.diagnostic(
      `${acked.size} acknowledged, ${counts.size} recorded, ${errors} failed calls; kills after ${ackedAtKills.join(', ')} acks`,
    )
    assert.equal(ackedAtKills.length, KILLS)
    assert.ok(acked.size > KILLS * 30)
  })
})
