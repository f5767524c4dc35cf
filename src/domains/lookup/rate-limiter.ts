/** @module domains/lookup/rate-limiter  A token bucket per key (account/region), refilled per second. */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>()

  constructor(private readonly perSecond: number) {}

  take(key: string, nowMs: number): boolean {
    const b = this.buckets.get(key) ?? { tokens: this.perSecond, at: nowMs }
    b.tokens = Math.min(this.perSecond, b.tokens + ((nowMs - b.at) / 1000) * this.perSecond)
    b.at = nowMs
    this.buckets.set(key, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}
