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
 * 4. The same on the real dataset: the invictus trail files (55 delivered .json.gz files, 2,900 events,
 *    ../shared/datasets/invictus-aws-dataset/CloudTrail), loaded the same way.
 * 5. PutAuditEvents over HTTP (bench/lake-audit.ts: clients in worker threads, real SigV4).
 *
 *   npx tsx bench/lake.ts [--events 1000000] [--audit-events 500000] [--clients 32] [--workers 2]
 *                         [--only generated,real,audit] [--raw-queries 4]
 *   BENCH_FULL=1 npx tsx bench/lake.ts      # 10 million events
 *
 * `--from-dir DIR` loads N events from the trail files already in DIR (read only, sorted by name),
 * cycling through them again if they hold fewer than N: a way to reach N rows from a partial set
 * of generated files (the repeated events are copies; the raw side reads the same file list).
 *
 * `--raw-queries K` runs only the first K queries over the raw files (each reads every file: on 10
 * million events that is minutes per query on a loaded machine); the others print "not run".
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import type { CloudTrailRecord } from '../src/events/record.js'
import { LakeEngine } from '../src/lake/engine.js'
import type { LogEntry } from '../src/pipeline/event-log.js'
import { tableOf } from '../src/lake/sql.js'
import { datasetsDir, EventGenerator } from './generator.js'
import { benchAudit } from './lake-audit.js'
import { arg, argString, FULL, grid, int, mib, peakRss, table } from './util.js'

const N = arg('events', 'BENCH_LAKE_EVENTS', FULL ? 10_000_000 : 1_000_000)
const AUDIT = arg('audit-events', 'BENCH_LAKE_AUDIT_EVENTS', FULL ? 2_000_000 : 500_000)
const CLIENTS = arg('clients', 'BENCH_LAKE_CLIENTS', 32)
const WORKERS = arg('workers', 'BENCH_LAKE_WORKERS', 2)
const RAW_QUERIES = arg('raw-queries', 'BENCH_LAKE_RAW_QUERIES', 4)
const ONLY = new Set(
  (argString('only') ?? process.env['BENCH_LAKE_ONLY'] ?? 'generated,real,audit').split(','),
)
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

/** The trail files to load: all of `dir`, or (`--from-dir`) enough of them, cycling, for N events. */
async function fileList(dir: string, limit?: number): Promise<string[]> {
  const all = (await readdir(dir))
    .filter((n) => n.endsWith('.json.gz'))
    .sort()
    .map((n) => join(dir, n))
  if (limit === undefined) return all
  const out: string[] = []
  for (let i = 0; out.length * PER_FILE < limit; i++) out.push(all[i % all.length]!)
  return out
}

async function* readFiles(files: string[]): AsyncGenerator<CloudTrailRecord[]> {
  for (const f of files) {
    const text = (await gunz(await readFile(f))).toString('utf8')
    yield (JSON.parse(text) as { Records: CloudTrailRecord[] }).Records
  }
}

/** The queries, with {T} for the table: the Lake's store ID, or the raw files' relation. */
function queries(user: string, day: string): [string, string][] {
  return [
    ['group-by eventName', `SELECT eventName, count(*) AS n FROM {T} GROUP BY eventName`],
    [
      'one user, 1-day window',
      `SELECT eventTime, eventName, sourceIPAddress FROM {T}
       WHERE userIdentity.arn = '${user}'
         AND eventTime >= timestamp '${day} 00:00:00' AND eventTime < timestamp '${day} 00:00:00' + INTERVAL 1 DAY`,
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
function rawRelation(files: string[]): string {
  const rec = `STRUCT(eventTime VARCHAR, eventName VARCHAR, eventSource VARCHAR, errorCode VARCHAR,
    sourceIPAddress VARCHAR, readOnly BOOLEAN, userIdentity STRUCT(arn VARCHAR, type VARCHAR))[]`
  return `(SELECT r.eventTime::TIMESTAMP AS eventTime, r.eventName AS eventName, r.errorCode AS errorCode,
      r.sourceIPAddress AS sourceIPAddress, r.readOnly AS readOnly, r.userIdentity AS userIdentity
    FROM (SELECT unnest(Records) AS r FROM read_json([${files.map((f) => `'${f}'`).join(', ')}],
      columns = {Records: '${rec.replace(/\s+/g, ' ')}'}, format = 'unstructured',
      maximum_object_size = 268435456)))`
}

async function timeLake(engine: LakeEngine, sql: string): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now()
  const p = await engine.prepare(sql, () => undefined)
  const out = await engine.executeAll(p.sql, p.tables, { timeoutMs: 600_000 })
  return { ms: performance.now() - t0, rows: out.rows.length }
}

/**
 * Loads the trail files of `dir` into a fresh Lake store through the sink's write path, then times
 * the four queries in the Lake and over the raw files. `user`: the first IAM user; `day`: the busiest
 * UTC day (both read from the loaded store).
 */
async function run(label: string, files: string[], work: string): Promise<void> {
  const file = join(work, `lake-${label.replace(/[^a-z0-9]+/gi, '-')}.duckdb`)
  const engine = await LakeEngine.open(file, { memoryLimit: '4GB' })
  await engine.ensureTable(STORE_ID)
  const sink = engine.sink(() => [{ id: STORE_ID, accountId: '', matches: () => true }])
  let seq = 0
  let readMs = 0
  const t0 = performance.now()
  let r0 = performance.now()
  let shown = 0
  // Batches as the pipeline gives the Lake sink (LakeEngine's LOAD_BATCHING: at least one DuckDB
  // row group), each record with its JSON text as the event log keeps it.
  let batch: LogEntry[] = []
  const flush = async () => {
    await sink.write(batch, seq)
    batch = []
  }
  for await (const records of readFiles(files)) {
    for (const record of records) batch.push({ seq: seq++, record, text: JSON.stringify(record) })
    readMs += performance.now() - r0
    if (batch.length >= 150_000) await flush()
    if (seq - shown >= 500_000) {
      shown = seq
      const secs = (performance.now() - t0) / 1000
      console.log(`  loaded ${int(seq)} events in ${secs.toFixed(0)} s (${int(seq / secs)}/s)`)
    }
    r0 = performance.now()
  }
  if (batch.length > 0) await flush()
  const loadMs = performance.now() - t0
  const writeMs = loadMs - readMs
  const count = await engine.count(STORE_ID)
  table(`Lake (${label}): load ${int(count)} events through the sink's write path`, [
    ['events', int(count)],
    ['time (read + parse files, write)', `${(loadMs / 1000).toFixed(1)} s`],
    [
      'of which gunzip + JSON.parse of the files, JSON text per record',
      `${(readMs / 1000).toFixed(1)} s`,
    ],
    ['events/s, whole load', int(count / (loadMs / 1000))],
    ['events/s, sink write alone (read_json load, commit)', int(count / (writeMs / 1000))],
    [
      'lake.duckdb (+ .wal)',
      mib((await stat(file)).size + ((await stat(file + '.wal').catch(() => null))?.size ?? 0)),
    ],
  ])

  const pick = async (sql: string): Promise<string> => {
    const p = await engine.prepare(sql.replaceAll('{T}', STORE_ID), () => undefined)
    return (await engine.executeAll(p.sql, p.tables, { timeoutMs: 600_000 })).rows[0]![0]!
  }
  // The first IAM user of the load (as a person looking up "what did this user do").
  const user = await pick(
    `SELECT userIdentity.arn FROM {T} WHERE userIdentity.type = 'IAMUser' ORDER BY eventTime, eventID LIMIT 1`,
  )
  const day = await pick(
    `SELECT strftime(eventTime, '%Y-%m-%d') FROM {T} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
  )

  const raw = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect()
  const rel = rawRelation(files)
  const rows: (string | number)[][] = []
  let k = 0
  for (const [name, q] of queries(user, day)) {
    const times: number[] = []
    let n = 0
    for (let i = 0; i < 3; i++) {
      const r = await timeLake(engine, q.replaceAll('{T}', STORE_ID))
      times.push(r.ms)
      n = r.rows
    }
    times.sort((a, b) => a - b)
    let rawCells = ['not run', '']
    if (k++ < RAW_QUERIES) {
      const r1 = performance.now()
      const rawOut = await raw.runAndReadAll(q.replaceAll('{T}', rel))
      const rawMs = performance.now() - r1
      const rawRows = rawOut.getRows().length
      if (rawRows !== n) throw new Error(`${name}: lake ${n} rows, raw ${rawRows} rows`)
      rawCells = [`${(rawMs / 1000).toFixed(2)} s`, `${(rawMs / times[1]!).toFixed(0)}x`]
    }
    rows.push([name, n, `${times[0]!.toFixed(0)} ms`, `${times[1]!.toFixed(0)} ms`, ...rawCells])
    // Each line as it is measured (a 10M raw run takes long enough to be worth partial figures).
    console.log(`  ${rows.at(-1)!.join(' | ')}`)
  }
  grid(
    `Lake queries (${label}) on ${int(count)} events (table ${tableOf(STORE_ID)}) vs DuckDB over the raw .json.gz files`,
    ['query', 'rows', 'lake best', 'lake median', 'raw json.gz', 'speed-up'],
    rows,
  )
  raw.closeSync()
  await engine.close()
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'opentrail-lake-bench-'))
  try {
    const from = argString('from-dir')
    if (ONLY.has('generated')) {
      const files = from ? await fileList(from, N) : await fileList(await ensureFiles())
      await run(`generated, ${int(N)}`, files, work)
    }
    if (ONLY.has('real')) {
      const dir = join(datasetsDir(), 'invictus-aws-dataset/CloudTrail')
      await run('invictus trail files', await fileList(dir), work)
    }
    if (ONLY.has('audit')) {
      await benchAudit(work, { events: AUDIT, clients: CLIENTS, workers: WORKERS, presign: true })
    }
    table('Process', [['peak RSS', mib(peakRss())]])
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

await main()
