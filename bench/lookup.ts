/**
 * @module bench/lookup
 * LookupEvents with many stored events. Loads N generated events (spread over the last 90 days)
 * straight into the Event History store through its sink API, then measures a realistic mix of
 * lookups (no attribute and each of the eight attributes, windows of 1 hour / 1 day / 90 days,
 * values drawn from stored events so that common values come up often, follow-up pages through
 * NextToken):
 *   1. at the store level (DuckDbHistoryStore.lookup), one at a time and with 4 in flight;
 *   2. end to end: a started server, the AWS SDK (@aws-sdk/client-cloudtrail, SigV4-signed) over
 *      HTTP, one at a time and with 16 in flight. Every such call is also recorded as an event.
 *
 *   npx tsx bench/lookup.ts [--events 1000000] [--queries 2000] [--seconds 10]
 *   BENCH_FULL=1 npx tsx bench/lookup.ts      # the full 10 million (or --events N)
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../src/config/load.js'
import type { CloudTrailRecord } from '../src/events/record.js'
import { startServer } from '../src/main.js'
import type { LookupAttributeKey } from '../src/storage/history-port.js'
import { usernameOf } from '../src/storage/duckdb/history-rows.js'
import { DuckDbHistoryStore } from '../src/storage/duckdb/history-store.js'
import { createLogger } from '../src/telemetry/logger.js'
import { EventGenerator, Rng } from './generator.js'
import {
  arg,
  argString,
  FULL,
  grid,
  historyBytes,
  int,
  mib,
  peakRss,
  summary,
  table,
} from './util.js'

const N = arg('events', 'BENCH_LOOKUP_EVENTS', FULL ? 10_000_000 : 1_000_000)
const QUERIES = arg('queries', 'BENCH_LOOKUP_QUERIES', 2000)
const SECONDS = arg('seconds', 'BENCH_LOOKUP_SECONDS', 10)
const DAY = 86_400_000
/**
 * Bulk-loaded events take the sequence numbers -N..-1, just below the 0, 1, 2... that the server's
 * own log assigns later, so that sequence order stays insertion order.
 */
const ACCOUNT = '111122223333'
const KEY = { accessKeyId: 'AKIABENCHLOOKUP00001', secretAccessKey: 'bench-lookup-secret-0001' }

type Attr = LookupAttributeKey | 'none'
const ATTRS: Attr[] = [
  'none',
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'EventSource',
  'AccessKeyId',
  'ResourceType',
  'ResourceName',
]

interface Query {
  kind: Attr
  window: '1h' | '1d' | '90d'
  region: string
  attributes: { key: LookupAttributeKey; value: string }[]
  start: Date
  end: Date
  /** Pages to read (1 = first page only). */
  pages: number
}

function valueOf(r: CloudTrailRecord, key: LookupAttributeKey): string | undefined {
  switch (key) {
    case 'EventId':
      return r.eventID
    case 'EventName':
      return r.eventName
    case 'EventSource':
      return r.eventSource
    case 'ReadOnly':
      return r.readOnly === undefined ? undefined : String(r.readOnly)
    case 'Username':
      return usernameOf(r) || undefined
    case 'AccessKeyId':
      return r.userIdentity?.accessKeyId
    case 'ResourceType':
      return r.resources?.[0]?.type
    case 'ResourceName':
      return r.resources?.[0]?.ARN
  }
}

/** The query mix, drawn from a sample of the stored events of the benchmark account. */
function makeQueries(sample: CloudTrailRecord[], now: number, n: number, seed: number): Query[] {
  const rng = new Rng(seed)
  const out: Query[] = []
  const withRes = sample.filter((r) => (r.resources ?? []).length > 0)
  while (out.length < n) {
    const kind = ATTRS[out.length % ATTRS.length]!
    const pool = kind === 'ResourceType' || kind === 'ResourceName' ? withRes : sample
    const r = rng.pick(pool)
    const window = (['1h', '1d', '90d'] as const)[rng.int(3)]!
    const len = window === '1h' ? 3_600_000 : window === '1d' ? DAY : 90 * DAY
    // Half look back from now, half look around the time of a known event.
    const t = Date.parse(r.eventTime)
    const end = rng.next() < 0.5 || window === '90d' ? now : Math.min(now, t + rng.int(len))
    const value = kind === 'none' ? undefined : valueOf(r, kind)
    if (kind !== 'none' && value === undefined) continue
    out.push({
      kind,
      window,
      region: r.awsRegion,
      attributes: kind === 'none' ? [] : [{ key: kind, value: value! }],
      start: new Date(end - len),
      end: new Date(end),
      pages: rng.next() < 0.2 ? 3 : 1,
    })
  }
  return out
}

async function load(dir: string, now: number): Promise<CloudTrailRecord[]> {
  const store = await DuckDbHistoryStore.open(join(dir, 'history.duckdb'))
  const gen = EventGenerator.load({ seed: 11 })
  const BATCH = 50_000
  const from = now - 90 * DAY + 60_000
  const step = (now - from) / N
  const sample: CloudTrailRecord[] = []
  const rng = new Rng(99)
  const t0 = performance.now()
  for (let i = 0; i < N; i += BATCH) {
    const entries = []
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      const record = gen.next(from + j * step)
      entries.push({ seq: j - N, record })
      if (record.recipientAccountId === ACCOUNT && rng.next() < 4000 / N) sample.push(record)
    }
    // upTo 0: the bulk load is not log traffic, so the server's own log starts at 0.
    await store.write(entries, 0)
    if ((i / BATCH) % 20 === 19) {
      const done = i + BATCH
      const s = (performance.now() - t0) / 1000
      console.log(`  loaded ${int(done)} events, ${int(done / s)}/s`)
    }
  }
  const loadSecs = (performance.now() - t0) / 1000
  const stored = await store.count()
  await store.close()
  const b = await historyBytes(join(dir, 'history.duckdb'))
  table(`load: ${int(N)} events through the sink API`, [
    ['load rate (events/s)', int(N / loadSecs)],
    ['events stored', int(stored)],
    ['DuckDB bytes (after CHECKPOINT)', int(b.duckdb)],
    ['LMDB row store bytes', int(b.rows)],
    ['bytes per stored event (both)', ((b.duckdb + b.rows) / stored).toFixed(1)],
  ])
  return sample
}

interface Result {
  lat: Map<string, number[]>
  all: number[]
  calls: number
  errors: string[]
  secs: number
}

/** Runs `queries` (cycling) with `inflight` at once for `seconds` (or one pass if sequential). */
async function drive(
  queries: Query[],
  inflight: number,
  seconds: number,
  run: (q: Query, token: unknown) => Promise<unknown>,
): Promise<Result> {
  const lat = new Map<string, number[]>()
  const all: number[] = []
  const errors: string[] = []
  let next = 0
  let calls = 0
  const t0 = performance.now()
  const deadline = t0 + seconds * 1000
  const more = () => (seconds > 0 ? performance.now() < deadline : next < queries.length)
  const worker = async () => {
    while (more()) {
      const q = queries[next++ % queries.length]!
      let token: unknown = undefined
      for (let p = 0; p < q.pages; p++) {
        const s = performance.now()
        try {
          token = await run(q, token)
        } catch (err) {
          errors.push(String((err as Error).name ?? err))
          break
        }
        const d = performance.now() - s
        calls++
        all.push(d)
        for (const k of [q.kind, q.window, p > 0 ? 'next pages' : 'first pages']) {
          const a = lat.get(k) ?? []
          a.push(d)
          lat.set(k, a)
        }
        if (!token) break
      }
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker))
  return { lat, all, calls, errors, secs: (performance.now() - t0) / 1000 }
}

function report(title: string, r: Result): void {
  const rows: (string | number)[][] = []
  const keys = [...ATTRS, '1h', '1d', '90d', 'first pages', 'next pages']
  for (const k of keys) {
    const a = r.lat.get(k)
    if (!a) continue
    const s = summary(a)
    rows.push([k, a.length, s.p50.toFixed(2), s.p95.toFixed(2), s.p99.toFixed(2), s.max.toFixed(2)])
  }
  const s = summary(r.all)
  rows.push([
    'ALL',
    r.all.length,
    s.p50.toFixed(2),
    s.p95.toFixed(2),
    s.p99.toFixed(2),
    s.max.toFixed(2),
  ])
  grid(
    `${title}: ${int(r.calls / r.secs)} lookups/s` +
      (r.errors.length ? `, ${r.errors.length} failed (${[...new Set(r.errors)].join(', ')})` : ''),
    ['query', 'calls', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    rows,
  )
}

async function main(): Promise<void> {
  let now = Date.now()
  // --dir keeps the loaded store (and reuses it on the next run with the same --dir).
  const keep = process.env['BENCH_LOOKUP_DIR'] ?? argString('dir')
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'opentrail-bench-lookup-')))
  try {
    let sample: CloudTrailRecord[]
    const saved = join(dir, 'bench-sample.json')
    if (keep && existsSync(saved)) {
      const s = JSON.parse(await readFile(saved, 'utf8')) as {
        now: number
        sample: CloudTrailRecord[]
      }
      sample = s.sample
      now = s.now
      console.log(`reusing the store loaded in ${dir}`)
    } else {
      await mkdir(dir, { recursive: true })
      sample = await load(dir, now)
      await writeFile(saved, JSON.stringify({ now, sample }))
    }
    const queries = makeQueries(sample, now, QUERIES, 5)

    // 1. Store level.
    const store = await DuckDbHistoryStore.open(join(dir, 'history.duckdb'))
    const storeRun = async (q: Query, token: unknown) => {
      const after = token as { timeMs: number; seq: number } | undefined
      const rows = await store.lookup({
        accountId: ACCOUNT,
        region: q.region,
        category: 'management',
        start: q.start,
        end: q.end,
        attributes: q.attributes,
        limit: 51,
        ...(after ? { after } : {}),
      })
      const last = rows[49]
      return rows.length > 50 && last ? { timeMs: last.timeMs, seq: last.seq } : undefined
    }
    await drive(queries.slice(0, 200), 1, 0, storeRun) // warm-up
    report('store level, 1 in flight', await drive(queries, 1, 0, storeRun))
    report(`store level, 4 in flight, ${SECONDS} s`, await drive(queries, 4, SECONDS, storeRun))
    await store.close()

    // 2. End to end over HTTP with the AWS SDK.
    const cfgFile = join(dir, 'config.json')
    await writeFile(
      cfgFile,
      JSON.stringify({
        accounts: [
          {
            accountId: ACCOUNT,
            users: [{ name: 'bench', policies: ['AdministratorAccess'], accessKeys: [KEY] }],
          },
        ],
      }),
    )
    const config = await loadConfig({ port: 0, dataDir: dir, config: cfgFile }, {})
    const server = await startServer(config, { logger: createLogger('silent') })
    const clients = new Map<string, CloudTrailClient>()
    const clientFor = (region: string) => {
      let c = clients.get(region)
      if (!c) {
        c = new CloudTrailClient({ endpoint: server.url, region, credentials: KEY, maxAttempts: 1 })
        clients.set(region, c)
      }
      return c
    }
    const httpRun = async (q: Query, token: unknown) => {
      const res = await clientFor(q.region).send(
        new LookupEventsCommand({
          LookupAttributes: q.attributes.map((a) => ({
            AttributeKey: a.key,
            AttributeValue: a.value,
          })),
          StartTime: q.start,
          EndTime: q.end,
          MaxResults: 50,
          ...(token ? { NextToken: token as string } : {}),
        }),
      )
      return res.NextToken
    }
    await drive(queries.slice(0, 200), 1, 0, httpRun) // warm-up
    report('end to end (SDK over HTTP), 1 in flight', await drive(queries, 1, 0, httpRun))
    report(
      `end to end (SDK over HTTP), 16 in flight, ${SECONDS} s`,
      await drive(queries, 16, SECONDS, httpRun),
    )
    await server.close()
    table('memory', [['peak RSS (load, store and server phases)', mib(peakRss())]])
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true })
  }
}

await main()
