/**
 * @module notify/outbox
 * The durable outbox: every notification to send is a record in LMDB until it is delivered. A
 * failed attempt reschedules it (exponential backoff); after the last attempt it moves to the dead
 * letters, where it stays, visible and redrivable, until someone deletes or redrives it. Producers
 * (publish, alarms, the rules sink) only write here, so a slow or dead endpoint never blocks ingest.
 *
 * Records are keyed by an id the producer chooses: a producer that re-runs after a crash (the rules
 * sink re-reading a batch) writes the same ids again and so adds nothing twice. Sink checkpoints
 * live in the same environment and commit in the same transaction as the records they produced.
 */
import { mkdir } from 'node:fs/promises'
import { open as openLmdb, type Database, type RootDatabase } from 'lmdb'

export type Protocol = 'http' | 'https' | 'email' | 'email-json' | 'slack'

export interface Delivery {
  id: string
  /** The subscription delivered to; absent for a rule's direct webhook target. */
  subscriptionArn?: string
  topicArn?: string
  protocol: Protocol
  endpoint: string
  messageId: string
  subject?: string
  message: string
  /** Extra HTTP headers (a rule's webhook target). */
  headers?: Record<string, string>
  /** What produced it, for operators: `publish`, `alarm:<name>`, `rule:<name>`, `trail:<name>`. */
  origin: string
  createdAt: number
  attempts: number
  nextAttemptAt: number
  lastError?: string
  /** When it was moved to the dead letters. */
  deadAt?: number
}

export class Outbox {
  private readonly pending: Map<string, number> = new Map()
  private wake: (() => void) | undefined

  private constructor(
    private readonly root: RootDatabase,
    private readonly pendingDb: Database<Delivery, string>,
    private readonly deadDb: Database<Delivery, string>,
    private readonly metaDb: Database<number, string>,
  ) {}

  static async open(dir: string): Promise<Outbox> {
    await mkdir(dir, { recursive: true })
    const root = openLmdb({ path: dir, mapSize: 4 * 1024 ** 3 })
    const box = new Outbox(
      root,
      root.openDB<Delivery, string>({ name: 'pending' }),
      root.openDB<Delivery, string>({ name: 'dead' }),
      root.openDB<number, string>({ name: 'meta' }),
    )
    // After a restart everything pending is due at once: a restart often follows the fix
    // (an endpoint or SMTP setting), and nothing waits out a backoff planned before it.
    for (const { key } of box.pendingDb.getRange()) box.pending.set(key, 0)
    return box
  }

  /** Wakes the dispatcher when new work arrives. */
  onWork(fn: () => void): void {
    this.wake = fn
  }

  /**
   * Durably adds deliveries (existing ids are left as they are: a re-run adds nothing) and, in the
   * same transaction, sets a producer's checkpoint.
   */
  async add(items: Delivery[], checkpoint?: { name: string; seq: number }): Promise<void> {
    if (items.length === 0 && !checkpoint) return
    const added: Delivery[] = []
    await this.root.transaction(() => {
      for (const d of items) {
        if (this.pendingDb.get(d.id) !== undefined || this.deadDb.get(d.id) !== undefined) continue
        if (this.pending.has(d.id)) continue
        void this.pendingDb.put(d.id, d)
        added.push(d)
      }
      if (checkpoint) void this.metaDb.put(`checkpoint:${checkpoint.name}`, checkpoint.seq)
    })
    for (const d of added) this.pending.set(d.id, d.nextAttemptAt)
    if (added.length > 0) this.wake?.()
  }

  checkpoint(name: string): number {
    return this.metaDb.get(`checkpoint:${name}`) ?? 0
  }

  /** Ids due at `now`, oldest schedule first, at most `max`, skipping `busy`. */
  due(now: number, max: number, busy: Set<string>): Delivery[] {
    const out: Delivery[] = []
    for (const [id, at] of this.pending) {
      if (at > now || busy.has(id)) continue
      const d = this.pendingDb.get(id)
      if (!d) {
        this.pending.delete(id)
        continue
      }
      out.push(d)
      if (out.length >= max) break
    }
    return out
  }

  /** The earliest scheduled attempt, if any. */
  nextDue(busy: Set<string>): number | undefined {
    let min: number | undefined
    for (const [id, at] of this.pending) {
      if (busy.has(id)) continue
      if (min === undefined || at < min) min = at
    }
    return min
  }

  async delivered(id: string): Promise<void> {
    await this.pendingDb.remove(id)
    this.pending.delete(id)
  }

  async reschedule(d: Delivery): Promise<void> {
    await this.pendingDb.put(d.id, d)
    this.pending.set(d.id, d.nextAttemptAt)
  }

  async deadLetter(d: Delivery): Promise<void> {
    await this.root.transaction(() => {
      void this.deadDb.put(d.id, d)
      void this.pendingDb.remove(d.id)
    })
    this.pending.delete(d.id)
  }

  /** Dead letters, optionally of one subscription or topic, oldest first. */
  deadLetters(filter: { subscriptionArn?: string; topicArn?: string } = {}): Delivery[] {
    const out: Delivery[] = []
    for (const { value } of this.deadDb.getRange()) {
      if (filter.subscriptionArn && value.subscriptionArn !== filter.subscriptionArn) continue
      if (filter.topicArn && value.topicArn !== filter.topicArn) continue
      out.push(value)
    }
    return out.sort((a, b) => (a.deadAt ?? 0) - (b.deadAt ?? 0))
  }

  pendingCount(filter: { subscriptionArn?: string } = {}): number {
    if (!filter.subscriptionArn) return this.pending.size
    let n = 0
    for (const id of this.pending.keys()) {
      if (this.pendingDb.get(id)?.subscriptionArn === filter.subscriptionArn) n++
    }
    return n
  }

  /** Moves dead letters (all, or the given ids) back to pending with fresh attempts. */
  async redrive(now: number, ids?: string[]): Promise<number> {
    const chosen = ids
      ? ids.map((id) => this.deadDb.get(id)).filter((d): d is Delivery => d !== undefined)
      : this.deadLetters()
    if (chosen.length === 0) return 0
    await this.root.transaction(() => {
      for (const d of chosen) {
        const again: Delivery = { ...d, attempts: 0, nextAttemptAt: now }
        delete again.deadAt
        void this.pendingDb.put(d.id, again)
        void this.deadDb.remove(d.id)
      }
    })
    for (const d of chosen) this.pending.set(d.id, now)
    this.wake?.()
    return chosen.length
  }

  async purgeDead(ids?: string[]): Promise<number> {
    const chosen = ids ?? this.deadLetters().map((d) => d.id)
    let n = 0
    await this.root.transaction(() => {
      for (const id of chosen) {
        if (this.deadDb.get(id) === undefined) continue
        void this.deadDb.remove(id)
        n++
      }
    })
    return n
  }

  async close(): Promise<void> {
    await this.root.close()
  }
}
