/**
 * Crash safety of trail delivery: a server process (1 s delivery interval) is killed with SIGKILL
 * while calls are being made and log files written; after a restart on the same data directory,
 * every acknowledged call of the logging trail is in exactly one delivered log file. Files are
 * read with plain fs + zlib + JSON.parse.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  CloudTrailClient,
  CreateTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { LocalObjectStore } from '../../src/objectstore/local-store.js'
import { waitForEveryAck } from '../helpers/crash.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'
import { readAdminKey } from '../helpers/server.js'

const BUCKET = 'crash-bucket'

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(p)))
    else out.push(p)
  }
  return out
}

/** requestID -> number of log-file records carrying it. */
async function deliveredCounts(bucketDir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const f of await walk(bucketDir)) {
    if (!/\/CloudTrail\/.*\.json\.gz$/.test(f)) continue
    const body = JSON.parse(gunzipSync(await readFile(f)).toString()) as {
      Records: { requestID?: string }[]
    }
    for (const r of body.Records) {
      if (r.requestID) counts.set(r.requestID, (counts.get(r.requestID) ?? 0) + 1)
    }
  }
  return counts
}

describe('trail delivery across SIGKILL (e2e)', () => {
  let dir: string
  let proc: ServerProcess | undefined
  after(async () => {
    await proc?.kill()
    await rm(dir, { recursive: true, force: true })
  })

  it('delivers every acknowledged call exactly once after a crash and restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-crash-'))
    const dataDir = join(dir, 'data')
    // The bucket, created in the embedded store's directory before the server starts.
    await (await LocalObjectStore.open(join(dataDir, 'buckets'))).createBucket(BUCKET)
    const args = ['--data-dir', dataDir, '--delivery-interval', '1', '--digest-interval', '3600']
    const env = { OPENTRAIL_LOG_LEVEL: 'warn' }
    proc = await spawnServer(args, env)
    const key = await readAdminKey(dataDir)
    const client = (url: string) =>
      new CloudTrailClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: key,
        maxAttempts: 1,
      })
    let c = client(proc.url)
    await c.send(new CreateTrailCommand({ Name: 'crash-trail', S3BucketName: BUCKET }))
    await c.send(new StartLoggingCommand({ Name: 'crash-trail' }))

    const acked: string[] = []
    const burst = async (cl: CloudTrailClient, ms: number) => {
      const until = Date.now() + ms
      const workers = Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          try {
            const r = await cl.send(new DescribeTrailsCommand({}))
            acked.push(r.$metadata.requestId!)
          } catch {
            return // the server is gone
          }
        }
      })
      await Promise.all(workers)
    }
    // Calls for 2.5 s, killed in the middle of them (and of deliveries every second).
    const calls = burst(c, 60_000)
    await new Promise((r) => setTimeout(r, 2500))
    await proc.kill('SIGKILL')
    await calls
    const beforeCrash = acked.length
    assert.ok(beforeCrash > 5, `only ${beforeCrash} calls made before the kill`)

    proc = await spawnServer(args, env)
    c = client(proc.url)
    await burst(c, 1000)
    const bucketDir = join(dataDir, 'buckets', BUCKET)
    const counts = await waitForEveryAck(acked, () => deliveredCounts(bucketDir), {
      timeoutMs: 60_000,
      pollMs: 250,
    })
    const twice = [...counts].filter(([, n]) => n > 1)
    assert.deepEqual(twice, [], 'records delivered more than once')
    await proc.kill('SIGTERM')
    proc = undefined
  })
})
