/**
 * @module insights/series
 * The counts of one series (SeriesKey), by eventTime: a minute ring for the last two hours (with
 * who-called attributions per minute) and a ring of 5-minute buckets for the baseline window
 * (7 days and a margin), with a flag per bucket that excludes anomalous time from baselines.
 * Baseline attributions are forward-decayed counters (time constant = the baseline window).
 * Fixed-size typed arrays: ~20 KB per series whatever its rate.
 */

export const MINUTE_SLOTS = 128
export const BUCKET_MINUTES = 5
export const BUCKET_SLOTS = 2048 // 10,240 minutes: 7 days plus the current hour and margin
const ATTR_CAP_MINUTE = 16
const ATTR_CAP_BASELINE = 32
export const ATTRIBUTES = ['userIdentityArn', 'userAgent', 'errorCode'] as const

export type AttrCounts = [Map<string, number>, Map<string, number>, Map<string, number>]

export const newAttrs = (): AttrCounts => [
  new Map<string, number>(),
  new Map<string, number>(),
  new Map<string, number>(),
]

function bump(m: Map<string, number>, v: string, by: number, cap: number): void {
  const cur = m.get(v)
  if (cur !== undefined) {
    m.set(v, cur + by)
    return
  }
  if (m.size >= cap) {
    // Keep the heaviest values: evict the lightest when the newcomer is heavier.
    let minK: string | undefined
    let minV = Infinity
    for (const [k, c] of m) {
      if (c < minV) {
        minV = c
        minK = k
      }
    }
    if (minK === undefined || minV > by) return
    m.delete(minK)
  }
  m.set(v, by)
}

export class Series {
  readonly minTag = new Int32Array(MINUTE_SLOTS).fill(-1)
  readonly minCount = new Uint32Array(MINUTE_SLOTS)
  readonly minAttrs: (AttrCounts | undefined)[] = new Array<AttrCounts | undefined>(MINUTE_SLOTS)
  readonly bTag = new Int32Array(BUCKET_SLOTS).fill(-1)
  readonly bCount = new Uint32Array(BUCKET_SLOTS)
  readonly bFlag = new Uint8Array(BUCKET_SLOTS)
  /** Forward-decayed baseline attributions: weights e^((t - landmark)/tau). */
  baseAttrs: AttrCounts = newAttrs()
  landmark: number

  constructor(firstMinute: number) {
    this.landmark = firstMinute
  }

  /** Counts one call at `minute`; `recent` says whether the minute ring may still hold it. */
  add(minute: number, attrs: [string, string, string], baselineAttrs: boolean, tau: number): void {
    const b = Math.floor(minute / BUCKET_MINUTES)
    const bs = b % BUCKET_SLOTS
    if (this.bTag[bs] !== b) {
      if (this.bTag[bs]! > b) return // older than the ring holds
      this.bTag[bs] = b
      this.bCount[bs] = 0
      this.bFlag[bs] = 0
    }
    this.bCount[bs]! += 1
    const ms = minute % MINUTE_SLOTS
    if (this.minTag[ms] === minute) {
      this.minCount[ms]! += 1
    } else if (this.minTag[ms]! < minute) {
      this.minTag[ms] = minute
      this.minCount[ms] = 1
      this.minAttrs[ms] = undefined
    } else {
      return // only the bucket keeps a call this late
    }
    const a = (this.minAttrs[ms] ??= newAttrs())
    for (let i = 0; i < 3; i++) bump(a[i]!, attrs[i]!, 1, ATTR_CAP_MINUTE)
    if (baselineAttrs) {
      const w = Math.exp((minute - this.landmark) / tau)
      for (let i = 0; i < 3; i++) bump(this.baseAttrs[i]!, attrs[i]!, w, ATTR_CAP_BASELINE)
    }
  }

  /** Calls in `minute` (0 when the ring no longer holds it). */
  minute(minute: number): number {
    const ms = minute % MINUTE_SLOTS
    return this.minTag[ms] === minute ? this.minCount[ms]! : 0
  }

  /** The newest minute holding data. */
  newestMinute(): number {
    let max = -1
    for (const t of this.minTag) if (t > max) max = t
    return max
  }

  /** The newest 5-minute bucket holding data. */
  newestBucket(): number {
    let max = -1
    for (const t of this.bTag) if (t > max) max = t
    return max
  }

  attrsAt(minute: number): AttrCounts | undefined {
    const ms = minute % MINUTE_SLOTS
    return this.minTag[ms] === minute ? this.minAttrs[ms] : undefined
  }

  /** Calls in 5-minute bucket `b`, or undefined when the ring holds no data for it. */
  bucket(b: number): number {
    const bs = b % BUCKET_SLOTS
    return this.bTag[bs] === b ? this.bCount[bs]! : 0
  }

  flagged(b: number): boolean {
    const bs = b % BUCKET_SLOTS
    return this.bTag[bs] === b && this.bFlag[bs] === 1
  }

  /** Excludes bucket `b` from baselines (anomalous time). */
  flag(b: number): void {
    const bs = b % BUCKET_SLOTS
    if (this.bTag[bs] !== b) {
      if (this.bTag[bs]! > b) return
      this.bTag[bs] = b
      this.bCount[bs] = 0
    }
    this.bFlag[bs] = 1
  }

  unflag(b: number): void {
    const bs = b % BUCKET_SLOTS
    if (this.bTag[bs] === b) this.bFlag[bs] = 0
  }

  /** Takes calls that turned out to be anomalous back out of the baseline attributions. */
  unbaseline(i: number, value: string, count: number, minute: number, tau: number): void {
    const m = this.baseAttrs[i]!
    const cur = m.get(value)
    if (cur === undefined) return
    const left = cur - count * Math.exp((minute - this.landmark) / tau)
    if (left <= 1e-9 * Math.max(1, cur)) m.delete(value)
    else m.set(value, left)
  }

  /** Baseline attribution averages per minute at `now`, over `exposure` decayed minutes. */
  baselineAverages(i: number, now: number, tau: number, exposure: number): [string, number][] {
    const scale = Math.exp((this.landmark - now) / tau)
    return [...this.baseAttrs[i]!].map(([v, w]) => [v, (w * scale) / Math.max(exposure, 1)])
  }

  /** Moves the decay landmark forward so weights stay in range (about every 40 time constants). */
  rebase(now: number, tau: number): void {
    if ((now - this.landmark) / tau < 40) return
    const scale = Math.exp((this.landmark - now) / tau)
    for (const m of this.baseAttrs) for (const [k, w] of m) m.set(k, w * scale)
    this.landmark = now
  }

  toJSON(): Record<string, unknown> {
    const b64 = (a: ArrayBufferView) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
    return {
      minTag: b64(this.minTag),
      minCount: b64(this.minCount),
      minAttrs: this.minAttrs.map((a) => (a ? a.map((m) => [...m]) : null)),
      bTag: b64(this.bTag),
      bCount: b64(this.bCount),
      bFlag: b64(this.bFlag),
      baseAttrs: this.baseAttrs.map((m) => [...m]),
      landmark: this.landmark,
    }
  }

  static fromJSON(j: Record<string, unknown>): Series {
    const s = new Series(j['landmark'] as number)
    const copy = (dst: Int32Array | Uint32Array | Uint8Array, src: unknown) => {
      const buf = Buffer.from(src as string, 'base64')
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf)
    }
    copy(s.minTag, j['minTag'])
    copy(s.minCount, j['minCount'])
    copy(s.bTag, j['bTag'])
    copy(s.bCount, j['bCount'])
    copy(s.bFlag, j['bFlag'])
    const ma = j['minAttrs'] as ([string, number][][] | null)[]
    ma.forEach((a, i) => {
      if (a) s.minAttrs[i] = a.map((e) => new Map(e)) as AttrCounts
    })
    s.baseAttrs = (j['baseAttrs'] as [string, number][][]).map((e) => new Map(e)) as AttrCounts
    return s
  }
}
