/**
 * @module monitoring/alarms
 * Metric alarms: configuration checks and the evaluation rule, as pure functions.
 *
 * Evaluation (decision record 0016): periods are aligned to multiples of `period` since the epoch.
 * The window is the `evaluationPeriods` most recent periods, ending with the in-progress period when
 * it already has a datapoint (so a breach alarms seconds after the event, not at the period's end)
 * and with the last complete period otherwise. Missing periods follow `treatMissingData`:
 * breaching / notBreaching count as such; missing and ignore leave them out. ALARM when at least
 * `datapointsToAlarm` periods breach; with no datapoint at all, INSUFFICIENT_DATA (missing) or the
 * current state (ignore); otherwise OK.
 */
import { awsError } from '../shared/errors.js'
import { type Dimension, mergeStats, type Stats } from './metric-store.js'

export const InvalidParameterValue = awsError('InvalidParameterValue')
export const InvalidParameterCombination = awsError('InvalidParameterCombination')
export const ResourceNotFound = awsError('ResourceNotFound', 404)
export const LimitExceeded = awsError('LimitExceeded')

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'
export const STATES: AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA']
export type Statistic = 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum'
export const STATISTICS: Statistic[] = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']
export type Comparison =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold'
export const COMPARISONS: Comparison[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
]
export type TreatMissing = 'breaching' | 'notBreaching' | 'ignore' | 'missing'
export const TREAT_MISSING: TreatMissing[] = ['breaching', 'notBreaching', 'ignore', 'missing']

export const MAX_ALARMS_PER_REGION = 5000
/** AWS: period × evaluation periods at most one day for periods under an hour; 7 days overall. */
export const MAX_EVALUATION_SECONDS = 7 * 86_400

export interface AlarmConfig {
  alarmName: string
  alarmDescription?: string
  actionsEnabled: boolean
  okActions: string[]
  alarmActions: string[]
  insufficientDataActions: string[]
  namespace: string
  metricName: string
  dimensions: Dimension[]
  statistic: Statistic
  period: number
  unit?: string
  evaluationPeriods: number
  datapointsToAlarm: number
  threshold: number
  comparisonOperator: Comparison
  treatMissingData: TreatMissing
  tags?: { key: string; value: string }[]
}

export interface Alarm extends AlarmConfig {
  accountId: string
  region: string
  arn: string
  configurationUpdatedAt: number
  state: AlarmState
  stateReason: string
  stateReasonData?: string
  stateUpdatedAt: number
  stateTransitionedAt: number
}

export interface HistoryItem {
  alarmName: string
  timestamp: number
  type: 'ConfigurationUpdate' | 'StateUpdate' | 'Action'
  summary: string
  data: string
}

export const alarmArn = (accountId: string, region: string, name: string) =>
  `arn:aws:cloudwatch:${region}:${accountId}:alarm:${name}`

/** Checks a configuration as PutMetricAlarm does (InvalidParameterValue / Combination). */
export function validateAlarm(c: AlarmConfig): void {
  if (c.period < 60 || c.period % 60 !== 0)
    throw InvalidParameterValue(
      `The parameter Period must be a multiple of 60 (OpenTrail stores metrics at one-minute resolution); got ${c.period}.`,
    )
  if (c.evaluationPeriods < 1)
    throw InvalidParameterValue(
      'The parameter EvaluationPeriods must be greater than or equal to 1.',
    )
  if (c.datapointsToAlarm < 1 || c.datapointsToAlarm > c.evaluationPeriods)
    throw InvalidParameterValue(
      'DatapointsToAlarm must be greater than 0 and less than or equal to EvaluationPeriods.',
    )
  if (c.period * c.evaluationPeriods > MAX_EVALUATION_SECONDS)
    throw InvalidParameterValue(
      `The evaluation period (Period × EvaluationPeriods) must not exceed ${MAX_EVALUATION_SECONDS} seconds.`,
    )
  if (c.dimensions.length > 30)
    throw InvalidParameterValue('The collection Dimensions must not have more than 30 members.')
  for (const arn of [...c.alarmActions, ...c.okActions, ...c.insufficientDataActions])
    if (!/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$/.test(arn))
      throw InvalidParameterValue(`Invalid action ARN: ${arn}`)
}

export function statValue(s: Stats, stat: Statistic): number {
  switch (stat) {
    case 'SampleCount':
      return s.n
    case 'Sum':
      return s.sum
    case 'Average':
      return s.n === 0 ? 0 : s.sum / s.n
    case 'Minimum':
      return s.min
    case 'Maximum':
      return s.max
  }
}

export function breaches(v: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return v >= threshold
    case 'GreaterThanThreshold':
      return v > threshold
    case 'LessThanThreshold':
      return v < threshold
    case 'LessThanOrEqualToThreshold':
      return v <= threshold
  }
}

const PHRASE: Record<Comparison, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
}

export interface Evaluation {
  state: AlarmState
  reason: string
  reasonData: string
}

const fmtNum = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n))
function fmtTime(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

/**
 * Evaluates an alarm at `now` over one-minute stats (`minutes`: [minuteMs, stats] covering at least
 * the window). Returns the state the alarm should be in.
 */
export function evaluate(
  a: Pick<
    Alarm,
    | 'period'
    | 'evaluationPeriods'
    | 'datapointsToAlarm'
    | 'statistic'
    | 'threshold'
    | 'comparisonOperator'
    | 'treatMissingData'
    | 'state'
  >,
  minutes: Iterable<[number, Stats]>,
  now: number,
): Evaluation {
  const P = a.period * 1000
  const current = Math.floor(now / P) * P
  const perPeriod = new Map<number, Stats>()
  for (const [m, s] of minutes) {
    const start = Math.floor(m / P) * P
    perPeriod.set(start, mergeStats(perPeriod.get(start), s))
  }
  const newest = perPeriod.has(current) ? current : current - P
  const points: { t: number; value?: number; breaching: boolean | undefined }[] = []
  for (let i = a.evaluationPeriods - 1; i >= 0; i--) {
    const t = newest - i * P
    const s = perPeriod.get(t)
    if (s && s.n > 0) {
      const value = statValue(s, a.statistic)
      points.push({ t, value, breaching: breaches(value, a.comparisonOperator, a.threshold) })
    } else {
      const b =
        a.treatMissingData === 'breaching'
          ? true
          : a.treatMissingData === 'notBreaching'
            ? false
            : undefined
      points.push({ t, breaching: b })
    }
  }
  const present = points.filter((p) => p.breaching !== undefined)
  const breachingCount = present.filter((p) => p.breaching).length
  const withValue = points.filter((p) => p.value !== undefined)
  const shown = `[${withValue.map((p) => `${fmtNum(p.value!)} (${fmtTime(p.t)})`).join(', ')}]`
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: new Date(now).toISOString().replace('Z', '+0000'),
    startDate: new Date(newest - (a.evaluationPeriods - 1) * P).toISOString().replace('Z', '+0000'),
    statistic: a.statistic,
    period: a.period,
    recentDatapoints: withValue.map((p) => p.value),
    threshold: a.threshold,
    evaluatedDatapoints: withValue.map((p) => ({
      timestamp: new Date(p.t).toISOString().replace('Z', '+0000'),
      value: p.value,
    })),
  })
  const phrase = PHRASE[a.comparisonOperator]
  if (breachingCount >= a.datapointsToAlarm) {
    return {
      state: 'ALARM',
      reason: `Threshold Crossed: ${breachingCount} out of the last ${a.evaluationPeriods} datapoints ${shown} ${breachingCount === 1 ? 'was' : 'were'} ${phrase} the threshold (${fmtNum(a.threshold)}) (minimum ${a.datapointsToAlarm} datapoint${a.datapointsToAlarm === 1 ? '' : 's'} for OK -> ALARM transition).`,
      reasonData,
    }
  }
  if (present.length === 0) {
    if (a.treatMissingData === 'ignore')
      return {
        state: a.state,
        reason: 'No datapoints; the alarm keeps its state (TreatMissingData: ignore).',
        reasonData,
      }
    return {
      state: 'INSUFFICIENT_DATA',
      reason: `Insufficient Data: ${a.evaluationPeriods} datapoint${a.evaluationPeriods === 1 ? ' was' : 's were'} unknown.`,
      reasonData,
    }
  }
  return {
    state: 'OK',
    reason: `Threshold Crossed: ${present.length - breachingCount} out of the last ${a.evaluationPeriods} datapoints ${shown} ${present.length - breachingCount === 1 ? 'was' : 'were'} not ${phrase} the threshold (${fmtNum(a.threshold)}) (minimum ${a.datapointsToAlarm} datapoint${a.datapointsToAlarm === 1 ? '' : 's'} for ALARM -> OK transition).`,
    reasonData,
  }
}
