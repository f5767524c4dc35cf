/**
 * Crash test: clients keep calling a server (a child process) that is killed with SIGKILL at
 * random moments and restarted on the same data directory. Every call that got a response was
 * acknowledged durably, so afterwards each of them must be in Event History exactly once.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  ListTrailsCommand,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail'
import { readAdminKey } from '../helpers/server.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'

const KILLS = 3
const WORKERS = 6
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

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

    const acked = new Set<string>()
    let errors = 0
    let unexpected: string | undefined
    let running = true
    const worker = async () => {
      while (running) {
        try {
          const r = await client.send(new ListTrailsCommand({}))
          if (r.$metadata.requestId) acked.add(r.$metadata.requestId)
          else unexpected ??= 'a response without a request ID'
        } catch (err) {
          // Only a dead server may fail a call: never an error answer from a live one.
          const e = err as Error & { $metadata?: { httpStatusCode?: number } }
          if (e.$metadata?.httpStatusCode !== undefined) unexpected ??= `${e.name}: ${e.message}`
          errors++
          await sleep(5)
        }
      }
    }
    /** Waits for `n` more acknowledged calls (a server that never answers fails the test). */
    const moreAcks = async (n: number) => {
      const floor = acked.size + n
      const deadline = Date.now() + 30_000
      while (acked.size < floor) {
        assert.equal(unexpected, undefined)
        assert.ok(Date.now() < deadline, `no ${n} acknowledged calls within 30 s`)
        await sleep(5)
      }
    }
    const workers = Array.from({ length: WORKERS }, worker)
    const kills: { at: number; acked: number }[] = []
    try {
      for (let k = 0; k < KILLS; k++) {
        // Let some calls through, then kill at a random moment.
        await moreAcks(30)
        await sleep(Math.random() * 700)
        kills.push({ at: Date.now(), acked: acked.size })
        assert.equal(await proc.kill('SIGKILL'), 'SIGKILL')
        proc = await spawnServer(args)
      }
      await moreAcks(30)
    } finally {
      // Also on failure: looping clients would keep the test process alive for ever.
      running = false
      await Promise.all(workers)
    }
    assert.equal(unexpected, undefined)
    assert.ok(errors > 0, 'some calls must have hit a dead server')

    // Every acknowledged call, exactly once. Events recorded but not acknowledged (the server
    // died before answering) may be there too, but once at most.
    const counts = new Map<string, number>()
    const deadline = Date.now() + 30_000
    for (;;) {
      counts.clear()
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
      const missing = [...acked].filter((id) => !counts.has(id))
      if (missing.length === 0 || Date.now() > deadline) {
        assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged calls lost`)
        break
      }
      await sleep(200)
    }
    const dupes = [...counts].filter(([, n]) => n > 1)
    assert.deepEqual(dupes, [], 'calls recorded more than once')
    assert.ok(counts.size >= acked.size)
    assert.ok(
      counts.size - acked.size <= KILLS * WORKERS,
      'more unacknowledged calls than in flight',
    )
    t.diagnostic(
      `${acked.size} acknowledged, ${counts.size} recorded, ${errors} failed calls; kills after ${kills.map((k) => k.acked).join(', ')} acks`,
    )
    assert.equal(kills.length, KILLS)
    assert.ok(acked.size > KILLS * 30)
  })
})
