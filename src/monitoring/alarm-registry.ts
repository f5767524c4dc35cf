/**
 * @module monitoring/alarm-registry
 * Metric alarms and their history in LMDB: PutMetricAlarm (limits, kept state on update), the
 * describe and delete operations, DescribeAlarmHistory, and the writes of a state transition. It
 * keeps an in-memory index from each metric to the alarms watching it, so that new datapoints find
 * the alarms to evaluate without a scan. When to evaluate is the monitoring service's business.
 */
import type { Database, RootDatabase } from 'lmdb'
import type { Clock } from '../shared/clock.js'
import { InvalidNextTokenException } from '../shared/errors.js'
import {
  type Alarm,
  alarmArn,
  type AlarmConfig,
  type AlarmState,
  type Evaluation,
  type HistoryItem,
  InvalidParameterCombination,
  LimitExceeded,
  MAX_ALARMS_PER_REGION,
  ResourceNotFound,
  type Statistic,
  validateAlarm,
} from './alarms.js'
import { type Dimension, metricKey, sortDimensions } from './metric-store.js'
import { token, untoken } from './next-token.js'
import type { Scope } from './service.js'

type AlarmKey = [string, string, string]
type HistoryKey = [string, string, string, number, number]

export class AlarmRegistry {
  private readonly alarms: Database<Alarm, AlarmKey>
  private readonly history: Database<HistoryItem, HistoryKey>
  /** metric key → watch keys of the alarms on it */
  private readonly watchers = new Map<string, Set<string>>()
  private historySeq = 0

  constructor(
    private readonly env: RootDatabase,
    private readonly clock: Clock,
  ) {
    this.alarms = env.openDB({ name: 'alarms', encoding: 'msgpack' })
    this.history = env.openDB({ name: 'alarm-history', encoding: 'msgpack' })
    for (const { value } of this.alarms.getRange({})) this.watch(value)
  }

  private keyOf(a: { accountId: string; region: string; alarmName: string }): AlarmKey {
    return [a.accountId, a.region, a.alarmName]
  }

  /** The alarm's key as a string (what `watching` yields and `byWatchKey` takes). */
  watchKey(a: { accountId: string; region: string; alarmName: string }): string {
    return JSON.stringify(this.keyOf(a))
  }

  byWatchKey(k: string): Alarm | undefined {
    return this.alarms.get(JSON.parse(k) as AlarmKey)
  }

  /** Watch keys of the alarms on a metric. */
  watching(metric: string): Iterable<string> | undefined {
    return this.watchers.get(metric)
  }

  metricKeyOf(a: Alarm): string {
    return metricKey({
      accountId: a.accountId,
      region: a.region,
      namespace: a.namespace,
      metricName: a.metricName,
      dimensions: a.dimensions,
    })
  }

  private watch(a: Alarm): void {
    const k = this.metricKeyOf(a)
    let s = this.watchers.get(k)
    if (!s) this.watchers.set(k, (s = new Set()))
    s.add(this.watchKey(a))
  }

  private unwatch(a: Alarm): void {
    this.watchers.get(this.metricKeyOf(a))?.delete(this.watchKey(a))
  }

  private addHistory(
    a: Pick<Alarm, 'accountId' | 'region' | 'alarmName'>,
    item: Omit<HistoryItem, 'alarmName'>,
  ): void {
    void this.history.put([a.accountId, a.region, a.alarmName, item.timestamp, ++this.historySeq], {
      alarmName: a.alarmName,
      ...item,
    })
  }

  put(scope: Scope, config: AlarmConfig): Alarm {
    const c: AlarmConfig = { ...config, dimensions: sortDimensions(config.dimensions) }
    validateAlarm(c)
    const key = this.keyOf({ ...scope, alarmName: c.alarmName })
    const now = this.clock.now().getTime()
    const alarm = this.env.transactionSync(() => {
      const prev = this.alarms.get(key)
      if (!prev) {
        let n = 0
        for (const { key: k } of this.alarms.getRange({
          start: [scope.accountId, scope.region, ''],
        })) {
          if (k[0] !== scope.accountId || k[1] !== scope.region) break
          if (++n >= MAX_ALARMS_PER_REGION)
            throw LimitExceeded(
              `The maximum number of alarms (${MAX_ALARMS_PER_REGION}) has been reached.`,
            )
        }
      }
      const a: Alarm = {
        ...c,
        accountId: scope.accountId,
        region: scope.region,
        arn: alarmArn(scope.accountId, scope.region, c.alarmName),
        configurationUpdatedAt: now,
        state: prev?.state ?? 'INSUFFICIENT_DATA',
        stateReason: prev?.stateReason ?? 'Unchecked: Initial alarm creation',
        ...(prev?.stateReasonData ? { stateReasonData: prev.stateReasonData } : {}),
        stateUpdatedAt: prev?.stateUpdatedAt ?? now,
        stateTransitionedAt: prev?.stateTransitionedAt ?? now,
      }
      void this.alarms.put(key, a)
      this.addHistory(a, {
        timestamp: now,
        type: 'ConfigurationUpdate',
        summary: `Alarm "${a.alarmName}" ${prev ? 'updated' : 'created'}`,
        data: JSON.stringify({
          version: '1.0',
          type: prev ? 'Update' : 'Create',
          updatedAlarm: configJson(a),
        }),
      })
      if (prev) this.unwatch(prev)
      return a
    })
    this.watch(alarm)
    return alarm
  }

  get(scope: Scope, name: string): Alarm | undefined {
    return this.alarms.get(this.keyOf({ ...scope, alarmName: name }))
  }

  describe(
    scope: Scope,
    q: {
      alarmNames?: string[]
      alarmNamePrefix?: string
      stateValue?: AlarmState
      actionPrefix?: string
      maxRecords?: number
      nextToken?: string
    },
  ): { alarms: Alarm[]; nextToken?: string } {
    if (q.alarmNames?.length && q.alarmNamePrefix !== undefined)
      throw InvalidParameterCombination('AlarmNames and AlarmNamePrefix are mutually exclusive.')
    const after = q.nextToken ? untoken(q.nextToken) : undefined
    const limit = q.maxRecords ?? 50
    const names = q.alarmNames?.length ? new Set(q.alarmNames) : undefined
    const out: Alarm[] = []
    for (const { key, value } of this.alarms.getRange({
      start: [scope.accountId, scope.region, q.alarmNamePrefix ?? ''],
    })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region) break
      if (q.alarmNamePrefix !== undefined && !key[2].startsWith(q.alarmNamePrefix)) break
      if (after !== undefined && key[2] <= after) continue
      if (names && !names.has(key[2])) continue
      if (q.stateValue && value.state !== q.stateValue) continue
      if (
        q.actionPrefix !== undefined &&
        ![...value.alarmActions, ...value.okActions, ...value.insufficientDataActions].some((x) =>
          x.startsWith(q.actionPrefix!),
        )
      )
        continue
      if (out.length === limit) return { alarms: out, nextToken: token(out.at(-1)!.alarmName) }
      out.push(value)
    }
    return { alarms: out }
  }

  forMetric(
    scope: Scope,
    q: {
      namespace: string
      metricName: string
      dimensions?: Dimension[]
      statistic?: Statistic
      period?: number
      unit?: string
    },
  ): Alarm[] {
    const key = metricKey({
      ...scope,
      namespace: q.namespace,
      metricName: q.metricName,
      dimensions: sortDimensions(q.dimensions ?? []),
    })
    const out: Alarm[] = []
    for (const k of this.watchers.get(key) ?? []) {
      const a = this.byWatchKey(k)
      if (!a) continue
      if (q.statistic && a.statistic !== q.statistic) continue
      if (q.period && a.period !== q.period) continue
      if (q.unit && a.unit !== q.unit) continue
      out.push(a)
    }
    return out.sort((a, b) => (a.alarmName < b.alarmName ? -1 : 1))
  }

  delete(scope: Scope, names: string[]): void {
    const missing = names.filter((n) => !this.alarms.get(this.keyOf({ ...scope, alarmName: n })))
    if (missing.length > 0)
      throw ResourceNotFound(`The following alarms were not found: ${missing.join(', ')}`)
    this.env.transactionSync(() => {
      for (const n of names) {
        const key = this.keyOf({ ...scope, alarmName: n })
        const a = this.alarms.get(key)
        if (!a) continue
        this.unwatch(a)
        void this.alarms.remove(key)
        this.addHistory(a, {
          timestamp: this.clock.now().getTime(),
          type: 'ConfigurationUpdate',
          summary: `Alarm "${n}" deleted`,
          data: JSON.stringify({ version: '1.0', type: 'Delete', deletedAlarm: configJson(a) }),
        })
      }
    })
  }

  setActionsEnabled(scope: Scope, names: string[], enabled: boolean): void {
    this.env.transactionSync(() => {
      for (const n of names) {
        const key = this.keyOf({ ...scope, alarmName: n })
        const a = this.alarms.get(key)
        if (a) void this.alarms.put(key, { ...a, actionsEnabled: enabled })
      }
    })
  }

  describeHistory(
    scope: Scope,
    q: {
      alarmName?: string
      historyItemType?: HistoryItem['type']
      startDate?: Date
      endDate?: Date
      maxRecords?: number
      nextToken?: string
      scanBy?: 'TimestampDescending' | 'TimestampAscending'
    },
  ): { items: HistoryItem[]; nextToken?: string } {
    const start =
      q.alarmName !== undefined
        ? [scope.accountId, scope.region, q.alarmName, 0, 0]
        : [scope.accountId, scope.region, '', 0, 0]
    const items: { k: HistoryKey; v: HistoryItem }[] = []
    for (const { key, value } of this.history.getRange({ start: start as HistoryKey })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region) break
      if (q.alarmName !== undefined && key[2] !== q.alarmName) break
      if (q.historyItemType && value.type !== q.historyItemType) continue
      if (q.startDate && value.timestamp < q.startDate.getTime()) continue
      if (q.endDate && value.timestamp > q.endDate.getTime()) continue
      items.push({ k: key, v: value })
    }
    const asc = q.scanBy === 'TimestampAscending'
    items.sort((a, b) => (a.k[3] - b.k[3] || a.k[4] - b.k[4]) * (asc ? 1 : -1))
    let from = 0
    if (q.nextToken) {
      const n = Number(untoken(q.nextToken))
      if (!Number.isInteger(n) || n < 0)
        throw InvalidNextTokenException('The specified nextToken is invalid.')
      from = n
    }
    const limit = q.maxRecords ?? 100
    const page = items.slice(from, from + limit).map((x) => x.v)
    return {
      items: page,
      ...(from + limit < items.length ? { nextToken: token(String(from + limit)) } : {}),
    }
  }

  /**
   * Stores a new state and its history item, unless the alarm was deleted or reconfigured since
   * `a` was read; returns the updated alarm then.
   */
  async recordTransition(a: Alarm, r: Evaluation, now: Date): Promise<Alarm | undefined> {
    const key = this.keyOf(a)
    let updated: Alarm | undefined
    await this.env.transaction(() => {
      const cur = this.alarms.get(key)
      if (!cur || cur.configurationUpdatedAt !== a.configurationUpdatedAt) return
      updated = {
        ...cur,
        state: r.state,
        stateReason: r.reason,
        ...(r.reasonData ? { stateReasonData: r.reasonData } : {}),
        stateUpdatedAt: now.getTime(),
        stateTransitionedAt: now.getTime(),
      }
      void this.alarms.put(key, updated)
      this.addHistory(cur, {
        timestamp: now.getTime(),
        type: 'StateUpdate',
        summary: `Alarm updated from ${cur.state} to ${r.state}`,
        data: JSON.stringify({
          version: '1.0',
          oldState: { stateValue: cur.state, stateReason: cur.stateReason },
          newState: {
            stateValue: r.state,
            stateReason: r.reason,
            ...(r.reasonData ? { stateReasonData: JSON.parse(r.reasonData) as unknown } : {}),
          },
        }),
      })
    })
    return updated
  }

  /** One Action history item per action ARN, with the notification's outcome. */
  async recordActions(a: Alarm, actions: readonly string[], outcome: string): Promise<void> {
    await this.env.transaction(() => {
      for (const arn of actions)
        this.addHistory(a, {
          timestamp: this.clock.now().getTime(),
          type: 'Action',
          summary: `${outcome} ${arn}`,
          data: JSON.stringify({
            actionState: outcome.startsWith('Succ') ? 'Succeeded' : 'Failed',
            notificationResource: arn,
          }),
        })
    })
  }

  all(): Alarm[] {
    return [...this.alarms.getRange({}).map((e) => e.value)]
  }

  /** Drops history items older than `cutoff` (ms). */
  async expireHistory(cutoff: number): Promise<void> {
    await this.env.transaction(() => {
      for (const { key, value } of this.history.getRange({}))
        if (value.timestamp < cutoff) void this.history.remove(key)
    })
  }
}

function configJson(a: Alarm): Record<string, unknown> {
  return {
    alarmName: a.alarmName,
    metricName: a.metricName,
    namespace: a.namespace,
    statistic: a.statistic,
    period: a.period,
    evaluationPeriods: a.evaluationPeriods,
    datapointsToAlarm: a.datapointsToAlarm,
    threshold: a.threshold,
    comparisonOperator: a.comparisonOperator,
    treatMissingData: a.treatMissingData,
    actionsEnabled: a.actionsEnabled,
  }
}
