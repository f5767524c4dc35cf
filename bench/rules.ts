/**
 * @module bench/rules
 * Event rules: throughput and notification latency.
 *   1. Matching: events/s through 100 event rules (protect-the-trail, the convertible Sigma
 *      fixtures, and generated rules of every operator kind), on EventBridge envelopes.
 *   2. The rules sink as the pipeline runs it: envelopes, matching, deliveries for every match,
 *      and the durable outbox commit with the checkpoint (LMDB), in 50,000-event batches.
 *   3. Together with bench/monitoring.ts's 100 metric filters on the same events, one thread:
 *      the figure for "100 metric filters plus 100 event rules".
 *   4. Event → webhook latency on a live server: API calls whose CloudTrail record matches a rule
 *      with a webhook target, timed from the call's response (the event is durable) to the
 *      webhook's receipt, while background calls that match nothing run alongside.
 *
 *   npx tsx bench/rules.ts [--events 200000] [--rules 100] [--calls 300]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CloudTrailClient, ListTrailsCommand } from '@aws-sdk/client-cloudtrail'
import { MetricUpdates } from '../src/monitoring/metric-store.js'
import { FilterSet } from '../src/monitoring/metric-filters.js'
import { Outbox } from '../src/notify/outbox.js'
import { NotifyService } from '../src/notify/service.js'
import { PROTECT_TRAIL_PATTERN } from '../src/packs/protect-trail.js'
import { convertSigma } from '../src/packs/sigma.js'
import { envelopeOf } from '../src/rules/envelope.js'
import { compilePattern } from '../src/rules/pattern.js'
import { RuleSet } from '../src/rules/rule-set.js'
import { RulesService } from '../src/rules/service.js'
import { RulesSink } from '../src/rules/sink.js'
import { systemClock } from '../src/shared/clock.js'
import { receiver, startNotifyServer } from '../test/helpers/notify.js'
import { EventGenerator } from './generator.js'
import { benchFilters } from './monitoring.js'
import { arg, int, ms, summary, table } from './util.js'

const SIGMA = new URL('../test/fixtures/sigma', import.meta.url).pathname

/** 100 patterns: protect-the-trail, the Sigma fixtures, then generated rules of every kind. */
export function benchPatterns(n: number, eventNames: string[], sources: string[]): string[] {
  const out = [JSON.stringify(PROTECT_TRAIL_PATTERN)]
  for (const f of readdirSync(SIGMA)
    .filter((f) => f.endsWith('.yml'))
    .sort()) {
    const c = convertSigma(readFileSync(join(SIGMA, f), 'utf8'), f)
    if (c.pattern) out.push(c.pattern)
  }
  let i = 0
  while (out.length < n) {
    const name = eventNames[i % eventNames.length]!
    const other = eventNames[(i * 7 + 3) % eventNames.length]!
    const src = sources[i % sources.length]!
    let p: unknown
    switch (i % 10) {
      case 0:
        p = { detail: { eventName: [name, other] } }
        break
      case 1:
        p = {
          source: [`aws.${src.split('.')[0]}`],
          detail: { eventName: [name], errorCode: [{ exists: true }] },
        }
        break
      case 2:
        p = { detail: { eventSource: [src], eventName: [{ prefix: name.slice(0, 4) }] } }
        break
      case 3:
        p = { detail: { eventName: [name], sourceIPAddress: [{ cidr: '10.0.0.0/8' }] } }
        break
      case 4:
        p = {
          detail: {
            eventName: [name],
            userIdentity: { type: [{ 'anything-but': ['AWSService', 'AWSAccount'] }] },
          },
        }
        break
      case 5:
        p = { 'detail-type': ['AWS Console Signin via CloudTrail'], detail: { eventName: [name] } }
        break
      case 6:
        p = { detail: { eventName: [{ 'equals-ignore-case': name.toLowerCase() }] } }
        break
      case 7:
        p = { detail: { eventName: [name], userAgent: [{ wildcard: '*aws-cli*' }] } }
        break
      case 8:
        p = {
          detail: {
            eventSource: [src],
            $or: [{ eventName: [name] }, { eventName: [other], errorCode: ['AccessDenied'] }],
          },
        }
        break
      default:
        p = { detail: { eventName: [name], readOnly: [false], awsRegion: [{ prefix: 'eu-' }] } }
    }
    out.push(JSON.stringify(p))
    i++
  }
  return out.slice(0, n)
}

async function main(): Promise<void> {
  const nEvents = arg('events', 'BENCH_EVENTS', 200_000)
  const nRules = arg('rules', 'BENCH_RULES', 100)
  const nCalls = arg('calls', 'BENCH_CALLS', 300)
  const latencyOnly = process.argv.includes('--latency-only')
  const gen = EventGenerator.load({ seed: 7 })
  const t0 = Date.now() - 3600_000
  const records = gen.batch(nEvents, t0, t0 + 3600_000)
  // Rules watch the less frequent calls (as security rules do): names ranked 30th and below.
  const freq = new Map<string, number>()
  for (const r of records) freq.set(r.eventName, (freq.get(r.eventName) ?? 0) + 1)
  const names = [...freq]
    .sort((a, b) => b[1] - a[1])
    .slice(30)
    .map(([n]) => n)
  const sources = [...new Set(records.map((r) => r.eventSource))]
  const patterns = benchPatterns(nRules, names, sources)

  if (!latencyOnly) await throughput(nEvents, patterns, records, names, sources)
  if (process.argv.includes('--no-latency')) return
  await latency(nCalls)
}

async function throughput(
  nEvents: number,
  patterns: string[],
  records: ReturnType<EventGenerator['batch']>,
  names: string[],
  sources: string[],
): Promise<void> {
  // 1. Matching only.
  const set = new RuleSet<number>()
  patterns.forEach((p, i) => set.add(i, compilePattern(p)))
  const matchAll = () => {
    const start = performance.now()
    let matches = 0
    for (const r of records) matches += set.match(envelopeOf(r)).length
    return { ms: performance.now() - start, matches }
  }
  matchAll()
  const m1 = matchAll()

  // 2. The rules sink with a durable outbox, as the pipeline calls it.
  const dir = await mkdtemp(join(tmpdir(), 'opentrail-bench-rules-'))
  let sinkMs: number
  let deliveries: number
  try {
    const outbox = await Outbox.open(join(dir, 'outbox'))
    const notify = await NotifyService.open({ dir, outbox, clock: systemClock })
    const rules = await RulesService.open({
      dir,
      clock: systemClock,
      operatorAccountId: () => '123456789012',
    })
    // Every rule sends to a webhook target (nothing is sent: no dispatcher runs here).
    for (const [i, p] of patterns.entries()) {
      const r = await rules.putRule({
        accountId: '123456789012',
        region: 'us-east-1',
        name: `bench-${i}`,
        eventPattern: p,
      })
      await rules.putTargets(r, [{ Id: 'hook', Arn: 'http://127.0.0.1:9/hook' }], () => undefined)
    }
    const sink = new RulesSink({ rules, notify, outbox, head: () => 0 })
    const entries = records.map((record, seq) => ({ seq, record }))
    const start = performance.now()
    for (let i = 0; i < entries.length; i += 50_000) {
      const batch = entries.slice(i, i + 50_000)
      await sink.write(batch, batch[batch.length - 1]!.seq + 1)
    }
    sinkMs = performance.now() - start
    deliveries = sink.stats.deliveries
    await outbox.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  // 3. With the 100 metric filters of bench/monitoring.ts on the same events.
  const filters = new FilterSet(benchFilters(100, names, sources))
  const messages = records.map((r) => JSON.stringify(r))
  const both = () => {
    const u = new MetricUpdates()
    const start = performance.now()
    for (let i = 0; i < records.length; i += 1000) {
      const slice = []
      for (let k = i; k < Math.min(i + 1000, records.length); k++) {
        const r = records[k]!
        slice.push({
          timestamp: Date.parse(r.eventTime),
          input: { message: messages[k]!, json: r },
        })
        set.match(envelopeOf(r))
      }
      filters.apply(slice, u)
    }
    return performance.now() - start
  }
  both()
  const bothMs = both()

  table(`Event rules: ${int(nEvents)} generated events, ${patterns.length} rules`, [
    ['matching only (RuleSet)', `${int(nEvents / (m1.ms / 1000))} events/s`],
    ['matches', int(m1.matches)],
    [
      'rules sink (envelope, match, deliveries, LMDB outbox commit)',
      `${int(nEvents / (sinkMs / 1000))} events/s`,
    ],
    ['deliveries written to the outbox', int(deliveries)],
    [
      '100 metric filters + 100 event rules, one thread',
      `${int(nEvents / (bothMs / 1000))} events/s`,
    ],
  ])
}

async function latency(nCalls: number): Promise<void> {
  // 4. Event → webhook latency on a live server.
  const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-bench-latency-'))
  const started = await startNotifyServer(dataDir, { concurrency: 32 })
  const received = new Map<string, number>()
  const hook = await receiver()
  const origPush = hook.got.push.bind(hook.got)
  hook.got.push = (...items) => {
    for (const g of items) {
      const ev = JSON.parse(g.body) as { detail: { requestParameters: { name: string } } }
      received.set(ev.detail.requestParameters.name, g.at)
    }
    return origPush(...items)
  }
  try {
    const opts = {
      endpoint: started.server.url,
      region: 'us-east-1',
      credentials: started.key,
      maxAttempts: 1,
    }
    const events = new EventBridgeClient(opts)
    const ct = new CloudTrailClient(opts)
    await events.send(
      new PutRuleCommand({
        Name: 'latency',
        EventPattern: JSON.stringify({
          detail: { eventName: ['PutRule'], requestParameters: { name: [{ prefix: 'probe-' }] } },
        }),
      }),
    )
    await events.send(
      new PutTargetsCommand({ Rule: 'latency', Targets: [{ Id: 'h', Arn: hook.url }] }),
    )
    // Background: read calls that match no rule, 4 in flight.
    let stop = false
    const background = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (!stop) await ct.send(new ListTrailsCommand({}))
      }),
    )
    const acked = new Map<string, number>()
    for (let i = 0; i < nCalls; i++) {
      const name = `probe-${i}`
      await events.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["none"]}' }))
      acked.set(name, Date.now())
      await new Promise((r) => setTimeout(r, 10))
    }
    await hook.waitFor(nCalls, 60_000)
    stop = true
    await background
    const lat = [...acked].map(([n, t]) => received.get(n)! - t).sort((a, b) => a - b)
    const s = summary(lat)
    table(`Event → webhook latency: ${nCalls} matching API calls, 4 background callers`, [
      ['p50', ms(s.p50)],
      ['p95', ms(s.p95)],
      ['p99', ms(s.p99)],
      ['max', ms(s.max)],
    ])
  } finally {
    await hook.close()
    await started.server.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
