/** Alarm evaluation (pure): windows, datapoints to alarm, statistics, missing-data treatment. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Alarm, type AlarmConfig, evaluate, validateAlarm } from './alarms.js'
import type { Stats } from './metric-store.js'

const P = 300_000
const NOW = 1_000 * P + 120_000 // two minutes into a 5-minute period

type A = Parameters<typeof evaluate>[0]
const alarm = (over: Partial<A> = {}): A => ({
  period: 300,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  statistic: 'Sum',
  threshold: 1,
  comparisonOperator: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'missing',
  state: 'INSUFFICIENT_DATA',
  ...over,
})
const pt = (minute: number, sum: number, n = 1): [number, Stats] => [
  minute,
  { n, sum, min: sum / n, max: sum / n },
]
/** The start of the period `k` periods before the current one. */
const period = (k: number) => (1_000 - k) * P

describe('alarm evaluation', () => {
  it('alarms on the in-progress period as soon as it has a breaching datapoint', () => {
    const r = evaluate(alarm(), [pt(period(0) + 60_000, 1)], NOW)
    assert.equal(r.state, 'ALARM')
    assert.match(r.reason, /^Threshold Crossed: 1 out of the last 1 datapoints \[1\.0 \(/)
    assert.equal(
      (JSON.parse(r.reasonData) as { recentDatapoints: number[] }).recentDatapoints[0],
      1,
    )
  })

  it('uses the last complete period while the current one has no data', () => {
    assert.equal(evaluate(alarm(), [pt(period(1), 3)], NOW).state, 'ALARM')
    assert.equal(evaluate(alarm(), [pt(period(2), 3)], NOW).state, 'INSUFFICIENT_DATA')
  })

  it('sums the minutes of a period and applies the statistic', () => {
    const minutes = [pt(period(1), 2, 2), pt(period(1) + 60_000, 6, 2)]
    assert.equal(evaluate(alarm({ threshold: 8 }), minutes, NOW).state, 'ALARM')
    assert.equal(evaluate(alarm({ threshold: 9 }), minutes, NOW).state, 'OK')
    assert.equal(
      evaluate(alarm({ statistic: 'Average', threshold: 2 }), minutes, NOW).state,
      'ALARM',
    )
    assert.equal(
      evaluate(alarm({ statistic: 'Maximum', threshold: 3 }), minutes, NOW).state,
      'ALARM',
    )
    assert.equal(evaluate(alarm({ statistic: 'Minimum', threshold: 2 }), minutes, NOW).state, 'OK')
    assert.equal(
      evaluate(alarm({ statistic: 'SampleCount', threshold: 4 }), minutes, NOW).state,
      'ALARM',
    )
    const lt = alarm({ comparisonOperator: 'LessThanThreshold', threshold: 9 })
    assert.equal(evaluate(lt, minutes, NOW).state, 'ALARM')
  })

  it('needs datapointsToAlarm breaching periods out of evaluationPeriods', () => {
    const a = alarm({ evaluationPeriods: 3, datapointsToAlarm: 2 })
    assert.equal(evaluate(a, [pt(period(1), 5), pt(period(4), 5)], NOW).state, 'OK')
    assert.equal(evaluate(a, [pt(period(1), 5), pt(period(2), 5)], NOW).state, 'ALARM')
    assert.equal(evaluate(a, [pt(period(1), 5), pt(period(2), 0)], NOW).state, 'OK')
  })

  it('treats missing data as told', () => {
    const none: [number, Stats][] = []
    assert.equal(evaluate(alarm(), none, NOW).state, 'INSUFFICIENT_DATA')
    assert.equal(evaluate(alarm({ treatMissingData: 'notBreaching' }), none, NOW).state, 'OK')
    assert.equal(evaluate(alarm({ treatMissingData: 'breaching' }), none, NOW).state, 'ALARM')
    assert.equal(
      evaluate(alarm({ treatMissingData: 'ignore', state: 'ALARM' }), none, NOW).state,
      'ALARM',
    )
    assert.equal(
      evaluate(alarm({ treatMissingData: 'ignore', state: 'OK' }), none, NOW).state,
      'OK',
    )
    // Missing periods among present ones: breaching fills them in.
    const a = alarm({ evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'breaching' })
    assert.equal(evaluate(a, [pt(period(1), 5)], NOW).state, 'ALARM')
    assert.equal(
      evaluate({ ...a, treatMissingData: 'missing' }, [pt(period(1), 5)], NOW).state,
      'OK',
    )
  })
})

describe('alarm configuration', () => {
  const base: AlarmConfig = {
    alarmName: 'a',
    actionsEnabled: true,
    okActions: [],
    alarmActions: ['arn:aws:sns:us-east-1:111122223333:t'],
    insufficientDataActions: [],
    namespace: 'N',
    metricName: 'M',
    dimensions: [],
    statistic: 'Sum',
    period: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 1,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'missing',
  }
  it('accepts a CIS-style alarm and refuses what it cannot evaluate', () => {
    validateAlarm(base)
    assert.throws(() => validateAlarm({ ...base, period: 30 }), /multiple of 60/)
    assert.throws(() => validateAlarm({ ...base, datapointsToAlarm: 2 }), /DatapointsToAlarm/)
    assert.throws(() => validateAlarm({ ...base, evaluationPeriods: 0 }), /EvaluationPeriods/)
    assert.throws(
      () => validateAlarm({ ...base, period: 86_400, evaluationPeriods: 8, datapointsToAlarm: 1 }),
      /must not exceed/,
    )
    assert.throws(
      () => validateAlarm({ ...base, alarmActions: ['not-an-arn'] }),
      /Invalid action ARN/,
    )
  })
  it('is typed for stored alarms', () => {
    const stored: Pick<Alarm, 'state'> = { state: 'OK' }
    assert.equal(stored.state, 'OK')
  })
})
