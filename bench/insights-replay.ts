/**
 * Insights replay benchmark: many seeded synthetic scenarios (steady background, daily cycles,
 * sparse APIs, injected bursts of calls and of errors), replayed through the detector by
 * eventTime. Reports precision, recall and detection delay against the known answers, events/s
 * analysed and memory per tracked series.
 *
 *   node --expose-gc --import tsx bench/insights-replay.ts [--scenarios 40] [--days 4] [--seed 1]
 *     [--strength 6] [--min-burst 15] [--store-views 0]
 *
 * `--store-views N` also counts every record in N event data stores' own views (Insights on N
 * stores that see every call, decision 0021); accuracy is judged on the account's view.
 */
import { Detector } from '../src/insights/detector.js'
import type { Transition } from '../src/insights/detector.js'
import { generate, rng, type ApiSpec, type Burst } from '../src/insights/testing/synthetic.js'

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}

const SCENARIOS = arg('scenarios', 40)
const DAYS = arg('days', 4)
const SEED = arg('seed', 1)
/** How far above normal a burst is: its 5-minute total is at least this many usual windows. */
const STRENGTH = arg('strength', 6)
const MIN_BURST = arg('min-burst', 15)
const STORE_VIEWS = arg('store-views', 0)
const VIEWS = [
  '',
  ...Array.from(
    { length: STORE_VIEWS },
    (_, i) => `arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/bench-${i}`,
  ),
]
const SOURCES = ['ec2', 'iam', 'ssm', 's3', 'lambda', 'kms', 'sts', 'rds']
const NAMES = ['Create', 'Update', 'Delete', 'Put', 'Attach', 'Modify', 'Send', 'Start']

interface Outcome {
  bursts: number
  detected: number
  delays: number[]
  starts: number
  truePositives: number
  falsePositives: { scenario: number; what: string }[]
  events: number
  ms: number
  series: number
}

function scenario(n: number, out: Outcome): void {
  const rand = rng(SEED * 1000 + n)
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!
  const apis: ApiSpec[] = []
  const count = 4 + Math.floor(rand() * 6)
  for (let i = 0; i < count; i++) {
    const kind = rand()
    const rate =
      kind < 0.35 ? 0.005 + rand() * 0.06 : kind < 0.75 ? 0.1 + rand() * 2 : 2 + rand() * 15
    apis.push({
      eventSource: `${pick(SOURCES)}.amazonaws.com`,
      eventName: `${pick(NAMES)}Thing${i}`,
      rate,
      ...(rand() < 0.5 ? { dailyCycle: { nightFactor: 0.02 + rand() * 0.3 } } : {}),
      ...(rand() < 0.4 ? { errorRate: rand() * 0.1, errorCode: 'ThrottlingException' } : {}),
    })
  }
  const bursts: Burst[] = []
  const nb = Math.floor(rand() * 3)
  for (let b = 0; b < nb; b++) {
    const api = pick(apis)
    const errors = rand() < 0.4
    const baseline5 = 5 * api.rate
    // A burst well above normal: at least MIN_BURST calls in 5 minutes and STRENGTH usual windows.
    const total =
      Math.max(MIN_BURST, STRENGTH * baseline5 + 10 * Math.sqrt(baseline5)) * (1 + rand())
    const minutes = 2 + Math.floor(rand() * 8)
    bursts.push({
      eventSource: api.eventSource,
      eventName: api.eventName,
      startMinute: (DAYS - 1) * 1440 + Math.floor(rand() * 1300),
      minutes,
      rate: total / Math.min(minutes, 5),
      ...(errors ? { errorCode: 'AccessDenied' } : {}),
    })
  }
  let id = 0
  const d = new Detector({ newId: () => `a${id++}` })
  const start = new Date(Date.UTC(2026, 0, 5))
  const transitions: Transition[] = []
  // Generated first, so the timing is the detector's alone.
  const records = [
    ...generate({
      accountId: '111122223333',
      region: 'us-east-1',
      start,
      minutes: DAYS * 1440,
      apis,
      bursts,
      seed: SEED * 7919 + n,
    }),
  ]
  const events = records.length
  const t = performance.now()
  for (const r of records) transitions.push(...d.observe(r, VIEWS))
  out.ms += performance.now() - t
  out.events += events
  out.series += d.seriesCount()
  const t0 = start.getTime()
  const starts = transitions.filter((x) => x.state === 'Start' && !x.anomaly.key.source)
  out.bursts += bursts.length
  out.starts += starts.length
  const matched = new Set<number>()
  for (const s of starts) {
    const m = (Date.parse(s.anomaly.startTime) - t0) / 60_000
    const hit = bursts.findIndex(
      (b) =>
        b.eventName === s.anomaly.key.eventName &&
        m >= b.startMinute - 5 &&
        m <= b.startMinute + b.minutes + 5 &&
        (s.anomaly.key.insightType === 'ApiCallRateInsight' || b.errorCode !== undefined),
    )
    if (hit >= 0) {
      out.truePositives++
      matched.add(hit)
    } else {
      out.falsePositives.push({
        scenario: n,
        what: `${s.anomaly.key.eventName} ${s.anomaly.key.insightType} ${s.anomaly.startTime} count ${s.anomaly.windowCount} baseline ${s.anomaly.baselineAverage.toFixed(3)}/min`,
      })
    }
  }
  for (const [i, b] of bursts.entries()) {
    if (!matched.has(i)) continue
    out.detected++
    const first = starts
      .filter((s) => s.anomaly.key.eventName === b.eventName)
      .map((s) => (Date.parse(s.anomaly.detectedAt) - t0) / 60_000)
      .filter((m) => m >= b.startMinute - 5)
      .sort((x, y) => x - y)[0]!
    out.delays.push(Math.max(0, first - b.startMinute))
  }
}

const out: Outcome = {
  bursts: 0,
  detected: 0,
  delays: [],
  starts: 0,
  truePositives: 0,
  falsePositives: [],
  events: 0,
  ms: 0,
  series: 0,
}
for (let n = 0; n < SCENARIOS; n++) scenario(n, out)

// Memory per tracked series: heap and ArrayBuffer growth while 2,000 series each receive one call (run with
// --expose-gc for a steady figure).
const gc = (globalThis as { gc?: () => void }).gc
gc?.()
const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
const before = mem()
const d = new Detector({ newId: () => 'x' })
const [probe] = generate({
  accountId: '1',
  region: 'us-east-1',
  start: new Date(Date.UTC(2026, 0, 5)),
  minutes: 1,
  apis: [{ eventSource: 'x.amazonaws.com', eventName: 'X', rate: 40 }],
  bursts: [],
  seed: 1,
})
for (let i = 0; i < 2000; i++) d.observe({ ...probe!, eventName: `Api${i}` })
gc?.()
const perSeries = (mem() - before) / d.seriesCount()

const sorted = [...out.delays].sort((a, b) => a - b)
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
console.log(
  `Insights replay: ${SCENARIOS} scenarios x ${DAYS} days, seed ${SEED}, bursts >= max(${MIN_BURST}, ${STRENGTH}x the usual window), ${STORE_VIEWS} event data store views`,
)
console.table({
  'bursts injected': out.bursts,
  'bursts detected': out.detected,
  recall: +(out.detected / Math.max(1, out.bursts)).toFixed(3),
  'Start events': out.starts,
  'false Starts': out.falsePositives.length,
  precision: +(out.truePositives / Math.max(1, out.starts)).toFixed(3),
  'delay median (min)': q(0.5),
  'delay p90 (min)': q(0.9),
  'delay max (min)': sorted[sorted.length - 1] ?? NaN,
  'events analysed': out.events,
  'events/s (detector)': Math.round(out.events / (out.ms / 1000)),
  'series tracked': out.series,
  'KB per series': +(perSeries / 1024).toFixed(1),
})
for (const fp of out.falsePositives)
  console.log(`false Start in scenario ${fp.scenario}: ${fp.what}`)
