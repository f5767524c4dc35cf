/**
 * @module monitoring/service
 * MonitoringService: the monitoring domain's one entry point, in domain terms (camelCase; the
 * CloudWatch and CloudWatch Logs handlers map the wire). It holds the metric filters
 * (metric-filter-registry.ts), the metric store and its operations (metric-queries.ts) and the
 * alarms (alarm-registry.ts), and decides when alarms are evaluated.
 *
 * It is the log service's ingest hook: a batch of log events is run through the group's compiled
 * metric filters before the write transaction, the datapoints commit with the events, and after the
 * commit the alarms on the touched metrics are evaluated at once. A timer re-evaluates every alarm
 * so that time passing (periods ending, missing data) changes states too. Every state transition is
 * recorded in the alarm history and handed to the injected `Notifier` (the notify domain).
 *
 * `putMetricFilter` and `putMetricAlarm` are plain methods for in-process callers (security packs).
 */
import type { RootDatabase } from 'lmdb'
import type { LogGroup } from '../domains/logs/model.js'
import type { IngestEffect, IngestEvent, IngestHook } from '../domains/logs/service.js'
import { noopNotifier, type Notifier } from '../notify/port.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { AlarmRegistry } from './alarm-registry.js'
import {
  type Alarm,
  type AlarmConfig,
  type AlarmState,
  evaluate,
  type Evaluation,
  InvalidParameterValue,
  ResourceNotFound,
} from './alarms.js'
import { MetricFilterRegistry } from './metric-filter-registry.js'
import {
  listMetrics,
  type ListMetricsQuery,
  type MetricDatum,
  metricDataUpdates,
  metricStatistics,
  type StatisticsQuery,
} from './metric-queries.js'
import { MetricStore, MetricUpdates } from './metric-store.js'

export interface Scope {
  accountId: string
  region: string
}

/** How a metric filter reaches its log group (the logs domain). */
export interface GroupLookup {
  findGroup(ref: Scope & { name: string }): LogGroup | undefined
}

export interface MonitoringOptions {
  env: RootDatabase
  groups: GroupLookup
  clock: Clock
  logger: Logger
  notifier?: Notifier
  /** Seconds between evaluations of every alarm (default 10). */
  evaluationIntervalSeconds?: number
}

const HISTORY_DAYS = 30
const METRIC_DAYS = 15

export class MonitoringService implements IngestHook {
  readonly metrics: MetricStore
  private readonly filters: MetricFilterRegistry
  private readonly alarms: AlarmRegistry
  private notifier: Notifier
  private timer: NodeJS.Timeout | undefined
  private evaluating: Promise<void> = Promise.resolve()
  /** Watch keys of the alarms to evaluate next. */
  private dirty = new Set<string>()
  private scheduled = false

  constructor(private readonly o: MonitoringOptions) {
    this.metrics = new MetricStore(o.env)
    this.filters = new MetricFilterRegistry(o.env, o.groups, o.clock)
    this.alarms = new AlarmRegistry(o.env, o.clock)
    this.notifier = o.notifier ?? noopNotifier
  }

  /** The notify domain's notifier (wired in main.ts). */
  setNotifier(n: Notifier): void {
    this.notifier = n
  }

  start(): void {
    const every = (this.o.evaluationIntervalSeconds ?? 10) * 1000
    this.timer = setInterval(() => {
      for (const a of this.alarms.all()) this.dirty.add(this.alarms.watchKey(a))
      this.schedule()
    }, every)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.evaluating
  }

  /** Resolves when alarm evaluations queued so far have run (tests, CLI). */
  async settle(): Promise<void> {
    while (this.scheduled || this.dirty.size > 0) {
      await new Promise((r) => setTimeout(r, 5))
    }
    await this.evaluating
  }

  // ---- metric filters ----------------------------------------------------------------------

  putMetricFilter(scope: Scope, input: Parameters<MetricFilterRegistry['put']>[1]): void {
    this.filters.put(scope, input)
  }

  describeMetricFilters(scope: Scope, q: Parameters<MetricFilterRegistry['describe']>[1]) {
    return this.filters.describe(scope, q)
  }

  deleteMetricFilter(scope: Scope, logGroupName: string, filterName: string): void {
    this.filters.delete(scope, logGroupName, filterName)
  }

  testMetricFilter(filterPattern: string, messages: string[]) {
    return this.filters.test(filterPattern, messages)
  }

  metricFilterCount(scope: Scope, groupName: string): number {
    return this.filters.count(scope, groupName)
  }

  // IngestHook ------------------------------------------------------------------------------

  prepare(group: LogGroup, events: IngestEvent[]): IngestEffect | undefined {
    const set = this.filters.setFor(group)
    if (!set) return undefined
    const updates = new MetricUpdates()
    set.apply(events, updates)
    if (updates.size === 0) return undefined
    return {
      apply: () => this.metrics.apply(updates),
      committed: () => this.metricsChanged(updates.byKey.keys()),
    }
  }

  /** Inside the log group's delete transaction. */
  groupDeleted(group: LogGroup): void {
    this.filters.groupDeleted(group)
  }

  // ---- metrics -----------------------------------------------------------------------------

  async putMetricData(scope: Scope, namespace: string, data: MetricDatum[]): Promise<void> {
    const u = metricDataUpdates(scope, namespace, data, this.o.clock.now().getTime())
    await this.o.env.transaction(() => this.metrics.apply(u))
    this.metricsChanged(u.byKey.keys())
  }

  getMetricStatistics(scope: Scope, q: StatisticsQuery) {
    return metricStatistics(this.metrics, scope, q)
  }

  listMetrics(scope: Scope, q: ListMetricsQuery) {
    return listMetrics(this.metrics, scope, q, this.o.clock.now().getTime())
  }

  // ---- alarms ------------------------------------------------------------------------------

  putMetricAlarm(scope: Scope, config: AlarmConfig): Alarm {
    const alarm = this.alarms.put(scope, config)
    this.dirty.add(this.alarms.watchKey(alarm))
    this.schedule()
    return alarm
  }

  getAlarm(scope: Scope, name: string): Alarm | undefined {
    return this.alarms.get(scope, name)
  }

  describeAlarms(scope: Scope, q: Parameters<AlarmRegistry['describe']>[1]) {
    return this.alarms.describe(scope, q)
  }

  describeAlarmsForMetric(scope: Scope, q: Parameters<AlarmRegistry['forMetric']>[1]): Alarm[] {
    return this.alarms.forMetric(scope, q)
  }

  deleteAlarms(scope: Scope, names: string[]): void {
    this.alarms.delete(scope, names)
  }

  setActionsEnabled(scope: Scope, names: string[], enabled: boolean): void {
    this.alarms.setActionsEnabled(scope, names, enabled)
  }

  describeAlarmHistory(scope: Scope, q: Parameters<AlarmRegistry['describeHistory']>[1]) {
    return this.alarms.describeHistory(scope, q)
  }

  /** SetAlarmState: a temporary state until the next evaluation, as in CloudWatch. */
  async setAlarmState(
    scope: Scope,
    name: string,
    state: AlarmState,
    reason: string,
    reasonData?: string,
  ): Promise<void> {
    const a = this.getAlarm(scope, name)
    if (!a) throw ResourceNotFound(`Alarm ${name} does not exist.`)
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData)
      } catch {
        throw InvalidParameterValue('StateReasonData is not valid JSON.')
      }
    }
    await this.transition(a, { state, reason, reasonData: reasonData ?? '' })
    // Re-evaluated on the next timer tick, not at once, so the set state is observable.
  }

  // ---- evaluation --------------------------------------------------------------------------

  private metricsChanged(keys: Iterable<string>): void {
    let any = false
    for (const k of keys) {
      const w = this.alarms.watching(k)
      if (!w) continue
      for (const a of w) this.dirty.add(a)
      any = true
    }
    if (any) this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      const batch = [...this.dirty]
      this.dirty.clear()
      this.evaluating = this.evaluating
        .then(() => this.evaluateAll(batch))
        .catch((err: unknown) =>
          this.o.logger.error({ err: String(err) }, 'Alarm evaluation failed.'),
        )
    })
  }

  private async evaluateAll(keys: string[]): Promise<void> {
    const now = this.o.clock.now().getTime()
    for (const k of keys) {
      const a = this.alarms.byWatchKey(k)
      if (!a) continue
      const P = a.period * 1000
      const current = Math.floor(now / P) * P
      const from = current - a.evaluationPeriods * P
      const r = evaluate(a, this.metrics.range(this.alarms.metricKeyOf(a), from, current + P), now)
      if (r.state !== a.state) await this.transition(a, r)
    }
  }

  private async transition(a: Alarm, r: Evaluation): Promise<void> {
    const now = this.o.clock.now()
    const updated = await this.alarms.recordTransition(a, r, now)
    if (!updated) return
    const actions = !updated.actionsEnabled
      ? []
      : r.state === 'ALARM'
        ? updated.alarmActions
        : r.state === 'OK'
          ? updated.okActions
          : updated.insufficientDataActions
    const n = {
      alarmName: updated.alarmName,
      alarmArn: updated.arn,
      accountId: updated.accountId,
      region: updated.region,
      oldState: a.state,
      newState: r.state,
      reason: r.reason,
      timestamp: now.toISOString(),
      actions: [...actions],
    }
    let outcome: string
    try {
      await this.notifier.alarmChanged(n)
      outcome = 'Successfully executed action'
    } catch (err) {
      outcome = `Failed to execute action (${(err as Error).message})`
      this.o.logger.error({ alarm: n.alarmName, err: String(err) }, 'Alarm notification failed.')
    }
    if (actions.length > 0) await this.alarms.recordActions(updated, actions, outcome)
  }

  /** Alarm states for Prometheus and the CLI. */
  allAlarms(): Alarm[] {
    return this.alarms.all()
  }

  /** Drops alarm history older than 30 days and metric datapoints older than 15 days. */
  async sweep(): Promise<void> {
    const now = this.o.clock.now().getTime()
    await this.alarms.expireHistory(now - HISTORY_DAYS * 86_400_000)
    await this.metrics.expire(now - METRIC_DAYS * 86_400_000, this.o.env)
  }
}
