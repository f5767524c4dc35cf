/**
 * @module insights/detector
 * The Insights detector: counts management calls (ApiCallRateInsight: write calls; ApiErrorRateInsight:
 * calls with an error code, per code) by eventTime minute, and tests each 5-minute window against a
 * seasonal baseline with a negative-binomial tail (docs/insights.md). Start is decided eagerly, on
 * the event that makes a window significant; End with hysteresis, on closed windows only. Pure and
 * clock-free: time comes from events, and from `advance(minute)` for live streams.
 */
import type { CloudTrailRecord } from '../events/record.js'
import {
  DEFAULT_PARAMS,
  keyString,
  parseKey,
  ruleFor,
  sourceOfKey,
  type Anomaly,
  type Attribution,
  type DetectorParams,
  type InsightsSettings,
  type SeriesKey,
  type SeriesPoint,
} from './model.js'
import { baselineProfile, windowStats, type Profile } from './profile.js'
import { ATTRIBUTES, newAttrs, Series, type AttrCounts } from './series.js'
import { nbLog10UpperTail, nbUpperBand } from './stats.js'
import type { DetectorOptions, KeyState, Open, Stream, Transition } from './detector-state.js'

export type { DetectorOptions, Transition } from './detector-state.js'
import { insightTypesOf } from './counted.js'

export { insightTypesOf }

const minuteOf = (ms: number) => Math.floor(ms / 60_000)
export const minuteIso = (m: number) => new Date(m * 60_000).toISOString().replace('.000Z', 'Z')

export class Detector {
  readonly params: DetectorParams
  settings: InsightsSettings
  private readonly keys = new Map<string, KeyState>()
  private readonly streams = new Map<string, Stream>()
  private closed: Anomaly[] = []
  /** Counters for the bench and health. */
  readonly stats = { events: 0, counted: 0, tooOld: 0 }

  constructor(private readonly o: DetectorOptions) {
    this.params = { ...DEFAULT_PARAMS, ...o.params }
    this.settings = o.settings ?? { params: {}, rules: [] }
  }

  get tau(): number {
    return this.params.baselineDays * 1440
  }

  seriesCount(): number {
    return this.keys.size
  }

  /**
   * Counts one record in each of the `sources` that see it ('' = the account's view, which is
   * always counted; an event data store's ARN for the stores the record is routed to); returns the
   * anomalies it starts or (by advancing time) ends.
   */
  observe(r: CloudTrailRecord, sources: readonly string[] = ['']): Transition[] {
    this.stats.events++
    const kinds = insightTypesOf(r)
    if (kinds.length === 0) return []
    const t = Date.parse(r.eventTime)
    if (Number.isNaN(t)) return []
    const out: Transition[] = []
    for (const source of sources) out.push(...this.observeIn(r, kinds, minuteOf(t), source))
    return out
  }

  /**
   * Counts a record in one source's view. Each account, region and source is its own stream:
   * its own warm-up, detection horizon and clock (an event data store's Insights start from the
   * calls it saw after Insights were turned on on it).
   */
  private observeIn(
    r: CloudTrailRecord,
    kinds: ReturnType<typeof insightTypesOf>,
    minute: number,
    source: string,
  ): Transition[] {
    const accountId = r.recipientAccountId || r.userIdentity?.accountId || ''
    const sid = source ? `${accountId}\t${r.awsRegion}\t${source}` : `${accountId}\t${r.awsRegion}`
    let st = this.streams.get(sid)
    if (!st) this.streams.set(sid, (st = { first: minute, head: minute, open: new Set() }))
    if (minute < st.head - this.tau) {
      this.stats.tooOld++
      return []
    }
    this.stats.counted++
    const out: Transition[] = []
    const attrs: [string, string, string] = [
      r.userIdentity?.arn ?? r.userIdentity?.invokedBy ?? r.userIdentity?.type ?? '',
      r.userAgent ?? '',
      r.errorCode ?? 'null',
    ]
    const advanced = minute > st.head
    if (minute < st.first) st.first = minute
    if (advanced) st.head = minute
    for (const { type, errorCode, category } of kinds) {
      const key: SeriesKey = {
        accountId,
        region: r.awsRegion,
        eventSource: r.eventSource,
        eventName: r.eventName,
        insightType: type,
        errorCode,
        ...(category !== 'Management' ? { eventCategory: category } : {}),
        ...(source ? { source } : {}),
      }
      const ks = keyString(key)
      let k = this.keys.get(ks)
      if (!k) {
        k = { key, ks, stream: sid, series: new Series(minute), last: minute }
        this.keys.set(ks, k)
      }
      if (minute > k.last) k.last = minute
      const inAnomaly = k.open !== undefined && minute >= k.open.startMinute
      k.series.add(minute, attrs, !inAnomaly, this.tau)
      if (k.profile && minute < k.profile.hour * 60) k.profile = undefined
      if (inAnomaly) {
        k.open!.total++
        for (let i = 0; i < 3; i++) bumpAttr(k.open!.attrs[i]!, attrs[i]!)
      } else if (
        !k.open &&
        minute >= st.head - this.params.detectionHorizonMinutes &&
        minute > (k.doneThrough ?? -Infinity)
      ) {
        const started = this.checkStart(k, st, minute)
        if (started) out.push(started)
      }
    }
    if (advanced) out.push(...this.closeThrough(sid, st, st.head - this.params.latenessMinutes))
    return out
  }

  /**
   * Forgets series without calls in the baseline window before their stream's newest event (their
   * baseline is empty anyway): memory follows the APIs in use, not every API ever seen.
   */
  prune(): number {
    let dropped = 0
    for (const [ks, k] of this.keys) {
      const st = this.streams.get(k.stream)!
      if (k.open || k.last >= st.head - this.tau) continue
      this.keys.delete(ks)
      dropped++
    }
    return dropped
  }

  /**
   * Forgets an event data store's view (its Insights were turned off): its series, streams and open
   * anomalies go without End events, so turning Insights on again starts a fresh baseline.
   */
  forgetSource(source: string): number {
    if (!source) return 0
    let dropped = 0
    for (const [ks, k] of this.keys) {
      if (sourceOfKey(k.key) !== source) continue
      this.keys.delete(ks)
      dropped++
    }
    for (const sid of [...this.streams.keys()]) {
      if (sid.split('\t')[2] === source) this.streams.delete(sid)
    }
    return dropped
  }

  /** Lets wall-clock time close windows of live streams (those with events in the horizon). */
  advance(nowMinute: number): Transition[] {
    const out: Transition[] = []
    for (const [sid, st] of this.streams) {
      if (st.open.size === 0) continue
      if (st.head < nowMinute - this.params.detectionHorizonMinutes) continue
      out.push(...this.closeThrough(sid, st, nowMinute - 1 - this.params.latenessMinutes))
    }
    return out
  }

  private paramsFor(k: KeyState): { score: number; minCount: number; excluded: boolean } {
    const rule = ruleFor(this.settings.rules, k.key)
    return {
      score: rule?.score ?? this.settings.params.score ?? this.params.score,
      minCount: rule?.minCount ?? this.settings.params.minCount ?? this.params.minCount,
      excluded: rule?.excluded ?? false,
    }
  }

  private profileFor(k: KeyState, st: Stream, minute: number): Profile {
    const hour = Math.floor(minute / 60)
    if (k.profile?.hour !== hour) k.profile = baselineProfile(k.series, hour, st.first, this.params)
    return k.profile
  }

  private windowCount(k: KeyState, minute: number): number {
    let n = 0
    for (let t = minute - this.params.windowMinutes + 1; t <= minute; t++) n += k.series.minute(t)
    return n
  }

  private checkStart(k: KeyState, st: Stream, minute: number): Transition | undefined {
    const warmup = this.settings.params.warmupMinutes ?? this.params.warmupMinutes
    if (minute - st.first < warmup) return undefined
    const p = this.paramsFor(k)
    if (p.excluded) return undefined
    const count = this.windowCount(k, minute)
    if (count < p.minCount) return undefined
    if (k.band?.minute !== minute) {
      const w = windowStats(this.profileFor(k, st, minute), minute, this.params)
      k.band = { minute, count: nbUpperBand(w.mean, w.shape, p.score) }
    }
    if (count < k.band.count) return undefined
    return this.start(k, st, minute, count)
  }

  private start(k: KeyState, st: Stream, minute: number, count: number): Transition {
    const prof = this.profileFor(k, st, minute)
    const w = windowStats(prof, minute, this.params)
    const score = -nbLog10UpperTail(count, w.mean, w.shape)
    let startMinute = minute
    for (let t = minute - this.params.windowMinutes + 1; t <= minute; t++) {
      if (k.series.minute(t) > prof.lambdaAt(t)) {
        startMinute = t
        break
      }
    }
    let total = 0
    const attrs: AttrCounts = newAttrs()
    for (let t = startMinute; t <= minute; t++) {
      total += k.series.minute(t)
      const a = k.series.attrsAt(t)
      if (!a) continue
      for (let i = 0; i < 3; i++) {
        for (const [v, c] of a[i]!) {
          bumpAttr(attrs[i]!, v, c)
          k.series.unbaseline(i, v, c, t, this.tau)
        }
      }
    }
    for (let b = Math.floor(startMinute / 5); b <= Math.floor(minute / 5); b++) k.series.flag(b)
    const minutes = minute - startMinute + 1
    const id = this.o.newId()
    const anomaly: Anomaly = {
      id,
      key: k.key,
      state: 'open',
      startTime: minuteIso(startMinute),
      detectedAt: minuteIso(minute),
      windowCount: count,
      score: round(score, 2),
      baselineAverage: prof.baselineAverage,
      startAverage: total / minutes,
      insightDuration: minutes,
      baselineDuration: prof.exposure,
      attributions: [],
      startEventId: this.o.newId(),
      emitted: this.o.enabled?.(k.key) ?? true,
      series: [],
    }
    const open: Open = {
      anomaly,
      startMinute,
      detectMinute: minute,
      lastEval: minute,
      total,
      lastExcess: minute,
      attrs,
    }
    anomaly.attributions = this.attributions(k, open, minute, prof)
    anomaly.series = this.series(k, st, startMinute - 30, minute)
    k.open = open
    st.open.add(k.ks)
    return { state: 'Start', anomaly: structuredClone(anomaly) }
  }

  private closeThrough(sid: string, st: Stream, closed: number): Transition[] {
    const out: Transition[] = []
    for (const ks of [...st.open]) {
      const k = this.keys.get(ks)!
      const o = k.open!
      for (let m = o.lastEval + 1; m <= closed; m++) {
        o.lastEval = m
        const prof = this.profileFor(k, st, m)
        if (k.series.minute(m) > prof.lambdaAt(m)) o.lastExcess = m
        const w = windowStats(prof, m, this.params)
        const score = -nbLog10UpperTail(this.windowCount(k, m), w.mean, w.shape)
        const endScore = this.settings.params.endScore ?? this.params.endScore
        const tooLong = m - o.startMinute >= this.params.maxDurationMinutes
        if (score < endScore || tooLong) {
          out.push(this.end(k, st, o, tooLong))
          break
        }
        k.series.flag(Math.floor(m / 5))
      }
    }
    void sid
    return out
  }

  private end(k: KeyState, st: Stream, o: Open, tooLong: boolean): Transition {
    const endMinute = Math.max(o.startMinute + 1, o.lastExcess + 1)
    const a = o.anomaly
    const duration = endMinute - o.startMinute
    a.state = 'closed'
    a.endTime = minuteIso(endMinute)
    a.insightDuration = duration
    a.insightAverage = o.total / duration
    const prof = this.profileFor(k, st, o.lastEval)
    a.endAttributions = this.attributions(k, o, endMinute - 1, prof)
    a.endEventId = this.o.newId()
    a.series = this.series(k, st, o.startMinute - 30, Math.min(o.lastEval, endMinute + 30))
    if (tooLong) {
      for (let b = Math.floor(o.startMinute / 5); b <= Math.floor(o.lastEval / 5); b++)
        k.series.unflag(b)
      k.profile = undefined
    }
    k.open = undefined
    k.doneThrough = o.lastEval
    st.open.delete(k.ks)
    this.closed.push(a)
    const keep = this.o.keepClosed ?? 1000
    if (this.closed.length > keep) this.closed.splice(0, this.closed.length - keep)
    return { state: 'End', anomaly: structuredClone(a) }
  }

  private attributions(k: KeyState, o: Open, through: number, prof: Profile): Attribution[] {
    const minutes = Math.max(1, through - o.startMinute + 1)
    const exposure = this.tau * (1 - Math.exp(-Math.max(prof.exposure, 1) / this.tau))
    k.series.rebase(through, this.tau)
    return ATTRIBUTES.map((attribute, i) => ({
      attribute,
      insight: top(
        [...o.attrs[i]!].map(([v, c]) => [v, c / minutes]),
        5,
      ),
      baseline: top(k.series.baselineAverages(i, o.startMinute, this.tau, exposure), 5),
    }))
  }

  /** The per-minute counts and baseline band of a series, `from`..`to` (minutes, at most 2 h back). */
  private series(k: KeyState, st: Stream, from: number, to: number): SeriesPoint[] {
    const p = this.paramsFor(k)
    const out: SeriesPoint[] = []
    for (let m = Math.max(from, to - 120); m <= to; m++) {
      const prof = this.profileFor(k, st, m)
      const w = windowStats(prof, m, this.params)
      const band = nbUpperBand(w.mean, w.shape, p.score)
      out.push({
        minute: minuteIso(m),
        count: k.series.minute(m),
        expected: round(prof.lambdaAt(m), 6),
        upper: round(band / this.params.windowMinutes, 4),
      })
    }
    return out
  }

  /**
   * Counts of a series per `period` minutes (1, 5 or 60) for periods starting in [from, to),
   * minutes since the epoch: 1-minute data for the last ~2 hours of the series, 5- and 60-minute
   * data for the baseline window (7 days). Periods with no data kept are left out.
   */
  metricData(key: SeriesKey, from: number, to: number, period: 1 | 5 | 60): [number, number][] {
    const k = this.keys.get(keyString(key))
    if (!k) return []
    const out: [number, number][] = []
    const s = k.series
    // What the rings still answer for (later periods had no calls, so they count 0).
    const oldest = period === 1 ? s.newestMinute() - 127 : (s.newestBucket() - 2047) * 5
    for (let m = Math.ceil(Math.max(from, oldest) / period) * period; m < to; m += period) {
      if (period === 1) {
        out.push([m, s.minute(m)])
        continue
      }
      let n = 0
      for (let b = m / 5; b < (m + period) / 5; b++) n += s.bucket(b)
      out.push([m, n])
    }
    return out
  }

  /** Open anomalies, then closed ones, newest first. */
  anomalies(): Anomaly[] {
    const open = [...this.keys.values()]
      .filter((k) => k.open)
      .map((k) => ({ ...k.open!.anomaly, series: this.liveSeries(k) }))
    return [...open, ...[...this.closed].reverse()].sort((a, b) =>
      a.startTime < b.startTime ? 1 : a.startTime > b.startTime ? -1 : 0,
    )
  }

  private liveSeries(k: KeyState): SeriesPoint[] {
    const st = this.streams.get(k.stream)!
    const o = k.open!
    return this.series(k, st, o.startMinute - 30, Math.max(o.lastEval, o.detectMinute))
  }

  // ---- persistence ----

  toJSON(): Record<string, unknown> {
    return {
      streams: [...this.streams].map(([sid, s]) => [sid, s.first, s.head, [...s.open]]),
      keys: [...this.keys.values()].map((k) => ({
        ks: k.ks,
        stream: k.stream,
        series: k.series.toJSON(),
        doneThrough: k.doneThrough,
        last: k.last,
        open: k.open ? { ...k.open, attrs: k.open.attrs.map((m) => [...m]) } : undefined,
      })),
      closed: this.closed,
      settings: this.settings,
      stats: this.stats,
    }
  }

  restore(j: Record<string, unknown>): void {
    this.streams.clear()
    this.keys.clear()
    for (const [sid, first, head, open] of j['streams'] as [string, number, number, string[]][])
      this.streams.set(sid, { first, head, open: new Set(open) })
    for (const e of j['keys'] as Record<string, unknown>[]) {
      const ks = e['ks'] as string
      const open = e['open'] as (Omit<Open, 'attrs'> & { attrs: [string, number][][] }) | undefined
      this.keys.set(ks, {
        key: parseKey(ks),
        ks,
        stream: e['stream'] as string,
        last: (e['last'] as number | undefined) ?? 0,
        series: Series.fromJSON(e['series'] as Record<string, unknown>),
        ...(typeof e['doneThrough'] === 'number' ? { doneThrough: e['doneThrough'] } : {}),
        ...(open
          ? { open: { ...open, attrs: open.attrs.map((m) => new Map(m)) as AttrCounts } }
          : {}),
      })
    }
    this.closed = j['closed'] as Anomaly[]
    this.settings = j['settings'] as InsightsSettings
    Object.assign(this.stats, j['stats'])
  }
}

function bumpAttr(m: Map<string, number>, v: string, by = 1): void {
  m.set(v, (m.get(v) ?? 0) + by)
  if (m.size > 256) {
    const lightest = [...m].sort((a, b) => a[1] - b[1]).slice(0, 128)
    for (const [key] of lightest) m.delete(key)
  }
}

function top(entries: [string, number][], n: number) {
  return entries
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([value, average]) => ({ value, average: round(average, 10) }))
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
