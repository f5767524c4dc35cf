/**
 * @module monitoring/metric-store
 * CloudWatch metrics at one-minute resolution: per metric (account, region, namespace, name,
 * dimensions) and minute, the sample count, sum, minimum and maximum. Lives in the log store's LMDB
 * environment so that datapoints from metric filters commit in the same transaction as the log
 * events that produced them. Running totals per metric feed the Prometheus endpoint.
 */
import type { Database, RootDatabase } from 'lmdb'

export interface Dimension {
  name: string
  value: string
}

export interface MetricId {
  accountId: string
  region: string
  namespace: string
  metricName: string
  /** Sorted by name. */
  dimensions: Dimension[]
}

export interface Stats {
  n: number
  sum: number
  min: number
  max: number
}

export interface CatalogEntry extends MetricId {
  unit?: string
  /** Minute (ms) of the newest datapoint. */
  last: number
}

export const MINUTE = 60_000

/** The canonical key of a metric; dimensions are sorted by name. */
export function metricKey(id: MetricId): string {
  return JSON.stringify([
    id.accountId,
    id.region,
    id.namespace,
    id.metricName,
    [...id.dimensions].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => [d.name, d.value]),
  ])
}

export function sortDimensions(d: Dimension[]): Dimension[] {
  return [...d].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export function addSample(s: Stats | undefined, value: number, count = 1, sum = value): Stats {
  if (!s) return { n: count, sum, min: value, max: value }
  s.n += count
  s.sum += sum
  if (value < s.min) s.min = value
  if (value > s.max) s.max = value
  return s
}

export function mergeStats(a: Stats | undefined, b: Stats): Stats {
  if (!a) return { ...b }
  return {
    n: a.n + b.n,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  }
}

/** Datapoints to add, grouped by metric and minute (built before a transaction, applied inside). */
export class MetricUpdates {
  readonly byKey = new Map<string, { id: MetricId; unit?: string; minutes: Map<number, Stats> }>()

  add(id: MetricId, timestamp: number, value: number, unit?: string, key = metricKey(id)): void {
    let m = this.byKey.get(key)
    if (!m) this.byKey.set(key, (m = { id, minutes: new Map(), ...(unit ? { unit } : {}) }))
    const minute = Math.floor(timestamp / MINUTE) * MINUTE
    m.minutes.set(minute, addSample(m.minutes.get(minute), value))
  }

  addStats(id: MetricId, timestamp: number, stats: Stats, unit?: string): void {
    const key = metricKey(id)
    let m = this.byKey.get(key)
    if (!m) this.byKey.set(key, (m = { id, minutes: new Map(), ...(unit ? { unit } : {}) }))
    const minute = Math.floor(timestamp / MINUTE) * MINUTE
    m.minutes.set(minute, mergeStats(m.minutes.get(minute), stats))
  }

  get size(): number {
    return this.byKey.size
  }
}

export class MetricStore {
  private readonly points: Database<Stats, [string, number]>
  private readonly catalog: Database<CatalogEntry, string>
  private readonly totals: Database<Stats, string>

  constructor(env: RootDatabase) {
    this.points = env.openDB({ name: 'metric-points', encoding: 'msgpack' })
    this.catalog = env.openDB({ name: 'metric-catalog', encoding: 'msgpack' })
    this.totals = env.openDB({ name: 'metric-totals', encoding: 'msgpack' })
  }

  /** Inside a write transaction. */
  apply(u: MetricUpdates): void {
    for (const [key, m] of u.byKey) {
      let last = 0
      let total = this.totals.get(key)
      for (const [minute, s] of m.minutes) {
        void this.points.put([key, minute], mergeStats(this.points.get([key, minute]), s))
        total = mergeStats(total, s)
        if (minute > last) last = minute
      }
      void this.totals.put(key, total!)
      const cur = this.catalog.get(key)
      if (!cur || cur.last < last || (m.unit && cur.unit !== m.unit))
        void this.catalog.put(key, {
          ...m.id,
          ...(m.unit ? { unit: m.unit } : {}),
          last: Math.max(last, cur?.last ?? 0),
        })
    }
  }

  /** One-minute stats of a metric with minute in [from, to). */
  range(key: string, from: number, to: number): [number, Stats][] {
    return [
      ...this.points
        .getRange({ start: [key, from], end: [key, to] })
        .map(({ key: k, value }) => [k[1], value] as [number, Stats]),
    ]
  }

  entry(key: string): CatalogEntry | undefined {
    return this.catalog.get(key)
  }

  *entries(): Iterable<[string, CatalogEntry, Stats | undefined]> {
    for (const { key, value } of this.catalog.getRange({})) yield [key, value, this.totals.get(key)]
  }

  /** Drops datapoints older than `before` (CloudWatch keeps one-minute data for 15 days). */
  expire(before: number, env: RootDatabase): Promise<void> {
    return env.transaction(() => {
      for (const { key } of this.catalog.getRange({})) {
        for (const k of this.points.getKeys({ start: [key, 0], end: [key, before] }))
          void this.points.remove(k)
      }
    })
  }
}
