/**
 * @module insights/testing/synthetic
 * Synthetic CloudTrail streams with known answers, for the detector's tests and the replay bench:
 * Poisson background per API (steady, with a daily cycle, or sparse) and injected bursts of calls
 * or of errors. Seeded, so every run is the same.
 */
import type { CloudTrailRecord } from '../../events/record.js'

export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function poisson(rand: () => number, mean: number): number {
  if (mean <= 0) return 0
  if (mean > 50) {
    // Normal approximation for large means (fast, good enough for background traffic).
    const u = 1 - rand()
    const v = rand()
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z))
  }
  const l = Math.exp(-mean)
  let k = 0
  let p = 1
  do {
    k++
    p *= rand()
  } while (p > l)
  return k - 1
}

export interface ApiSpec {
  eventSource: string
  eventName: string
  /** Calls per minute (at the daily peak when `dailyCycle` is set). */
  rate: number
  readOnly?: boolean
  /** Share of calls that fail, and with which code. */
  errorRate?: number
  errorCode?: string
  /** Night rate = rate * nightFactor, between 20:00 and 08:00 UTC. */
  dailyCycle?: { nightFactor: number }
  user?: string
}

export interface Burst {
  eventSource: string
  eventName: string
  /** Minutes since the stream's start. */
  startMinute: number
  minutes: number
  /** Extra calls per minute during the burst. */
  rate: number
  readOnly?: boolean
  errorCode?: string
  user?: string
  userAgent?: string
}

export interface Scenario {
  accountId: string
  region: string
  start: Date
  minutes: number
  apis: ApiSpec[]
  bursts: Burst[]
  seed: number
}

export function record(
  o: {
    accountId: string
    region: string
    time: number
    eventSource: string
    eventName: string
    readOnly: boolean
    errorCode?: string
    user?: string
    userAgent?: string
  },
  n: number,
): CloudTrailRecord {
  const user = o.user ?? 'app'
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'IAMUser',
      arn: `arn:aws:iam::${o.accountId}:user/${user}`,
      accountId: o.accountId,
      userName: user,
    },
    eventTime: new Date(o.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: o.eventSource,
    eventName: o.eventName,
    awsRegion: o.region,
    sourceIPAddress: '10.0.0.1',
    userAgent: o.userAgent ?? 'aws-sdk-js/3',
    ...(o.errorCode ? { errorCode: o.errorCode, errorMessage: 'denied' } : {}),
    requestParameters: null,
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    readOnly: o.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: o.accountId,
    eventCategory: 'Management',
  }
}

/** The records of a scenario, in eventTime order. */
export function* generate(s: Scenario): Generator<CloudTrailRecord> {
  const rand = rng(s.seed)
  const t0 = Math.floor(s.start.getTime() / 60_000) * 60_000
  let n = 0
  for (let m = 0; m < s.minutes; m++) {
    const minuteMs = t0 + m * 60_000
    const hour = new Date(minuteMs).getUTCHours()
    const batch: CloudTrailRecord[] = []
    for (const a of s.apis) {
      const night = hour < 8 || hour >= 20
      const rate = a.dailyCycle && night ? a.rate * a.dailyCycle.nightFactor : a.rate
      const calls = poisson(rand, rate)
      for (let i = 0; i < calls; i++) {
        const fails = a.errorRate !== undefined && rand() < a.errorRate
        batch.push(
          record(
            {
              accountId: s.accountId,
              region: s.region,
              time: minuteMs + Math.floor(rand() * 60_000),
              eventSource: a.eventSource,
              eventName: a.eventName,
              readOnly: a.readOnly ?? false,
              ...(fails ? { errorCode: a.errorCode ?? 'AccessDenied' } : {}),
              ...(a.user ? { user: a.user } : {}),
            },
            n++,
          ),
        )
      }
    }
    for (const b of s.bursts) {
      if (m < b.startMinute || m >= b.startMinute + b.minutes) continue
      const calls = poisson(rand, b.rate)
      for (let i = 0; i < calls; i++) {
        batch.push(
          record(
            {
              accountId: s.accountId,
              region: s.region,
              time: minuteMs + Math.floor(rand() * 60_000),
              eventSource: b.eventSource,
              eventName: b.eventName,
              readOnly: b.readOnly ?? false,
              ...(b.errorCode ? { errorCode: b.errorCode } : {}),
              user: b.user ?? 'intruder',
              userAgent: b.userAgent ?? 'attack-tool/1.0',
            },
            n++,
          ),
        )
      }
    }
    batch.sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0))
    yield* batch
  }
}
