/**
 * @module notify/dispatcher
 * Sends what is due in the outbox, a bounded number at a time. A failed attempt is retried after
 * `baseDelayMs * 2^(attempts-1)` (capped at `maxDelayMs`, with ±20% jitter); after `maxAttempts`
 * the delivery becomes a dead letter. Runs beside the pipeline, never inside it.
 */
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import type { Delivery, Outbox } from './outbox.js'
import type { SendContext } from './transports.js'

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 60_000 }

export function backoffMs(policy: RetryPolicy, attempts: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.8 + 0.4 * random()))
}

export class Dispatcher {
  private readonly busy = new Set<string>()
  private running = false
  private timer: NodeJS.Timeout | undefined
  private idle: Promise<void> = Promise.resolve()
  private inflight = new Set<Promise<void>>()
  /** Called after every attempt (tests, metrics). */
  onAttempt?: (d: Delivery, error?: string) => void

  constructor(
    private readonly o: {
      outbox: Outbox
      send: (d: Delivery, ctx: SendContext) => Promise<void>
      /** The secret of a subscription, or undefined when it no longer exists (then: dropped). */
      subscription: (arn: string) => { secret?: string } | undefined
      clock: Clock
      logger: Logger
      retry: RetryPolicy
      concurrency: number
    },
  ) {
    o.outbox.onWork(() => this.kick())
  }

  start(): void {
    this.running = true
    this.kick()
  }

  private kick(): void {
    if (!this.running) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), 0)
  }

  private tick(): void {
    this.timer = undefined
    if (!this.running) return
    const now = this.o.clock.now().getTime()
    const free = this.o.concurrency - this.busy.size
    if (free > 0) {
      for (const d of this.o.outbox.due(now, free, this.busy)) {
        this.busy.add(d.id)
        const p = this.attempt(d).finally(() => {
          this.busy.delete(d.id)
          this.inflight.delete(p)
          this.kick()
        })
        this.inflight.add(p)
      }
    }
    const next = this.o.outbox.nextDue(this.busy)
    if (next !== undefined && this.busy.size < this.o.concurrency) {
      const wait = Math.max(10, Math.min(next - now, 1000))
      this.timer = setTimeout(() => this.tick(), wait)
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    let sub: { secret?: string } | undefined
    if (d.subscriptionArn) {
      sub = this.o.subscription(d.subscriptionArn)
      if (!sub) {
        // Unsubscribed since: SNS drops what it has not delivered to a deleted subscription.
        await this.o.outbox.delivered(d.id)
        return
      }
    }
    const nowMs = this.o.clock.now().getTime()
    try {
      await this.o.send(d, { secret: sub?.secret, nowSeconds: Math.floor(nowMs / 1000) })
      await this.o.outbox.delivered(d.id)
      this.onAttempt?.(d)
    } catch (err) {
      const message = (err as Error).message
      const attempts = d.attempts + 1
      const after = this.o.clock.now().getTime()
      if (attempts >= this.o.retry.maxAttempts) {
        await this.o.outbox.deadLetter({ ...d, attempts, lastError: message, deadAt: after })
        this.o.logger.warn(
          { id: d.id, endpoint: redact(d.endpoint), attempts, err: message },
          'Notification undeliverable; kept as a dead letter.',
        )
      } else {
        await this.o.outbox.reschedule({
          ...d,
          attempts,
          lastError: message,
          nextAttemptAt: after + backoffMs(this.o.retry, attempts),
        })
      }
      this.onAttempt?.(d, message)
    }
  }

  async stop(): Promise<void> {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    await Promise.allSettled([...this.inflight])
    await this.idle
  }
}

/** Webhook URLs carry secrets (Slack's do): log the origin only. */
export function redact(endpoint: string): string {
  try {
    const u = new URL(endpoint)
    return `${u.protocol}//${u.host}/…`
  } catch {
    return endpoint.replace(/^[^@]*/, '…')
  }
}
