/**
 * @module rules/sink
 * The pipeline sink that evaluates event rules. Each record becomes an EventBridge event; every
 * live rule that matches sends it to its targets by writing deliveries to the notification outbox,
 * in the same LMDB transaction as the sink's checkpoint. Delivery ids are derived from the log
 * sequence, rule and target, so re-reading a batch after a crash adds nothing twice.
 */
import type { LogEntry } from '../pipeline/event-log.js'
import type { Sink } from '../pipeline/sink.js'
import type { Delivery, Outbox } from '../notify/outbox.js'
import { parseTopicArn, stableId, type NotifyService } from '../notify/service.js'
import { envelopeOf, type EventBridgeEvent } from './envelope.js'
import { valueAt } from './pattern.js'
import type { Rule, RulesService, RuleTarget } from './service.js'

const CHECKPOINT = 'rules'

export interface RuleMatch {
  seq: number
  rule: Rule
  event: EventBridgeEvent
}

export class RulesSink implements Sink {
  readonly name = 'event-rules'
  /** Counts since start (health, benchmarks). */
  readonly stats = { events: 0, matches: 0, deliveries: 0, skippedTargets: 0 }
  /** Called for every match (tests, the packs replay). */
  onMatch?: (m: RuleMatch) => void

  constructor(
    private readonly o: {
      rules: RulesService
      notify: NotifyService
      outbox: Outbox
      /** The log's next sequence number: where a sink that never ran starts (no replay of history). */
      head: () => number
    },
  ) {}

  accepts(): boolean {
    return true
  }

  async checkpoint(): Promise<number> {
    const saved = this.o.outbox.checkpoint(CHECKPOINT)
    if (saved > 0) return saved
    const head = this.o.head()
    if (head > 0) await this.o.outbox.add([], { name: CHECKPOINT, seq: head })
    return head
  }

  async write(entries: LogEntry[], upTo: number): Promise<void> {
    const deliveries: Delivery[] = []
    const rules = this.o.rules
    if (rules.liveCount > 0) {
      for (const e of entries) {
        const event = envelopeOf(e.record)
        const matched = rules.match(event, event.account)
        if (matched.length === 0) continue
        for (const { rule } of matched) {
          this.stats.matches++
          this.onMatch?.({ seq: e.seq, rule, event })
          for (const t of rule.targets) this.deliver(e.seq, rule, t, event, deliveries)
        }
      }
    }
    this.stats.events += entries.length
    this.stats.deliveries += deliveries.length
    await this.o.outbox.add(deliveries, { name: CHECKPOINT, seq: upTo })
  }

  private deliver(
    seq: number,
    rule: Rule,
    t: RuleTarget,
    event: EventBridgeEvent,
    out: Delivery[],
  ): void {
    const key = `rule:${seq}:${rule.arn}:${t.Id}`
    const id = stableId(key)
    const message = payload(t, { ...event, id })
    const now = Date.now()
    if (parseTopicArn(t.Arn)) {
      if (!this.o.notify.topic(t.Arn)) {
        this.stats.skippedTargets++
        return
      }
      out.push(
        ...this.o.notify.deliveriesFor({
          topicArn: t.Arn,
          message,
          origin: `rule:${rule.name}`,
          messageId: id,
          idKey: key,
        }).deliveries,
      )
      return
    }
    const url = new URL(t.Arn)
    out.push({
      id: key,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      endpoint: t.Arn,
      messageId: id,
      message,
      ...(t.HttpParameters?.HeaderParameters ? { headers: t.HttpParameters.HeaderParameters } : {}),
      origin: `rule:${rule.name}`,
      createdAt: now,
      attempts: 0,
      nextAttemptAt: now,
    })
  }
}

/** What a target receives: its constant Input, the part of the event at InputPath, or the event. */
export function payload(t: RuleTarget, event: EventBridgeEvent): string {
  if (t.Input !== undefined) return t.Input
  if (t.InputPath !== undefined) {
    const path = t.InputPath.replace(/^\$\.?/, '')
    const v = path === '' ? event : valueAt(event, path)
    return JSON.stringify(v ?? null)
  }
  return JSON.stringify(event)
}
