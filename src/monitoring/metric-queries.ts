/**
 * @module monitoring/metric-queries
 * The CloudWatch metric operations over the metric store, in domain terms: PutMetricData's checks
 * (namespace, timestamps, exactly one of value, values and statistic set) turning datapoints into
 * `MetricUpdates`, GetMetricStatistics (one-minute stats rolled up to the asked period) and
 * ListMetrics (the catalogue, filtered and paged).
 */
import {
  InvalidParameterCombination,
  InvalidParameterValue,
  statValue,
  type Statistic,
} from './alarms.js'
import {
  type CatalogEntry,
  type Dimension,
  type MetricId,
  metricKey,
  mergeStats,
  type MetricStore,
  MetricUpdates,
  MINUTE,
  sortDimensions,
  type Stats,
} from './metric-store.js'
import { token, untoken } from './next-token.js'
import type { Scope } from './service.js'

export interface MetricDatum {
  metricName: string
  dimensions?: Dimension[]
  timestamp?: Date
  value?: number
  values?: number[]
  counts?: number[]
  statisticValues?: { sampleCount: number; sum: number; minimum: number; maximum: number }
  unit?: string
}

export interface StatisticsQuery {
  namespace: string
  metricName: string
  dimensions?: Dimension[]
  startTime: Date
  endTime: Date
  period: number
  statistics?: Statistic[]
  extendedStatistics?: string[]
  unit?: string
}

export type Datapoint = { timestamp: Date; unit: string } & Partial<Record<Statistic, number>>

export interface ListMetricsQuery {
  namespace?: string
  metricName?: string
  dimensions?: { name: string; value?: string }[]
  recentlyActive?: string
  nextToken?: string
}

/** PutMetricData's checks; the datapoints as updates for the metric store. */
export function metricDataUpdates(
  scope: Scope,
  namespace: string,
  data: MetricDatum[],
  now: number,
): MetricUpdates {
  if (namespace.startsWith('AWS/'))
    throw InvalidParameterValue('The value AWS/ for parameter Namespace is invalid.')
  const u = new MetricUpdates()
  for (const [i, d] of data.entries()) {
    const id: MetricId = {
      ...scope,
      namespace,
      metricName: d.metricName,
      dimensions: sortDimensions(d.dimensions ?? []),
    }
    const t = d.timestamp?.getTime() ?? now
    if (t < now - 14 * 86_400_000 || t > now + 2 * 3600_000)
      throw InvalidParameterValue(
        `The parameter MetricData.member.${i + 1}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.`,
      )
    const given = [
      d.value !== undefined,
      d.values !== undefined,
      d.statisticValues !== undefined,
    ].filter(Boolean).length
    if (given !== 1)
      throw InvalidParameterCombination(
        `The parameters MetricData.member.${i + 1}.Value, Values and StatisticValues are mutually exclusive and one is required.`,
      )
    if (d.value !== undefined) u.add(id, t, d.value, d.unit)
    else if (d.values) {
      if (d.counts && d.counts.length !== d.values.length)
        throw InvalidParameterValue('The Values and Counts arrays must have the same length.')
      d.values.forEach((v, k) => {
        const c = d.counts?.[k] ?? 1
        u.addStats(id, t, { n: c, sum: v * c, min: v, max: v }, d.unit)
      })
    } else {
      const s = d.statisticValues!
      u.addStats(id, t, { n: s.sampleCount, sum: s.sum, min: s.minimum, max: s.maximum }, d.unit)
    }
  }
  return u
}

export function metricStatistics(
  metrics: MetricStore,
  scope: Scope,
  q: StatisticsQuery,
): { label: string; datapoints: Datapoint[] } {
  if (q.extendedStatistics?.length)
    throw InvalidParameterValue(
      'ExtendedStatistics (percentiles) are not available: OpenTrail keeps count, sum, minimum and maximum per minute.',
    )
  if (!q.statistics?.length)
    throw InvalidParameterCombination(
      'At least one of the parameters Statistics and ExtendedStatistics must be specified.',
    )
  if (q.period < 60 || q.period % 60 !== 0)
    throw InvalidParameterValue('The parameter Period must be a multiple of 60.')
  const from = q.startTime.getTime()
  const to = q.endTime.getTime()
  if (to <= from)
    throw InvalidParameterValue('The parameter StartTime must be less than the parameter EndTime.')
  const P = q.period * 1000
  const n = Math.ceil((to - from) / P)
  if (n > 1440)
    throw InvalidParameterCombination(
      `You have requested up to ${n} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
    )
  const key = metricKey({
    ...scope,
    namespace: q.namespace,
    metricName: q.metricName,
    dimensions: sortDimensions(q.dimensions ?? []),
  })
  const entry = metrics.entry(key)
  if (q.unit && entry?.unit && entry.unit !== q.unit) return { label: q.metricName, datapoints: [] }
  const per = new Map<number, Stats>()
  for (const [m, s] of metrics.range(key, Math.floor(from / MINUTE) * MINUTE, to)) {
    if (m < from) continue
    const start = from + Math.floor((m - from) / P) * P
    per.set(start, mergeStats(per.get(start), s))
  }
  const datapoints = [...per.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, s]) => {
      const dp: Datapoint = { timestamp: new Date(t), unit: entry?.unit ?? 'None' }
      for (const st of q.statistics!) dp[st] = statValue(s, st)
      return dp
    })
  return { label: q.metricName, datapoints }
}

export function listMetrics(
  metrics: MetricStore,
  scope: Scope,
  q: ListMetricsQuery,
  now: number,
): { metrics: CatalogEntry[]; nextToken?: string } {
  const after = q.nextToken ? untoken(q.nextToken) : undefined
  const since = q.recentlyActive === 'PT3H' ? now - 3 * 3600_000 : undefined
  const out: CatalogEntry[] = []
  for (const [key, e] of metrics.entries()) {
    if (e.accountId !== scope.accountId || e.region !== scope.region) continue
    if (after !== undefined && key <= after) continue
    if (q.namespace !== undefined && e.namespace !== q.namespace) continue
    if (q.metricName !== undefined && e.metricName !== q.metricName) continue
    if (
      q.dimensions &&
      !q.dimensions.every((f) =>
        e.dimensions.some(
          (d) => d.name === f.name && (f.value === undefined || d.value === f.value),
        ),
      )
    )
      continue
    if (since !== undefined && e.last < since) continue
    if (out.length === 500) return { metrics: out, nextToken: token(metricKey(out.at(-1)!)) }
    out.push(e)
  }
  return { metrics: out }
}
