/**
 * @module insights/stats
 * The negative-binomial tail the detector tests windows with. Pure numeric code (log-gamma by
 * Lanczos, an upper-tail sum in log space), so very small p-values do not underflow to zero.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = LANCZOS[0]!
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** ln P(X = k) for X ~ NegBin with mean `mean` and shape `r` (variance mean + mean²/r). */
export function nbLogPmf(k: number, mean: number, r: number): number {
  const p = r / (r + mean) // probability of "failure" in the Gamma-Poisson mixture
  return logGamma(k + r) - logGamma(r) - logGamma(k + 1) + r * Math.log(p) + k * Math.log1p(-p)
}

/**
 * log10 P(X ≥ k) for X ~ NegBin(mean, r). Returns 0 (p = 1) when k does not exceed the mean: the
 * detector only asks about the upper tail. Terms above k shrink by the factor (x+r)/(x+1)·(1-p),
 * which is below 1 from k > mean on, so the sum stops once terms are negligible.
 */
export function nbLog10UpperTail(k: number, mean: number, r: number): number {
  if (k <= 0 || k <= mean) return 0
  if (mean <= 0) return -Infinity
  const q = mean / (r + mean)
  let logTerm = nbLogPmf(k, mean, r)
  let sum = 1 // relative to the first term
  let rel = 1
  for (let x = k; x < k + 100_000; x++) {
    rel *= ((x + r) / (x + 1)) * q
    sum += rel
    if (rel < 1e-12 * sum) break
  }
  logTerm += Math.log(sum)
  return Math.min(0, logTerm / Math.LN10)
}

/**
 * The smallest count c with P(X ≥ c) ≤ 10^-score: the top of the baseline band for a window. Found
 * by doubling then bisection on the monotone tail.
 */
export function nbUpperBand(mean: number, r: number, score: number): number {
  let hi = Math.max(1, Math.ceil(mean) + 1)
  while (-nbLog10UpperTail(hi, mean, r) < score) {
    hi *= 2
    if (hi > 1e9) return hi
  }
  let lo = Math.max(0, Math.floor(mean))
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (-nbLog10UpperTail(mid, mean, r) >= score) hi = mid
    else lo = mid
  }
  return hi
}
