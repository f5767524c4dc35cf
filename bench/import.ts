/**
 * @module bench/import
 * Import throughput on real-shaped trail files, beside plain `zcat | JSON.parse` over the same files
 * in the same run.
 *
 * The files are `{"Records":[...]}` .json.gz files made from the 2,000 real records of
 * ../shared/datasets/sample-2k.jsonl.gz, cycling through them and varying only eventID and eventTime
 * (cached in bench/out/import-<events>/). The import runs in a started server (the real composition:
 * event log, Event History, trail delivery and dedupe sinks) through ImportService, as the API runs
 * it. The clock runs from StartImport until the import is COMPLETED, i.e. every event is durable in
 * the event log (fsync'd: the acknowledgement); the time until Event History has indexed everything
 * is printed apart. A second import of the same files measures the all-duplicates path.
 *
 *   npx tsx bench/import.ts [--events 1000000] [--per-file 2000] [--concurrency 4]
 *   OPENTRAIL_IMPORT_WORKERS=0 npx tsx bench/import.ts   # parse on the main thread, for comparison
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { loadConfig } from '../src/config/load.js'
import { defaultParseWorkers } from '../src/import/parse-pool.js'
import { startServer } from '../src/main.js'
import { createLogger } from '../src/telemetry/logger.js'
import { datasetsDir } from './generator.js'
import { arg, int, mib, peakRss, table } from './util.js'

const N = arg('events', 'BENCH_IMPORT_EVENTS', 1_000_000)
const PER_FILE = arg('per-file', 'BENCH_IMPORT_PER_FILE', 2000)
const CONCURRENCY = arg('concurrency', 'BENCH_IMPORT_CONCURRENCY', 4)
const HERE = dirname(fileURLToPath(import.meta.url))

/** A deterministic UUID-shaped eventID for event n. */
function eventId(n: number): string {
  const h = (n * 2654435761) >>> 0
  const hex = (v: number, w: number) => v.toString(16).padStart(w, '0')
  return `${hex(h, 8)}-${hex(n >>> 16, 4)}-4${hex(n & 0xfff, 3)}-8${hex((n >>> 12) & 0xfff, 3)}-${hex(n, 12)}`
}

/** Writes (once) the trail files for N events; returns their directory. */
async function ensureFiles(): Promise<string> {
  const dir = join(HERE, 'out', `import-${N}-${PER_FILE}`)
  if (existsSync(join(dir, 'DONE'))) return dir
  await rm(dir, { recursive: true, force: true })
  const sample = gunzipSync(readFileSync(join(datasetsDir(), 'sample-2k.jsonl.gz')))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  // Event times: the last 30 days, in order, so every file covers a few minutes like CloudTrail's.
  const end = Date.UTC(2026, 0, 1)
  const span = 30 * 86_400_000
  const t0 = performance.now()
  let n = 0
  for (let f = 0; n < N; f++) {
    const count = Math.min(PER_FILE, N - n)
    const records: Record<string, unknown>[] = []
    for (let i = 0; i < count; i++, n++) {
      const t = end - span + Math.floor((n / N) * span)
      records.push({
        ...sample[n % sample.length]!,
        eventID: eventId(n),
        eventTime: new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      })
    }
    const last = new Date(end - span + Math.floor((n / N) * span) + 300_000)
    const d = last.toISOString()
    const key =
      `AWSLogs/123456789012/CloudTrail/us-east-1/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/` +
      `123456789012_CloudTrail_us-east-1_${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}Z_${String(f).padStart(8, '0')}.json.gz`
    await mkdir(dirname(join(dir, key)), { recursive: true })
    await writeFile(join(dir, key), gzipSync(JSON.stringify({ Records: records })))
  }
  await writeFile(join(dir, 'DONE'), '')
  console.log(
    `generated ${int(N)} events in ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  return dir
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.json.gz')) out.push(join(e.parentPath, e.name))
  }
  return out.sort()
}

/** The baseline: read each file, gunzip and JSON.parse it whole, on one thread. */
async function baseline(
  files: string[],
): Promise<{ seconds: number; events: number; bytes: number }> {
  const t0 = performance.now()
  let events = 0
  let bytes = 0
  for (const f of files) {
    const raw = gunzipSync(await readFile(f))
    bytes += raw.length
    events += (JSON.parse(raw.toString('utf8')) as { Records: unknown[] }).Records.length
  }
  return { seconds: (performance.now() - t0) / 1000, events, bytes }
}

async function main(): Promise<void> {
  const dir = await ensureFiles()
  const files = await listFiles(dir)
  let gzBytes = 0
  for (const f of files) gzBytes += (await stat(f)).size

  // Warm the page cache and the JIT the same way for both sides.
  await baseline(files.slice(0, 20))
  const base = await baseline(files)

  const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-bench-import-'))
  const config = await loadConfig({ port: 0, dataDir }, {})
  const server = await startServer(
    { ...config, retentionDays: 3650 },
    { logger: createLogger('silent') },
  )
  const run = async () => {
    const t0 = performance.now()
    const started = await server.imports.start({ source: dir, concurrency: CONCURRENCY })
    const done = await server.imports.wait(started.importId)
    return { seconds: (performance.now() - t0) / 1000, info: done }
  }
  const first = await run()
  const tIndex0 = performance.now()
  await server.pipeline.drain(3_600_000)
  const indexed = (performance.now() - tIndex0) / 1000
  const second = await run()
  await server.close()
  await rm(dataDir, { recursive: true, force: true })

  const s1 = first.info.statistics
  const s2 = second.info.statistics
  if (first.info.status !== 'COMPLETED' || s1.eventsImported !== base.events)
    throw new Error(`import did not complete: ${first.info.status} ${JSON.stringify(s1)}`)
  const rate = s1.eventsImported / first.seconds
  const baseRate = base.events / base.seconds
  table(`Import: ${int(base.events)} events in ${int(files.length)} .json.gz files`, [
    ['input (gzip / JSON)', `${mib(gzBytes)} / ${mib(base.bytes)}`],
    ['bytes per event (JSON)', int(base.bytes / base.events)],
    ['zcat | JSON.parse (1 thread)', `${int(baseRate)} events/s (${base.seconds.toFixed(1)} s)`],
    ['import, durable in the log', `${int(rate)} events/s (${first.seconds.toFixed(1)} s)`],
    ['import / baseline', `${((rate / baseRate) * 100).toFixed(0)} %`],
    ['then Event History caught up', `${indexed.toFixed(1)} s later`],
    [
      're-import (all duplicates)',
      `${int(s2.duplicatesSkipped / second.seconds)} events/s (${second.seconds.toFixed(1)} s)`,
    ],
    ['re-import added', int(s2.eventsImported)],
    ['concurrency (files at once)', CONCURRENCY],
    ['parse worker threads', defaultParseWorkers()],
    ['peak RSS', mib(peakRss())],
  ])
  console.log(
    `\ngoal: >= 100,000 events/s and >= 70% of the baseline: ${rate >= 100_000 ? 'rate met' : 'rate NOT met'}, ${rate >= 0.7 * baseRate ? 'ratio met' : 'ratio NOT met'}`,
  )
}

await main()
