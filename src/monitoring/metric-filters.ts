/**
 * @module monitoring/metric-filters
 * Metric filters: a filter pattern on a log group and a metric transformation (namespace, name,
 * value from a field or a constant, default value, dimensions, unit). `FilterSet` compiles a group's
 * filters once and dispatches events by `$.eventName` when a pattern pins it down, so most events
 * are tested against a handful of filters, not all of them.
 */
import { awsError } from '../shared/errors.js'
import { compilePattern, type CompiledPattern, type MatchInput } from './filter-pattern/compile.js'
import { type MetricId, MetricUpdates, MINUTE, metricKey, sortDimensions } from './metric-store.js'

export const InvalidParameterException = awsError('InvalidParameterException')
export const LimitExceededException = awsError('LimitExceededException')

export const MAX_FILTERS_PER_GROUP = 100
export const MAX_REGEX_FILTERS_PER_GROUP = 5
export const MAX_DIMENSIONS = 3

export interface MetricTransformation {
  metricName: string
  metricNamespace: string
  /** A number, `$.field` (JSON patterns) or `$name` / `$3` (space-delimited patterns). */
  metricValue: string
  defaultValue?: number
  dimensions?: Record<string, string>
  unit?: string
}

export interface MetricFilterDef {
  filterName: string
  filterPattern: string
  metricTransformations: MetricTransformation[]
  creationTime: number
  logGroupName: string
  accountId: string
  region: string
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

interface Compiled {
  def: MetricFilterDef
  pattern: CompiledPattern
  t: MetricTransformation
  id: MetricId
  key: string
  value: ((ev: MatchInput) => unknown) | number
  dims: [string, (ev: MatchInput) => unknown][]
  /** Dimension values (joined) → metric identity, so a repeated combination costs one lookup. */
  dimCache: Map<string, { id: MetricId; key: string }>
}

/** Checks a filter and compiles it; InvalidParameterException naming what is wrong. */
export function compileFilter(def: MetricFilterDef): Compiled {
  const pattern = compilePattern(def.filterPattern)
  if (def.metricTransformations.length !== 1)
    throw InvalidParameterException('A metric filter must have exactly one metric transformation.')
  const t = def.metricTransformations[0]!
  const reader = (sel: string, what: string) => {
    const fn = pattern.extractor(sel)
    if (!fn)
      throw InvalidParameterException(
        `Invalid ${what} '${sel}': it must name a field of the filter pattern ($.field for JSON patterns, $name for space-delimited patterns).`,
      )
    return fn
  }
  let value: Compiled['value']
  if (NUMBER.test(t.metricValue.trim())) value = Number(t.metricValue.trim())
  else if (t.metricValue.startsWith('$')) value = reader(t.metricValue, 'metric value')
  else
    throw InvalidParameterException(
      `Invalid metric value '${t.metricValue}': use a number or a field selector like $.size.`,
    )
  const dimEntries = Object.entries(t.dimensions ?? {})
  if (dimEntries.length > MAX_DIMENSIONS)
    throw InvalidParameterException(
      `A metric transformation can have at most ${MAX_DIMENSIONS} dimensions.`,
    )
  if (dimEntries.length > 0 && t.defaultValue !== undefined)
    throw InvalidParameterException(
      'A metric transformation with dimensions cannot have a default value.',
    )
  const dims = dimEntries.map(([name, sel]): [string, (ev: MatchInput) => unknown] => [
    name,
    reader(sel, 'dimension value'),
  ])
  const id: MetricId = {
    accountId: def.accountId,
    region: def.region,
    namespace: t.metricNamespace,
    metricName: t.metricName,
    dimensions: [],
  }
  return { def, pattern, t, id, key: metricKey(id), value, dims, dimCache: new Map() }
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && NUMBER.test(v.trim())) return Number(v)
  return undefined
}

/** A value node as text (null as "null"); undefined for missing fields, objects and arrays. */
function scalar(v: unknown): string | undefined {
  if (v === null) return 'null'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

/** Dispatch preference: CloudTrail's most selective fields first. */
const PREFERRED = ['$.eventName', '$.eventSource']

interface Index {
  read: (ev: MatchInput) => unknown
  byValue: Map<string, Compiled[]>
}

/** One log group's compiled metric filters. */
export class FilterSet {
  private readonly indexes: Index[] = []
  private readonly general: Compiled[] = []
  private readonly withDefault: Compiled[]

  constructor(defs: MetricFilterDef[]) {
    const all = defs.map(compileFilter)
    const bySelector = new Map<string, Index>()
    for (const c of all) {
      const pins = c.pattern.pins
      if (pins.size === 0) {
        this.general.push(c)
        continue
      }
      const sel =
        PREFERRED.find((p) => pins.has(p)) ??
        [...pins.keys()].sort((a, b) => pins.get(a)!.size - pins.get(b)!.size)[0]!
      let idx = bySelector.get(sel)
      if (!idx) {
        const read = c.pattern.extractor(sel)!
        bySelector.set(sel, (idx = { read, byValue: new Map() }))
      }
      for (const v of pins.get(sel)!) {
        let list = idx.byValue.get(v)
        if (!list) idx.byValue.set(v, (list = []))
        list.push(c)
      }
    }
    this.indexes = [...bySelector.values()]
    this.withDefault = all.filter((c) => c.t.defaultValue !== undefined)
  }

  /** Adds the datapoints that `events` produce to `out`. */
  apply(events: readonly { timestamp: number; input: MatchInput }[], out: MetricUpdates): void {
    const matchedMinutes =
      this.withDefault.length > 0 ? new Map<Compiled, Set<number>>() : undefined
    const minutes = matchedMinutes ? new Set<number>() : undefined
    for (const ev of events) {
      const input = ev.input
      if (minutes) minutes.add(Math.floor(ev.timestamp / MINUTE) * MINUTE)
      for (const idx of this.indexes) {
        const v = idx.read(input)
        const key = typeof v === 'string' ? v : scalar(v)
        const hit = key !== undefined ? idx.byValue.get(key) : undefined
        if (hit) for (const c of hit) this.one(c, ev, out, matchedMinutes)
      }
      for (const c of this.general) this.one(c, ev, out, matchedMinutes)
    }
    // Default values: a datapoint for each minute of the batch in which the filter matched nothing.
    if (matchedMinutes && minutes)
      for (const c of this.withDefault) {
        const hit = matchedMinutes.get(c)
        for (const m of minutes)
          if (!hit?.has(m)) out.add(c.id, m, c.t.defaultValue!, c.t.unit, c.key)
      }
  }

  private one(
    c: Compiled,
    ev: { timestamp: number; input: MatchInput },
    out: MetricUpdates,
    matched: Map<Compiled, Set<number>> | undefined,
  ): void {
    if (!c.pattern.test(ev.input)) return
    const v = typeof c.value === 'number' ? c.value : numeric(c.value(ev.input))
    if (v === undefined) return
    let id = c.id
    let key = c.key
    if (c.dims.length > 0) {
      const values: string[] = []
      for (const [, read] of c.dims) {
        const d = scalar(read(ev.input))
        if (d === undefined || d === 'null') return
        values.push(d)
      }
      const joined = values.join('\u0000')
      let hit = c.dimCache.get(joined)
      if (!hit) {
        const dimensions = sortDimensions(c.dims.map(([name], k) => ({ name, value: values[k]! })))
        const did: MetricId = { ...c.id, dimensions }
        hit = { id: did, key: metricKey(did) }
        // Bounded: AWS disables a filter past 1,000 dimension combinations an hour.
        if (c.dimCache.size < 10_000) c.dimCache.set(joined, hit)
      }
      id = hit.id
      key = hit.key
    }
    out.add(id, ev.timestamp, v, c.t.unit, key)
    if (matched) {
      let s = matched.get(c)
      if (!s) matched.set(c, (s = new Set()))
      s.add(Math.floor(ev.timestamp / MINUTE) * MINUTE)
    }
  }
}

/** TestMetricFilter: which messages match, with the values the pattern extracts. */
export function testMetricFilter(
  filterPattern: string,
  messages: string[],
  input: (m: string) => MatchInput,
): { eventNumber: number; eventMessage: string; extractedValues: Record<string, string> }[] {
  const p = compilePattern(filterPattern)
  const selectors: string[] = []
  const visit = (e: unknown): void => {
    if (!e || typeof e !== 'object') return
    const o = e as { kind?: string; path?: (string | number)[]; left?: unknown; right?: unknown }
    if (o.path) {
      const sel = '$' + o.path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('')
      if (!selectors.includes(sel)) selectors.push(sel)
    }
    visit(o.left)
    visit(o.right)
  }
  if (p.pattern.kind === 'json') visit(p.pattern.expr)
  if (p.pattern.kind === 'delimited')
    p.pattern.fields
      .filter((f) => !f.ellipsis)
      .forEach((f, i) => selectors.push(`$${f.name}`, `$${i + 1}`))
  const readers = selectors.map((s) => [s, p.extractor(s)] as const)
  const out = []
  for (let i = 0; i < messages.length; i++) {
    const ev = input(messages[i]!)
    if (!p.test(ev)) continue
    const extractedValues: Record<string, string> = {}
    for (const [sel, read] of readers) {
      const v = scalar(read?.(ev))
      if (v !== undefined) extractedValues[sel] = v
    }
    out.push({ eventNumber: i + 1, eventMessage: messages[i]!, extractedValues })
  }
  return out
}
