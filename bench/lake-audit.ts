/**
 * @module bench/lake-audit
 * PutAuditEvents throughput over HTTP with real SigV4: a started server (this process), a channel
 * into an ActivityAuditLog event data store, and C concurrent clients spread over W child processes
 * (so that building and signing requests shares neither the server's event loop nor its CPU
 * accounting), each sending 100-event calls until E events are sent. By default each client process
 * builds and signs all its calls before the start signal (`--presign 0`: while sending), so that on
 * this 2-core machine the CPU goes to the server, as it would with clients on other machines.
 * A response comes once its events are durable in the audit-event log; the Lake loads them behind
 * it. Printed: the acknowledged rate, the rate per 5-second window (min / median / max:
 * "sustained"), call latency, how long after the last answer a count query (which waits for the
 * load) answers, with the end-to-end rate, the store's count (which must equal the events
 * accepted), and the server process's CPU time per event up to then (user + system, all its
 * threads: a figure less sensitive to other load on the machine than the wall-clock rate).
 *
 *   npx tsx bench/lake-audit.ts [--audit-events 1000000] [--clients 32] [--workers 2] [--presign 1]
 */
import { readFile } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fork } from 'node:child_process'
import {
  CloudTrailClient,
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../src/config/load.js'
import { AuditEventsClient, type AuditEvent, type SignedCall } from '../src/lake/audit-client.js'
import { startServer } from '../src/main.js'
import { createLogger } from '../src/telemetry/logger.js'
import { arg, int, mib, peakRss, summary, table } from './util.js'

const FROM = Date.UTC(2026, 0, 1)
const WINDOW_MS = 5000

interface Job {
  endpoint: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  channelArn: string
  account: string
  clients: number
  batches: number
  /** This process takes batches b with b % of === index. */
  index: number
  of: number
  presign: boolean
}

/** The 100 events of batch `b`. */
function batchEvents(job: Job, b: number): AuditEvent[] {
  return Array.from({ length: 100 }, (_, i) => ({
    id: `e${i}`,
    eventData: JSON.stringify({
      version: '1.0',
      userIdentity: { type: 'CustomUser', principalId: `user-${(b * 7 + i) % 500}` },
      userAgent: 'bench/1.0',
      eventSource: 'app.example.com',
      eventName: ['Login', 'Export', 'Delete', 'View'][i % 4],
      eventTime: new Date(FROM + b * 1000 + i).toISOString(),
      UID: `${b}-${i}`,
      requestParameters: { doc: `doc-${i}`, size: String(b) },
      sourceIPAddress: '10.0.0.1',
      recipientAccountId: job.account,
    }),
  }))
}

/**
 * One client process: its batches are b with b % of === index. With `presign`, every call is built
 * and signed before the start signal (the server gets the machine's CPU; real clients are
 * elsewhere); otherwise each is built and signed when sent. Then `clients` loops send them.
 */
async function prepareClient(job: Job): Promise<() => Promise<void>> {
  const client = new AuditEventsClient({
    endpoint: job.endpoint,
    region: 'us-east-1',
    credentials: job.credentials,
  })
  const mine: number[] = []
  for (let b = job.index; b < job.batches; b += job.of) mine.push(b)
  const input = (b: number) => ({ channelArn: job.channelArn, auditEvents: batchEvents(job, b) })
  const signed: SignedCall[] = []
  if (job.presign) for (const b of mine) signed.push(await client.sign(input(b)))
  return async () => {
    let next = 0
    let accepted = 0
    let failed = 0
    const latencies: number[] = []
    const report = setInterval(() => {
      process.send!({ accepted, failed })
      accepted = 0
      failed = 0
    }, 250)
    await Promise.all(
      Array.from({ length: job.clients }, async () => {
        for (;;) {
          const k = next++
          if (k >= mine.length) return
          const t0 = performance.now()
          const out = job.presign
            ? await client.send(signed[k]!)
            : await client.putAuditEvents(input(mine[k]!))
          latencies.push(performance.now() - t0)
          accepted += out.successful.length
          failed += out.failed.length
        }
      }),
    )
    clearInterval(report)
    process.send!({ accepted, failed, latencies, done: true })
  }
}

async function waitForQuery(ct: CloudTrailClient, sql: string): Promise<string> {
  const { QueryId } = await ct.send(new StartQueryCommand({ QueryStatement: sql }))
  for (;;) {
    const r = await ct.send(new GetQueryResultsCommand({ QueryId }))
    if (r.QueryStatus === 'FINISHED') return r.QueryResultRows![0]![0]!['n']!
    if (r.QueryStatus !== 'QUEUED' && r.QueryStatus !== 'RUNNING')
      throw new Error(`query ${r.QueryStatus}: ${r.ErrorMessage}`)
    await new Promise((ok) => setTimeout(ok, 100))
  }
}

/** Runs the benchmark in `work` (a server data directory is made there). */
export async function benchAudit(
  work: string,
  opts: { events: number; clients: number; workers: number; presign: boolean },
): Promise<void> {
  const dataDir = join(work, 'server')
  const server = await startServer(await loadConfig({ port: 0, dataDir }, {}), {
    logger: createLogger('error'),
  })
  try {
    const key = /aws_access_key_id = (\S+)[\s\S]*aws_secret_access_key = (\S+)/.exec(
      await readFile(join(dataDir, 'credentials'), 'utf8'),
    )!
    const credentials = { accessKeyId: key[1]!, secretAccessKey: key[2]! }
    const ct = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials })
    const st = await ct.send(
      new CreateEventDataStoreCommand({
        Name: 'app-events',
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] },
        ],
      }),
    )
    const account = st.EventDataStoreArn!.split(':')[4]!
    const ch = await ct.send(
      new CreateChannelCommand({
        Name: 'bench',
        Source: 'Custom',
        Destinations: [{ Type: 'EVENT_DATA_STORE', Location: st.EventDataStoreArn }],
      }),
    )
    const batches = Math.ceil(opts.events / 100)
    let accepted = 0
    let failed = 0
    const latencies: number[] = []
    const windows: number[] = []
    let windowStart = performance.now()
    let windowCount = 0
    // Clients start (and load their code), say ready, and all begin on one signal.
    let t0 = 0
    let cpu0 = process.cpuUsage()
    let ready = 0
    const procs: ReturnType<typeof fork>[] = []
    const go = () => {
      t0 = performance.now()
      windowStart = t0
      cpu0 = process.cpuUsage()
      for (const p of procs) p.send('go')
    }
    await Promise.all(
      Array.from({ length: opts.workers }, (_, w) => {
        const job: Job = {
          endpoint: server.url,
          credentials,
          channelArn: ch.ChannelArn!,
          account,
          clients:
            Math.floor(opts.clients / opts.workers) + (w < opts.clients % opts.workers ? 1 : 0),
          batches,
          index: w,
          of: opts.workers,
          presign: opts.presign,
        }
        const wk = fork(new URL(import.meta.url), ['--client'], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        })
        procs.push(wk)
        wk.send(job)
        return new Promise<void>((ok, fail) => {
          wk.on(
            'message',
            (m: {
              ready?: boolean
              accepted: number
              failed: number
              latencies?: number[]
              done?: boolean
            }) => {
              if (m.ready) {
                if (++ready === opts.workers) go()
                return
              }
              accepted += m.accepted
              failed += m.failed
              windowCount += m.accepted
              const now = performance.now()
              if (now - windowStart >= WINDOW_MS) {
                windows.push(windowCount / ((now - windowStart) / 1000))
                windowStart = now
                windowCount = 0
              }
              if (m.latencies) latencies.push(...m.latencies)
              if (m.done) ok()
            },
          )
          wk.on('error', fail)
          wk.on('exit', (code) => (code ? fail(new Error(`client process exited ${code}`)) : ok()))
        })
      }),
    )
    const tAcked = performance.now()
    const secs = (tAcked - t0) / 1000
    // The query waits until every acknowledged event is loaded: its answer marks the end of the load.
    const stored = await waitForQuery(
      ct,
      `SELECT count(*) AS n FROM ${st.EventDataStoreArn!.split('/').at(-1)!}`,
    )
    const lag = (performance.now() - tAcked) / 1000
    const cpu = process.cpuUsage(cpu0)
    const ws = [...windows].sort((a, b) => a - b)
    const lat = summary(latencies)
    table(
      `PutAuditEvents over HTTP (SigV4): ${int(accepted)} events in 100-event calls, ${opts.clients} clients in ${opts.workers} processes${opts.presign ? ', calls signed before the start' : ''}`,
      [
        ['events accepted', int(accepted)],
        ['entries failed', int(failed)],
        ['events in the store afterwards (StartQuery count)', int(Number(stored))],
        ['time', `${secs.toFixed(1)} s`],
        ['events/s acknowledged (durable in the audit-event log)', int(accepted / secs)],
        ['all events queryable, after the last answer', `${lag.toFixed(1)} s`],
        ['events/s end to end (first call to all queryable)', int(accepted / (secs + lag))],
        [
          `events/s per ${WINDOW_MS / 1000}-s window min / median / max`,
          ws.length
            ? `${int(ws[0]!)} / ${int(ws[Math.floor(ws.length / 2)]!)} / ${int(ws.at(-1)!)}`
            : 'n/a (run shorter than one window)',
        ],
        ['calls/s', int(batches / secs)],
        [
          'call latency p50 / p95 / p99 / max',
          `${lat.p50.toFixed(0)} / ${lat.p95.toFixed(0)} / ${lat.p99.toFixed(0)} / ${lat.max.toFixed(0)} ms`,
        ],
        [
          'server CPU (user + system, all threads, until all queryable) per event',
          `${((cpu.user + cpu.system) / accepted).toFixed(1)} µs (${int(accepted / ((cpu.user + cpu.system) / 1e6))} events per CPU-second)`,
        ],
        ['peak RSS (server process)', mib(peakRss())],
      ],
    )
    if (Number(stored) !== accepted) throw new Error(`stored ${stored} != accepted ${accepted}`)
  } finally {
    await server.close()
  }
}

if (process.argv.includes('--client')) {
  process.once('message', (job: Job) => {
    void prepareClient(job).then((run) => {
      process.once('message', () => void run().then(() => process.disconnect()))
      process.send!({ ready: true, accepted: 0, failed: 0 })
    })
  })
} else if (process.argv[1]?.endsWith('lake-audit.ts')) {
  const work = await mkdtemp(join(tmpdir(), 'opentrail-lake-audit-'))
  try {
    await benchAudit(work, {
      events: arg('audit-events', 'BENCH_LAKE_AUDIT_EVENTS', 1_000_000),
      clients: arg('clients', 'BENCH_LAKE_CLIENTS', 32),
      workers: arg('workers', 'BENCH_LAKE_WORKERS', 2),
      presign: arg('presign', 'BENCH_LAKE_PRESIGN', 1) !== 0,
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
