/**
 * @module bench/ingest
 * Recorded events per second sustained through the pipeline into the durable store: many
 * concurrent producers call Pipeline.ingest with batches (the acknowledgement = fdatasync of the
 * log), and the clock stops when the Event History sink has committed every event. Then: bytes per
 * stored event (DuckDB file after CHECKPOINT), log bytes per event, peak RSS.
 *
 *   npx tsx bench/ingest.ts [--events 300000] [--producers 64] [--batch 100]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileEventLog } from '../src/pipeline/file-log.js'
import { Pipeline } from '../src/pipeline/pipeline.js'
import { DuckDbHistoryStore } from '../src/storage/duckdb/history-store.js'
import { createLogger } from '../src/telemetry/logger.js'
import type { CloudTrailRecord } from '../src/events/record.js'
import { EventGenerator } from './generator.js'
import { arg, FULL, historyBytes, int, mib, ms, peakRss, summary, table } from './util.js'

const N = arg('events', 'BENCH_INGEST_EVENTS', FULL ? 2_000_000 : 300_000)
const PRODUCERS = arg('producers', 'BENCH_PRODUCERS', 64)
const BATCH = arg('batch', 'BENCH_BATCH', 100)

async function main(): Promise<void> {
  const gen = EventGenerator.load({ seed: 7 })
  const now = Date.now()
  // Pre-generated so that the measurement is the pipeline, not the generator; times span the last
  // N/50,000 seconds, as a source sending 50,000 events/s would produce them.
  const events = gen.batch(N, now - (N / 50_000) * 1000, now)
  let logBytes = 0
  for (let i = 0; i < Math.min(N, 20_000); i++)
    logBytes += 8 + Buffer.byteLength(JSON.stringify(events[i]))
  const logPerEvent = logBytes / Math.min(N, 20_000)
  const rssAfterGen = process.memoryUsage().rss

  const dir = await mkdtemp(join(tmpdir(), 'opentrail-bench-ingest-'))
  const log = await FileEventLog.open(join(dir, 'log'))
  const pipeline = new Pipeline(log, createLogger('silent'))
  const dbPath = join(dir, 'history.duckdb')
  const store = await DuckDbHistoryStore.open(dbPath)
  pipeline.addSink(store)
  await pipeline.start()

  const acks: number[] = []
  let next = 0
  const t0 = performance.now()
  const producer = async (): Promise<void> => {
    while (next < N) {
      const from = next
      next = Math.min(N, next + BATCH)
      const batch: CloudTrailRecord[] = events.slice(from, next)
      const s = performance.now()
      await pipeline.ingest(batch)
      acks.push(performance.now() - s)
    }
  }
  await Promise.all(Array.from({ length: PRODUCERS }, producer))
  const tAck = performance.now()
  await pipeline.drain(600_000)
  const tDone = performance.now()
  const stored = await store.count()
  const peak = peakRss()
  await pipeline.stop() // closes the store with a CHECKPOINT
  const hb = await historyBytes(dbPath)
  await rm(dir, { recursive: true, force: true })

  const a = summary(acks)
  table(`ingest: ${int(N)} events, ${PRODUCERS} producers x batches of ${BATCH}`, [
    ['acknowledged (durable in log) events/s', int(N / ((tAck - t0) / 1000))],
    ['committed to Event History events/s', int(N / ((tDone - t0) / 1000))],
    ['total time', ms(tDone - t0)],
    ['batch ack latency p50', ms(a.p50)],
    ['batch ack latency p99', ms(a.p99)],
    ['events stored in history', int(stored)],
    ['DuckDB bytes (after CHECKPOINT)', int(hb.duckdb)],
    ['LMDB row store bytes', int(hb.rows)],
    ['bytes per stored event (both)', ((hb.duckdb + hb.rows) / stored).toFixed(1)],
    ['log segment bytes per event', logPerEvent.toFixed(1)],
    ['RSS after generating events', mib(rssAfterGen)],
    ['peak RSS', mib(peak)],
  ])
}

await main()
