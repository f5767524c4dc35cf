/**
 * @module insights/profile
 * The baseline of one series for one hour: a seasonal (hour-of-day) rate per minute learned from
 * the 5-minute buckets of the trailing baseline window, each hour shrunk towards the all-day rate,
 * as a Gamma posterior per hour of day; plus the overdispersion of 5-minute counts around it.
 * A window's count is then negative binomial: Gamma-Poisson for the rate's uncertainty, widened
 * by the measured overdispersion. Anomalous buckets (flagged) are left out.
 */
import type { DetectorParams } from './model.js'
import { BUCKET_MINUTES, type Series } from './series.js'

export interface Profile {
  /** The hour (minutes / 60) this profile serves: it uses data before this hour only. */
  hour: number
  /** Expected calls per minute by hour of day (UTC). */
  lambda: Float64Array
  /** Posterior Gamma shape by hour of day (how much evidence backs lambda). */
  alpha: Float64Array
  /** Overdispersion of 5-minute counts (0 = Poisson). */
  phi: number
  /** Calls per minute over the baseline window (AWS's baseline average). */
  baselineAverage: number
  /** Minutes of history the baseline covers (AWS's baselineDuration). */
  exposure: number
  lambdaAt(minute: number): number
}

const PER_HOUR = 60 / BUCKET_MINUTES

export function baselineProfile(
  s: Series,
  hour: number,
  firstMinute: number,
  p: DetectorParams,
): Profile {
  const end = hour * PER_HOUR // first bucket of `hour` (exclusive end)
  const begin = end - p.baselineDays * 24 * PER_HOUR
  const nH = new Float64Array(24)
  const tH = new Float64Array(24)
  let nAll = 0
  let tAll = 0
  for (let b = Math.max(begin, Math.floor(firstMinute / BUCKET_MINUTES)); b < end; b++) {
    if (s.flagged(b)) continue
    const n = s.bucket(b)
    const h = Math.floor(b / PER_HOUR) % 24
    nH[h]! += n
    tH[h]! += BUCKET_MINUTES
    nAll += n
    tAll += BUCKET_MINUTES
  }
  const rAll = tAll > 0 ? nAll / tAll : 0
  const lambda = new Float64Array(24)
  const alpha = new Float64Array(24)
  for (let h = 0; h < 24; h++) {
    const a = p.priorShape + nH[h]! + p.shrinkMinutes * rAll
    const beta = p.priorMinutes + tH[h]! + p.shrinkMinutes
    alpha[h] = a
    lambda[h] = Math.max(p.floorPerMinute, a / beta)
  }
  // Overdispersion at the window's scale, by moments: E[(n-e)^2 - n] = phi * e^2.
  let num = 0
  let den = 0
  for (let b = Math.max(begin, Math.floor(firstMinute / BUCKET_MINUTES)); b < end; b++) {
    if (s.flagged(b)) continue
    const n = s.bucket(b)
    const e = BUCKET_MINUTES * lambda[Math.floor(b / PER_HOUR) % 24]!
    num += (n - e) * (n - e) - n
    den += e * e
  }
  const phi = den > 0 ? Math.min(5, Math.max(0, num / den)) : 0
  return {
    hour,
    lambda,
    alpha,
    phi,
    baselineAverage: rAll,
    exposure: tAll,
    lambdaAt: (minute) => lambda[Math.floor(minute / 60) % 24]!,
  }
}

/** Mean and negative-binomial shape of the count in the window ending at `minute`. */
export function windowStats(
  prof: Profile,
  minute: number,
  p: DetectorParams,
): { mean: number; shape: number } {
  let mean = 0
  let minAlpha = Infinity
  for (let t = minute - p.windowMinutes + 1; t <= minute; t++) {
    const h = Math.floor(t / 60) % 24
    mean += prof.lambda[h]!
    minAlpha = Math.min(minAlpha, prof.alpha[h]!)
  }
  const shape = 1 / (1 / minAlpha + prof.phi)
  return { mean, shape }
}
