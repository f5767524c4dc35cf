import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Trail } from '../domains/trails/model.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { LogEntry } from '../pipeline/event-log.js'
import { createLogger } from '../telemetry/logger.js'
import { InsightsSink } from './sink.js'
import { generate } from './testing/synthetic.js'

const ACCOUNT = '111122223333'
const trail = {
  name: 't',
  accountId: ACCOUNT,
  homeRegion: 'us-east-1',
  isMultiRegionTrail: false,
  isLogging: true,
  insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
} as unknown as Trail

/** A stand-in for the log: what the sink appends gets the next sequence numbers. */
class FakeLog {
  entries: LogEntry[] = []
  appended: CloudTrailRecord[] = []
  push(records: CloudTrailRecord[]): LogEntry[] {
    const out = records.map((record) => ({ seq: this.entries.length, record }))
    for (const e of out) this.entries.push(e)
    return out
  }
}

async function open(dir: string, log: FakeLog): Promise<InsightsSink> {
  return InsightsSink.open({
    dir,
    clock: { now: () => new Date('2026-03-09T12:00:00Z') },
    logger: createLogger('silent'),
    trails: { all: () => [trail] },
    ingest: async (records) => {
      log.appended.push(...records)
      return log.push(records)[0]!.seq
    },
    logHead: () => log.entries.length,
    params: { warmupMinutes: 60 },
  })
}

const states = (rs: CloudTrailRecord[]) =>
  rs.map((r) => (r['insightDetails'] as { state: string }).state)

const history = [
  ...generate({
    accountId: ACCOUNT,
    region: 'us-east-1',
    start: new Date('2026-03-08T00:00:00Z'),
    minutes: 1440 + 600,
    apis: [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
    bursts: [
      {
        eventSource: 'ssm.amazonaws.com',
        eventName: 'SendCommand',
        startMinute: 1440 + 540,
        minutes: 5,
        rate: 5,
      },
    ],
    seed: 9,
  }),
]

describe('insights sink: checkpoint, snapshot and outbox', () => {
  const dirs: string[] = []
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('emits the Start once and resumes from its checkpoint after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'insights-sink-'))
    dirs.push(dir)
    const log = new FakeLog()
    const entries = log.push(history)
    const sink = await open(dir, log)
    await sink.write(entries, entries.length)
    assert.deepEqual(states(log.appended), ['Start', 'End'])
    const start = log.appended[0] as Record<string, unknown>
    assert.equal(start['eventType'], 'AwsCloudTrailInsight')
    assert.equal(await sink.checkpoint(), entries.length)
    // A crash now: the Start is in the log, the sink has not read it back (outbox not cleared).
    const again = await open(dir, log)
    assert.equal(await again.checkpoint(), entries.length)
    // Reading the rest of the log (its own Start) clears the outbox: nothing is appended twice.
    const rest = log.entries.slice(entries.length)
    await again.write(rest, log.entries.length)
    assert.deepEqual(states(log.appended), ['Start', 'End'])
    assert.equal(again.anomalies().length, 1)
  })

  it('appends outbox records again when they never reached the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'insights-sink-'))
    dirs.push(dir)
    const log = new FakeLog()
    const entries = log.push(history)
    let fail = true
    const sink = await InsightsSink.open({
      dir,
      clock: { now: () => new Date('2026-03-09T12:00:00Z') },
      logger: createLogger('silent'),
      trails: { all: () => [trail] },
      ingest: async () => {
        if (fail) throw new Error('disk full')
        return 0
      },
      logHead: () => log.entries.length,
      params: { warmupMinutes: 60 },
    })
    await assert.rejects(sink.write(entries, entries.length), /disk full/)
    // The pipeline retries the same batch: counted once, the pending records appended then.
    let retried = 0
    fail = false
    const retry = await InsightsSink.open({
      dir: await mkdtemp(join(tmpdir(), 'insights-sink-')),
      clock: { now: () => new Date('2026-03-09T12:00:00Z') },
      logger: createLogger('silent'),
      trails: { all: () => [trail] },
      ingest: async (records) => {
        if (retried++ === 0) throw new Error('disk full')
        log.appended.push(...records)
        return 0
      },
      logHead: () => log.entries.length,
      params: { warmupMinutes: 60 },
    })
    await assert.rejects(retry.write(entries, entries.length), /disk full/)
    await retry.write(entries, entries.length)
    assert.deepEqual(states(log.appended), ['Start', 'End'])
    assert.equal(retry.detector.stats.counted, history.length)
    log.appended = []
    // Restart: the snapshot holds the Start in its outbox; the log does not.
    const again = await open(dir, log)
    await again.write([], log.entries.length)
    assert.deepEqual(states(log.appended), ['Start', 'End'])
  })

  it('accepts management and data calls and Insights events only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'insights-sink-'))
    dirs.push(dir)
    const sink = await open(dir, new FakeLog())
    assert.equal(sink.accepts(history[0]!), true)
    assert.equal(sink.accepts({ ...history[0]!, readOnly: true }), false)
    // Data events count for data-event Insights (trails), read calls included.
    assert.equal(sink.accepts({ ...history[0]!, eventCategory: 'Data', readOnly: true }), true)
    assert.equal(sink.accepts({ ...history[0]!, eventCategory: 'NetworkActivity' }), false)
    assert.equal(sink.accepts({ ...history[0]!, eventType: 'AwsServiceEvent' }), false)
    assert.equal(
      sink.accepts({ ...history[0]!, eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight' }),
      true,
    )
  })
})
