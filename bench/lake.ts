/**
 * @module bench/lake
 * CloudTrail Lake: query times on N generated events (bench/generator.ts), beside DuckDB reading the
 * same events as raw `.json.gz` trail files in the same run (the "Athena over raw JSON" analogue:
 * a declared schema, every query reads and parses the files), and PutAuditEvents throughput.
 *
 * 1. N events are generated once (cached in bench/out/lake-<N>/ as trail files of 10,000 records).
 * 2. They are loaded into a Lake store through the Lake sink's own write path (the rows the
 *    pipeline would write), and timed.
 * 3. Four queries (group-by, one user in a time window, top error codes, a join) run through the
 *    Lake's StartQuery path (lake/sql.ts checks and rewrites the statement, the sandboxed engine
 *    runs it), each 3 times (best and median printed), then the same queries in plain DuckDB over
 *    the raw files (once each: every run reads all files again).
 * 4. PutAuditEvents: a started server, a channel into an ActivityAuditLog store, C clients sending
 *    100-event batches over HTTP (SigV4-signed) for a fixed count; events/s until the last
 *    response (each response is sent after the events are committed).
 *
 *   npx tsx bench/lake.ts [--events 1000000] [--audit-events 500000] [--clients 16]
 *   BENCH_FULL=1 npx tsx bench/lake.ts      # 10 million events
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import {
  CloudTrailClient,
  CreateChannelCommand,
  CreateEventDataStoreCommand,
} from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../src/config/load.js'
import type { CloudTrailRecord } from '../src/events/record.js'
import { AuditEventsClient } from '../src/lake/audit-client.js'
import { LakeEngine } from '../src/lake/engine.js'
import { tableOf } from '../src/lake/sql.js'
import { startServer } from '../src/main.js'
import { createLogger } from '../src/telemetry/logger.js'
import { EventGenerator } from './generator.js'
import { arg, FULL, grid, int, mib, peakRss, table } from './util.js'

const N = arg('events', 'BENCH_LAKE_EVENTS', FULL ? 10_000_000 : 1_000_000)
const AUDIT = arg('audit-events', 'BENCH_LAKE_AUDIT_EVENTS', FULL ? 2_000_000 : 500_000)
const CLIENTS = arg('clients', 'BENCH_LAKE_CLIENTS', 16)
const PER_FILE = 10_000
const HERE = dirname(fileURLToPath(import.meta.url))
const STORE_ID = '0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
const DAY = 86_400_000
const FROM = Date.UTC(2026, 0, 1)
const TO = FROM + 30 * DAY

const gz = promisify(gzip)
const gunz = promisify(gunzip)

/** Writes (once) the trail files for N events; returns the directory. */
async function ensureFiles(): Promise<string> {
  const dir = join(HERE, 'out', `lake-${N}`)
  if (existsSync(join(dir, 'DONE'))) return dir
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const gen = EventGenerator.load({ seed: 7 })
  const t0 = performance.now()
  const step = (TO - FROM) / N
  for (let f = 0; f * PER_FILE < N; f++) {
    const n = Math.min(PER_FILE, N - f * PER_FILE)
    const records = gen.batch(n, FROM + f * PER_FILE * step, FROM + (f * PER_FILE + n) * step)
    const name = `111122223333_CloudTrail_us-east-1_${String(f).padStart(6, '0')}.json.gz`
    await writeFile(join(dir, name), await gz(JSON.stringify({ Records: records }), { level: 6 }))
  }
  await writeFile(join(dir, 'DONE'), '')
  console.log(`generated ${int(N)} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return dir
}

async function* readFiles(dir: string): AsyncGenerator<CloudTrailRecord[]> {
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json.gz')).sort()) {
    const text = (await gunz(await readFile(join(dir, f)))).toString('utf8')
    yield (JSON.parse(text) as { Records: CloudTrailRecord[] }).Records
  }
}

/** The queries, with {T} for the table: the Lake's store ID, or the raw files' relation. */
function queries(user: string): [string, string][] {
  return [
    ['group-by eventName', `SELECT eventName, count(*) AS n FROM {T} GROUP BY eventName`],
    [
      'one user, 1-day window',
      `SELECT eventTime, eventName, sourceIPAddress FROM {T}
       WHERE userIdentity.arn = '${user}'
         AND eventTime >= timestamp '2026-01-10 00:00:00' AND eventTime < timestamp '2026-01-11 00:00:00'`,
    ],
    [
      'top 10 error codes',
      `SELECT errorCode, count(*) AS n FROM {T} WHERE errorCode IS NOT NULL
       GROUP BY errorCode ORDER BY n DESC LIMIT 10`,
    ],
    [
      'join: writes by users with AccessDenied',
      `SELECT a.userIdentity.arn AS arn, count(*) AS n FROM {T} a
       JOIN (SELECT DISTINCT userIdentity.arn AS arn FROM {T} WHERE errorCode = 'AccessDenied') d
         ON a.userIdentity.arn = d.arn
       WHERE a.readOnly = false GROUP BY 1 ORDER BY n DESC LIMIT 10`,
    ],
  ]
}

/** The raw files as a relation: CloudTrail's Records with a declared schema (as Athena's table). */
function rawRelation(dir: string): string {
  const rec = `STRUCT(eventTime VARCHAR, eventName VARCHAR, eventSource VARCHAR, errorCode VARCHAR,
    sourceIPAddress VARCHAR, readOnly BOOLEAN, userIdentity STRUCT(arn VARCHAR, type VARCHAR))[]`
  return `(SELECT r.eventTime::TIMESTAMP AS eventTime, r.eventName AS eventName, r.errorCode AS errorCode,
      r.sourceIPAddress AS sourceIPAddress, r.readOnly AS readOnly, r.userIdentity AS userIdentity
    FROM (SELECT unnest(Records) AS r FROM read_json('${dir}/*.json.gz',
      columns = {Records: '${rec.replace(/\s+/g, ' ')}'}, format = 'unstructured',
      maximum_object_size = 268435456)))`
}

async function timeLake(engine: LakeEngine, sql: string): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now()
  const p = await engine.prepare(sql, () => undefined)
  const out = await engine.execute(p.sql, p.tables, { timeoutMs: 600_000 })
  return { ms: performance.now() - t0, rows: out.rows.length }
}

async function main(): Promise<void> {
  const dir = await ensureFiles()
  const work = await mkdtemp(join(tmpdir(), 'opentrail-lake-bench-'))
  try {
    // ---- load ----
    const engine = await LakeEngine.open(join(work, 'lake.duckdb'), { memoryLimit: '4GB' })
    await engine.ensureTable(STORE_ID)
    const sink = engine.sink(() => [{ id: STORE_ID, accountId: '', matches: () => true }])
    const t0 = performance.now()
    let seq = 0
    let user = ''
    for await (const records of readFiles(dir)) {
      if (!user) user = records.find((r) => r.userIdentity?.type === 'IAMUser')!.userIdentity.arn!
      const entries = records.map((record) => ({ seq: seq++, record }))
      await sink.write(entries, seq)
    }
    const loadMs = performance.now() - t0
    table(`Lake: load ${int(N)} events through the sink's write path`, [
      ['events', int(await engine.count(STORE_ID))],
      ['time', `${(loadMs / 1000).toFixed(1)} s`],
      ['events/s', int(N / (loadMs / 1000))],
      ['lake.duckdb', mib((await readFile(join(work, 'lake.duckdb'))).length)],
    ])

    // ---- queries ----
    const raw = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect()
    const rel = rawRelation(dir)
    const rows: (string | number)[][] = []
    for (const [name, q] of queries(user)) {
      const times: number[] = []
      let n = 0
      for (let i = 0; i < 3; i++) {
        const r = await timeLake(engine, q.replaceAll('{T}', STORE_ID))
        times.push(r.ms)
        n = r.rows
      }
      times.sort((a, b) => a - b)
      const r0 = performance.now()
      const rawOut = await raw.runAndReadAll(q.replaceAll('{T}', rel))
      const rawMs = performance.now() - r0
      const rawRows = rawOut.getRows().length
      if (rawRows !== n) throw new Error(`${name}: lake ${n} rows, raw ${rawRows} rows`)
      rows.push([
        name,
        n,
        `${times[0]!.toFixed(0)} ms`,
        `${times[1]!.toFixed(0)} ms`,
        `${(rawMs / 1000).toFixed(2)} s`,
        `${(rawMs / times[1]!).toFixed(0)}x`,
      ])
    }
    grid(
      `Lake queries on ${int(N)} events (table ${tableOf(STORE_ID)}) vs DuckDB over the raw .json.gz files`,
      ['query', 'rows', 'lake best', 'lake median', 'raw json.gz', 'speed-up'],
      rows,
    )
    raw.closeSync()
    await engine.close()

    // ---- PutAuditEvents ----
    await benchAudit(work)
    table('Process', [['peak RSS', mib(peakRss())]])
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function benchAudit(work: string): Promise<void> {
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
    const client = new AuditEventsClient({ endpoint: server.url, region: 'us-east-1', credentials })
    const batches = Math.ceil(AUDIT / 100)
    let next = 0
    let sent = 0
    let failed = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < batches) {
          const b = next++
          const auditEvents = Array.from({ length: 100 }, (_, i) => ({
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
              recipientAccountId: account,
            }),
          }))
          const out = await client.putAuditEvents({ channelArn: ch.ChannelArn!, auditEvents })
          sent += out.successful.length
          failed += out.failed.length
        }
      }),
    )
    const secs = (performance.now() - t0) / 1000
    table(`PutAuditEvents: ${int(sent)} events in 100-event calls, ${CLIENTS} clients`, [
      ['events accepted', int(sent)],
      ['entries failed', int(failed)],
      ['time', `${secs.toFixed(1)} s`],
      ['events/s', int(sent / secs)],
      ['calls/s', int(batches / secs)],
    ])
  } finally {
    await server.close()
  }
}

await main()
