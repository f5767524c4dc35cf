/** @module shared/clock  Injected time source, so domain and pipeline code is deterministic in tests. */
export interface Clock {
  now(): Date
}
export const systemClock: Clock = { now: () => new Date() }
