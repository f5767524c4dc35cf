import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CloudTrailRecord } from '../events/record.js'
import { Detector, type Transition } from './detector.js'
import { insightRecord } from './event-builder.js'
import { nbLog10UpperTail } from './stats.js'
import { generate, type Scenario } from './testing/synthetic.js'

const DAY = 1440
const START = new Date('2026-03-02T00:00:00Z')

function run(s: Scenario, d = detector(), shuffle = false): Transition[] {
  const out: Transition[] = []
  let records: Iterable<CloudTrailRecord> = generate(s)
  if (shuffle) records = locallyShuffled([...records], 7)
  for (const r of records) out.push(...d.observe(r))
  return out
}

function detector(params = {}): Detector {
  let n = 0
  return new Detector({ newId: () => `id-${n++}`, params })
}

/** Swaps records within runs of `span` (out-of-order arrival, as from parallel imports). */
function locallyShuffled(rs: CloudTrailRecord[], span: number): CloudTrailRecord[] {
  const out = [...rs]
  for (let i = 0; i + span <= out.length; i += span)
    out.splice(i, span, ...out.slice(i, i + span).reverse())
  return out
}

const base = (apis: Scenario['apis'], bursts: Scenario['bursts'] = []): Scenario => ({
  accountId: '111122223333',
  region: 'us-east-1',
  start: START,
  minutes: 8 * DAY,
  apis,
  bursts,
  seed: 42,
})

const at = (day: number, hh: number, mm = 0) => day * DAY + hh * 60 + mm
const iso = (minute: number) =>
  new Date(START.getTime() + minute * 60_000).toISOString().replace('.000Z', 'Z')

describe('insights detector (replay with known answers)', () => {
  it('the tail test: 15 calls in 5 minutes against 0.04 calls/min is far beyond 10^-7', () => {
    assert.ok(nbLog10UpperTail(15, 0.2, 400) < -15)
    assert.equal(nbLog10UpperTail(1, 2, 10), 0)
  })

  it('raises nothing on steady background and a daily cycle', () => {
    const out = run(
      base([
        {
          eventSource: 'ec2.amazonaws.com',
          eventName: 'RunInstances',
          rate: 3,
          dailyCycle: { nightFactor: 0.05 },
        },
        { eventSource: 's3.amazonaws.com', eventName: 'PutObjectAcl', rate: 20 },
        { eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 },
        { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', rate: 0.5, errorRate: 0.05 },
      ]),
    )
    assert.deepEqual(
      out.map((t) => `${t.state} ${t.anomaly.key.eventName} ${t.anomaly.startTime}`),
      [],
    )
  })

  it('flags 15 SendCommand calls in 5 minutes against a 0.04/min baseline, within 2 minutes', () => {
    const burst = at(7, 10)
    const out = run(
      base(
        [
          { eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 },
          {
            eventSource: 'ec2.amazonaws.com',
            eventName: 'RunInstances',
            rate: 3,
            dailyCycle: { nightFactor: 0.05 },
          },
        ],
        [
          {
            eventSource: 'ssm.amazonaws.com',
            eventName: 'SendCommand',
            startMinute: burst,
            minutes: 5,
            rate: 3,
          },
        ],
      ),
    )
    const starts = out.filter((t) => t.state === 'Start')
    assert.equal(starts.length, 1)
    const a = starts[0]!.anomaly
    assert.equal(a.key.eventName, 'SendCommand')
    assert.equal(a.key.insightType, 'ApiCallRateInsight')
    assert.equal(a.startTime, iso(burst))
    const delay = (Date.parse(a.detectedAt) - Date.parse(a.startTime)) / 60_000
    assert.ok(delay <= 2, `detected after ${delay} minutes`)
    assert.ok(a.baselineAverage > 0.02 && a.baselineAverage < 0.06, String(a.baselineAverage))
    assert.equal(a.baselineDuration, 7 * DAY)
    const users = a.attributions.find((x) => x.attribute === 'userIdentityArn')!
    assert.equal(users.insight[0]!.value, 'arn:aws:iam::111122223333:user/intruder')
    assert.ok(!users.baseline.some((v) => v.value.endsWith('/intruder')))
    const end = out.find((t) => t.state === 'End')!.anomaly
    assert.equal(end.id, a.id)
    assert.ok(end.insightDuration >= 4 && end.insightDuration <= 12, String(end.insightDuration))
  })

  it('flags a burst of AccessDenied on CreateUser as an error-rate Insight with its error code', () => {
    const burst = at(7, 15, 30)
    const out = run(
      base(
        [
          {
            eventSource: 'iam.amazonaws.com',
            eventName: 'CreateUser',
            rate: 0.3,
            errorRate: 0.02,
            errorCode: 'EntityAlreadyExists',
          },
        ],
        [
          {
            eventSource: 'iam.amazonaws.com',
            eventName: 'CreateUser',
            startMinute: burst,
            minutes: 3,
            rate: 8,
            errorCode: 'AccessDenied',
          },
        ],
      ),
    )
    const errs = out.filter(
      (t) => t.state === 'Start' && t.anomaly.key.insightType === 'ApiErrorRateInsight',
    )
    assert.equal(errs.length, 1)
    assert.equal(errs[0]!.anomaly.key.errorCode, 'AccessDenied')
    const rec = insightRecord(errs[0]!.anomaly, 'Start') as Record<string, unknown>
    assert.equal(rec['eventType'], 'AwsCloudTrailInsight')
    assert.equal(rec['eventCategory'], 'Insight')
    const details = rec['insightDetails'] as Record<string, unknown>
    assert.equal(details['state'], 'Start')
    assert.equal(details['errorCode'], 'AccessDenied')
    const ctx = details['insightContext'] as {
      statistics: Record<string, unknown>
      attributions: { attribute: string }[]
    }
    assert.deepEqual(Object.keys(ctx.statistics), ['baseline', 'insight', 'baselineDuration'])
    assert.deepEqual(
      ctx.attributions.map((x) => x.attribute),
      ['userIdentityArn', 'userAgent', 'errorCode'],
    )
  })

  it('counts by eventTime: out-of-order arrival gives the same anomalies', () => {
    const s = base(
      [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
      [
        {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'SendCommand',
          startMinute: at(7, 9),
          minutes: 5,
          rate: 4,
        },
      ],
    )
    const inOrder = run(s).map((t) => `${t.state} ${t.anomaly.startTime}`)
    const shuffled = run(s, detector(), true).map((t) => `${t.state} ${t.anomaly.startTime}`)
    assert.deepEqual(shuffled, inOrder)
    assert.equal(inOrder.length, 2)
  })

  it('warm-up: no anomalies before the account and region has enough history', () => {
    const s = {
      ...base(
        [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
        [
          {
            eventSource: 'ssm.amazonaws.com',
            eventName: 'SendCommand',
            startMinute: 600,
            minutes: 5,
            rate: 4,
          },
        ],
      ),
      minutes: DAY,
    }
    assert.equal(run(s).length, 0)
    assert.equal(
      run(s, detector({ warmupMinutes: 60 })).filter((t) => t.state === 'Start').length,
      1,
    )
  })

  it('exclusions and per-API sensitivity are honoured', () => {
    const s = base(
      [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
      [
        {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'SendCommand',
          startMinute: at(7, 9),
          minutes: 5,
          rate: 4,
        },
      ],
    )
    const excluded = detector()
    excluded.settings = { params: {}, rules: [{ eventName: 'SendCommand', excluded: true }] }
    assert.equal(run(s, excluded).length, 0)
    const strict = detector()
    strict.settings = { params: {}, rules: [{ eventSource: 'ssm.amazonaws.com', minCount: 100 }] }
    assert.equal(run(s, strict).length, 0)
  })

  it('forgets series with no calls in the last 7 days of their account and region', () => {
    const d = detector()
    const s = base([{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.2 }])
    const old = [...generate({ ...s, minutes: 60 })]
    for (const r of old) d.observe({ ...r, eventName: 'OldApi' })
    for (const r of generate({
      ...s,
      start: new Date(START.getTime() + 8 * 86_400_000),
      minutes: 60,
    }))
      d.observe(r)
    assert.equal(d.seriesCount(), 2)
    assert.equal(d.prune(), 1)
    assert.equal(d.seriesCount(), 1)
  })

  it('state survives a snapshot: a restored detector ends the anomaly the original started', () => {
    const s = base(
      [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
      [
        {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'SendCommand',
          startMinute: at(7, 9),
          minutes: 5,
          rate: 4,
        },
      ],
    )
    const all = [...generate(s)]
    const cut = all.findIndex((r) => r.eventTime >= iso(at(7, 9, 3)))
    const a = detector()
    const first: Transition[] = []
    for (const r of all.slice(0, cut)) first.push(...a.observe(r))
    assert.equal(first.length, 1)
    const b = detector()
    b.restore(JSON.parse(JSON.stringify(a.toJSON())) as Record<string, unknown>)
    const rest: Transition[] = []
    for (const r of all.slice(cut)) rest.push(...b.observe(r))
    assert.deepEqual(
      rest.map((t) => [t.state, t.anomaly.id]),
      [['End', first[0]!.anomaly.id]],
    )
  })
})
