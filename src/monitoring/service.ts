/**
 * @module monitoring/service
 * MonitoringService: metric filters on log groups, the metric store, metric alarms and their
 * evaluation, in domain terms (camelCase; the CloudWatch and CloudWatch Logs handlers map the wire).
 *
 * It is the log service's ingest hook: a batch of log events is run through the group's compiled
 * metric filters before the write transaction, the datapoints commit with the events, and after the
 * commit the alarms on the touched metrics are evaluated at once. A timer re-evaluates every alarm
 * so that time passing (periods ending, missing data) changes states too. Every state transition is
 * recorded in the alarm history and handed to the injected `Notifier` (the notify domain).
 *
 * `putMetricFilter` and `putMetricAlarm` are plain methods for in-process callers (security packs).
 */
import type { Database, RootDatabase } from 'lmdb'
import type { LogGroup } from '../domains/logs/model.js'
import type { IngestEffect, IngestEvent, IngestHook } from '../domains/logs/service.js'
import { noopNotifier, type Notifier } from '../notify/port.js'
import type { Clock } from '../shared/clock.js'
import { InvalidNextTokenException } from '../shared/errors.js'
import type { Logger } from '../telemetry/logger.js'
import {
  type Alarm,
  alarmArn,
  type AlarmConfig,
  type AlarmState,
  evaluate,
  type HistoryItem,
  InvalidParameterCombination,
  InvalidParameterValue,
  LimitExceeded,
  MAX_ALARMS_PER_REGION,
  ResourceNotFound,
  statValue,
  type Statistic,
  validateAlarm,
} from './alarms.js'
import { MessageInput } from './filter-pattern/compile.js'
import {
  FilterSet,
  InvalidParameterException,
  LimitExceededException,
  MAX_FILTERS_PER_GROUP,
  MAX_REGEX_FILTERS_PER_GROUP,
  type MetricFilterDef,
  type MetricTransformation,
  testMetricFilter,
  compileFilter,
} from './metric-filters.js'
import {
  type CatalogEntry,
  type Dimension,
  type MetricId,
  metricKey,
  mergeStats,
  MetricStore,
  MetricUpdates,
  MINUTE,
  sortDimensions,
  type Stats,
} from './metric-store.js'
import { awsError } from '../shared/errors.js'

const ResourceNotFoundException = awsError('ResourceNotFoundException')

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

type FilterKey = [string, string, string, string]
type AlarmKey = [string, string, string]
type HistoryKey = [string, string, string, number, number]

const HISTORY_DAYS = 30
const METRIC_DAYS = 15

const token = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
function untoken(t: string): string {
  try {
    const v = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as unknown
    if (typeof v === 'string') return v
  } catch {
    /* fall through */
  }
  throw InvalidNextTokenException('The specified nextToken is invalid.')
}

export class MonitoringService implements IngestHook {
  readonly metrics: MetricStore
  private readonly filters: Database<MetricFilterDef, FilterKey>
  private readonly alarms: Database<Alarm, AlarmKey>
  private readonly history: Database<HistoryItem, HistoryKey>
  private readonly sets = new Map<string, FilterSet | null>()
  /** metric key → alarm keys watching it */
  private readonly watchers = new Map<string, Set<string>>()
  private notifier: Notifier
  private timer: NodeJS.Timeout | undefined
  private evaluating: Promise<void> = Promise.resolve()
  private dirty = new Set<string>()
  private scheduled = false
  private historySeq = 0

  constructor(private readonly o: MonitoringOptions) {
    this.metrics = new MetricStore(o.env)
    this.filters = o.env.openDB({ name: 'metric-filters', encoding: 'msgpack' })
    this.alarms = o.env.openDB({ name: 'alarms', encoding: 'msgpack' })
    this.history = o.env.openDB({ name: 'alarm-history', encoding: 'msgpack' })
    this.notifier = o.notifier ?? noopNotifier
    for (const { value } of this.alarms.getRange({})) this.watch(value)
  }

  /** The notify domain's notifier (wired in main.ts). */
  setNotifier(n: Notifier): void {
    this.notifier = n
  }

  start(): void {
    const every = (this.o.evaluationIntervalSeconds ?? 10) * 1000
    this.timer = setInterval(() => {
      for (const { value } of this.alarms.getRange({}))
        this.dirty.add(JSON.stringify(this.alarmKeyOf(value)))
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

  private groupKey(g: { accountId: string; region: string; name: string }) {
    return `${g.accountId}\u0000${g.region}\u0000${g.name}`
  }

  private filtersOf(scope: Scope, groupName: string): MetricFilterDef[] {
    const out: MetricFilterDef[] = []
    for (const { key, value } of this.filters.getRange({
      start: [scope.accountId, scope.region, groupName, ''],
    })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region || key[2] !== groupName) break
      out.push(value)
    }
    return out
  }

  private setFor(g: LogGroup): FilterSet | null {
    const k = this.groupKey(g)
    let s = this.sets.get(k)
    if (s === undefined) {
      const defs = this.filtersOf(g, g.name)
      s = defs.length > 0 ? new FilterSet(defs) : null
      this.sets.set(k, s)
    }
    return s
  }

  putMetricFilter(
    scope: Scope,
    input: {
      logGroupName: string
      filterName: string
      filterPattern: string
      metricTransformations: MetricTransformation[]
    },
  ): void {
    const ref = { ...scope, name: input.logGroupName }
    if (!this.o.groups.findGroup(ref))
      throw ResourceNotFoundException('The specified log group does not exist.')
    if (!/^[^:*]{1,512}$/.test(input.filterName))
      throw InvalidParameterException(
        `Invalid filter name '${input.filterName}': 1 to 512 characters, no ':' or '*'.`,
      )
    const def: MetricFilterDef = {
      filterName: input.filterName,
      filterPattern: input.filterPattern,
      metricTransformations: input.metricTransformations,
      creationTime: this.o.clock.now().getTime(),
      logGroupName: input.logGroupName,
      accountId: scope.accountId,
      region: scope.region,
    }
    compileFilter(def)
    const existing = this.filtersOf(scope, input.logGroupName)
    const others = existing.filter((f) => f.filterName !== input.filterName)
    if (others.length >= MAX_FILTERS_PER_GROUP)
      throw LimitExceededException(
        `A log group can have at most ${MAX_FILTERS_PER_GROUP} metric filters.`,
      )
    const hasRegex = (p: string) => /%[^%]+%/.test(p)
    if (
      hasRegex(def.filterPattern) &&
      others.filter((f) => hasRegex(f.filterPattern)).length >= MAX_REGEX_FILTERS_PER_GROUP
    )
      throw LimitExceededException(
        `A log group can have at most ${MAX_REGEX_FILTERS_PER_GROUP} metric filters whose pattern contains a regular expression.`,
      )
    const prev = existing.find((f) => f.filterName === input.filterName)
    if (prev) def.creationTime = prev.creationTime
    this.o.env.transactionSync(() => {
      void this.filters.put(
        [scope.accountId, scope.region, input.logGroupName, input.filterName],
        def,
      )
    })
    this.sets.delete(this.groupKey(ref))
  }

  describeMetricFilters(
    scope: Scope,
    q: {
      logGroupName?: string
      filterNamePrefix?: string
      metricName?: string
      metricNamespace?: string
      limit?: number
      nextToken?: string
    },
  ): { filters: MetricFilterDef[]; nextToken?: string } {
    if (q.filterNamePrefix !== undefined && q.logGroupName === undefined)
      throw InvalidParameterException('filterNamePrefix requires logGroupName.')
    if ((q.metricName === undefined) !== (q.metricNamespace === undefined))
      throw InvalidParameterException('metricName and metricNamespace must be specified together.')
    const start: FilterKey = [scope.accountId, scope.region, q.logGroupName ?? '', '']
    const after = q.nextToken ? untoken(q.nextToken) : undefined
    const limit = q.limit ?? 50
    const out: MetricFilterDef[] = []
    for (const { key, value } of this.filters.getRange({ start })) {
      if (key[0] !== scope.accountId || key[1] !== scope.region) break
      if (q.logGroupName !== undefined && key[2] !== q.logGroupName) break
      const id = JSON.stringify(key)
      if (after !== undefined && id <= after) continue
      if (q.filterNamePrefix !== undefined && !key[3].startsWith(q.filterNamePrefix)) continue
      if (
        q.metricName !== undefined &&
        !value.metricTransformations.some(
          (t) => t.metricName === q.metricName && t.metricNamespace === q.metricNamespace,
        )
      )
        continue
      if (out.length === limit)
        return {
          filters: out,
          nextToken: token(
            JSON.stringify([
              scope.accountId,
              scope.region,
              out.at(-1)!.logGroupName,
              out.at(-1)!.filterName,
            ]),
          ),
        }
      out.push(value)
    }
    return { filters: out }
  }

  deleteMetricFilter(scope: Scope, logGroupName: string, filterName: string): void {
    const ref = { ...scope, name: logGroupName }
    if (!this.o.groups.findGroup(ref))
      throw ResourceNotFoundException('The specified log group does not exist.')
    const key: FilterKey = [scope.accountId, scope.region, logGroupName, filterName]
    if (!this.filters.get(key))
      throw ResourceNotFoundException('The specified metric filter does not exist.')
    this.o.env.transactionSync(() => void this.filters.remove(key))
    this.sets.delete(this.groupKey(ref))
  }

  testMetricFilter(filterPattern: string, messages: string[]) {
    return testMetricFilter(filterPattern, messages, (m) => new MessageInput(m))
  }

  metricFilterCount(scope: Scope, groupName: string): number {
    return this.filtersOf(scope, groupName).length
  }

  // IngestHook ------------------------------------------------------------------------------

  prepare(group: LogGroup, events: IngestEvent[]): IngestEffect | undefined {
    const set = this.setFor(group)
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
    for (const f of this.filtersOf(group, group.name))
      void this.filters.remove([group.accountId, group.region, group.name, f.filterName])
    this.sets.delete(this.groupKey(group))
  }

  // ---- metrics -----------------------------------------------------------------------------

  async putMetricData(
    scope: Scope,
    namespace: string,
    data: {
      metricName: string
      dimensions?: Dimension[]
      timestamp?: Date
      value?: number
      values?: number[]
      counts?: number[]
      statisticValues?: { sampleCount: number; sum: number; minimum: number; maximum: number }
      unit?: string
    }[],
  ): Promise<void> {
    if (namespace.startsWith('AWS/'))
      throw InvalidParameterValue('The value AWS/ for parameter Namespace is invalid.')
    const now = this.o.clock.now().getTime()
    const u = new MetricUpdates()
    for (const [i, d] of data.entries()) {
      const id: MetricId = {
        ...scope,
        namespace,
        metricName: d.metricName,
        dimensions: sortDimensions(d.dimensions ?? []),
      }
      const t = d.timestamp?.getTime() ?? now
      if (t < now - 14 * 86_400_000 || t > now + 2 * 3600_000)
        throw InvalidParameterValue(
          `The parameter MetricData.member.${i + 1}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.`,
        )
      const given = [
        d.value !== undefined,
        d.values !== undefined,
        d.statisticValues !== undefined,
      ].filter(Boolean).length
      if (given !== 1)
        throw InvalidParameterCombination(
          `The parameters MetricData.member.${i + 1}.Value, Values and StatisticValues are mutually exclusive and one is required.`,
        )
      if (d.value !== undefined) u.add(id, t, d.value, d.unit)
      else if (d.values) {
        if (d.counts && d.counts.length !== d.values.length)
          throw InvalidParameterValue('The Values and Counts arrays must have the same length.')
        d.values.forEach((v, k) => {
          const c = d.counts?.[k] ?? 1
          u.addStats(id, t, { n: c, sum: v * c, min: v, max: v }, d.unit)
        })
      } else {
        const s = d.statisticValues!
        u.addStats(id, t, { n: s.sampleCount, sum: s.sum, min: s.minimum, max: s.maximum }, d.unit)
      }
    }
    await this.o.env.transaction(() => this.metrics.apply(u))
    this.metricsChanged(u.byKey.keys())
  }

  getMetricStatistics(
    scope: Scope,
    q: {
      namespace: string
      metricName: string
      dimensions?: Dimension[]
      startTime: Date
      endTime: Date
      period: number
      statistics?: Statistic[]
      extendedStatistics?: string[]
      unit?: string
    },
  ): {
    label: string
    datapoints: ({ timestamp: Date; unit: string } & Partial<Record<Statistic, number>>)[]
  } {
    if (q.extendedStatistics?.length)
      throw InvalidParameterValue(
        'ExtendedStatistics (percentiles) are not available: OpenTrail keeps count, sum, minimum and maximum per minute.',
      )
    if (!q.statistics?.length)
      throw InvalidParameterCombination(
        'At least one of the parameters Statistics and ExtendedStatistics must be specified.',
      )
    if (q.period < 60 || q.period % 60 !== 0)
      throw InvalidParameterValue('The parameter Period must be a multiple of 60.')
    const from = q.startTime.getTime()
    const to = q.endTime.getTime()
    if (to <= from)
      throw InvalidParameterValue(
        'The parameter StartTime must be less than the parameter EndTime.',
      )
    const P = q.period * 1000
    const n = Math.ceil((to - from) / P)
    if (n > 1440)
      throw InvalidParameterCombination(
        `You have requested up to ${n} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      )
    const key = metricKey({
      ...scope,
      namespace: q.namespace,
      metricName: q.metricName,
      dimensions: sortDimensions(q.dimensions ?? []),
    })
    const entry = this.metrics.entry(key)
    if (q.unit && entry?.unit && entry.unit !== q.unit)
      return { label: q.metricName, datapoints: [] }
    const per = new Map<number, Stats>()
    for (const [m, s] of this.metrics.range(key, Math.floor(from / MINUTE) * MINUTE, to)) {
      if (m < from) continue
      const start = from + Math.floor((m - from) / P) * P
      per.set(start, mergeStats(per.get(start), s))
    }
    const datapoints = [...per.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([t, s]) => {
        const dp: { timestamp: Date; unit: string } & Partial<Record<Statistic, number>> = {
          timestamp: new Date(t),
          unit: entry?.unit ?? 'None',
        }
        for (const st of q.statistics!) dp[st] = statValue(s, st)
        return dp
      })
    return { label: q.metricName, datapoints }
  }

  listMetrics(
    scope: Scope,
    q: {
      namespace?: string
      metricName?: string
      dimensions?: { name: string; value?: string }[]
      recentlyActive?: string
      nextToken?: string
    },
  ): { metrics: CatalogEntry[]; nextToken?: string } {
    const after = q.nextToken ? untoken(q.nextToken) : undefined
    const since =
      q.recentlyActive === 'PT3H' ? this.o.clock.now().getTime() - 3 * 3600_000 : undefined
    const out: CatalogEntry[] = []
    for (const [key, e] of this.metrics.entries()) {
      if (e.accountId !== scope.accountId || e.region !== scope.region) continue
      if (after !== undefined && key <= after) continue
      if (q.namespace !== undefined && e.namespace !== q.namespace) continue
      if (q.metricName !== undefined && e.metricName !== q.metricName) continue
      if (
        q.dimensions &&
        !q.dimensions.every((f) =>
          e.dimensions.some(
            (d) => d.name === f.name && (f.value === undefined || d.value === f.value),
          ),
        )
      )
        continue
      if (since !== undefined && e.last < since) continue
      if (out.length === 500) return { metrics: out, nextToken: token(metricKey(out.at(-1)!)) }
      out.push(e)
    }
    return { metrics: out }
  }

  // ---- alarms ------------------------------------------------------------------------------

  private alarmKeyOf(a: { accountId: string; region: string; alarmName: string }): AlarmKey {
    return [a.accountId, a.region, a.alarmName]
  }

  private metricKeyOf(a: Alarm): string {
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
    s.add(JSON.stringify(this.alarmKeyOf(a)))
  }

  private unwatch(a: Alarm): void {
    this.watchers.get(this.metricKeyOf(a))?.delete(JSON.stringify(this.alarmKeyOf(a)))
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

  putMetricAlarm(scope: Scope, config: AlarmConfig): Alarm {
    const c: AlarmConfig = { ...config, dimensions: sortDimensions(config.dimensions) }
    validateAlarm(c)
    const key = this.alarmKeyOf({ ...scope, alarmName: c.alarmName })
    const now = this.o.clock.now().getTime()
    const alarm = this.o.env.transactionSync(() => {
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
    this.dirty.add(JSON.stringify(key))
    this.schedule()
    return alarm
  }

  getAlarm(scope: Scope, name: string): Alarm | undefined {
    return this.alarms.get(this.alarmKeyOf({ ...scope, alarmName: name }))
  }

  describeAlarms(
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

  describeAlarmsForMetric(
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
      const a = this.alarms.get(JSON.parse(k) as AlarmKey)
      if (!a) continue
      if (q.statistic && a.statistic !== q.statistic) continue
      if (q.period && a.period !== q.period) continue
      if (q.unit && a.unit !== q.unit) continue
      out.push(a)
    }
    return out.sort((a, b) => (a.alarmName < b.alarmName ? -1 : 1))
  }

  deleteAlarms(scope: Scope, names: string[]): void {
    const missing = names.filter(
      (n) => !this.alarms.get(this.alarmKeyOf({ ...scope, alarmName: n })),
    )
    if (missing.length > 0)
      throw ResourceNotFound(`The following alarms were not found: ${missing.join(', ')}`)
    this.o.env.transactionSync(() => {
      for (const n of names) {
        const key = this.alarmKeyOf({ ...scope, alarmName: n })
        const a = this.alarms.get(key)
        if (!a) continue
        this.unwatch(a)
        void this.alarms.remove(key)
        this.addHistory(a, {
          timestamp: this.o.clock.now().getTime(),
          type: 'ConfigurationUpdate',
          summary: `Alarm "${n}" deleted`,
          data: JSON.stringify({ version: '1.0', type: 'Delete', deletedAlarm: configJson(a) }),
        })
      }
    })
  }

  setActionsEnabled(scope: Scope, names: string[], enabled: boolean): void {
    this.o.env.transactionSync(() => {
      for (const n of names) {
        const key = this.alarmKeyOf({ ...scope, alarmName: n })
        const a = this.alarms.get(key)
        if (a) void this.alarms.put(key, { ...a, actionsEnabled: enabled })
      }
    })
  }

  describeAlarmHistory(
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
      const w = this.watchers.get(k)
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
      const a = this.alarms.get(JSON.parse(k) as AlarmKey)
      if (!a) continue
      const P = a.period * 1000
      const current = Math.floor(now / P) * P
      const from = current - a.evaluationPeriods * P
      const r = evaluate(a, this.metrics.range(this.metricKeyOf(a), from, current + P), now)
      if (r.state !== a.state) await this.transition(a, r)
    }
  }

  private async transition(
    a: Alarm,
    r: { state: AlarmState; reason: string; reasonData: string },
  ): Promise<void> {
    const now = this.o.clock.now()
    const key = this.alarmKeyOf(a)
    let updated: Alarm | undefined
    await this.o.env.transaction(() => {
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
    if (actions.length > 0)
      await this.o.env.transaction(() => {
        for (const arn of actions)
          this.addHistory(updated!, {
            timestamp: this.o.clock.now().getTime(),
            type: 'Action',
            summary: `${outcome} ${arn}`,
            data: JSON.stringify({
              actionState: outcome.startsWith('Succ') ? 'Succeeded' : 'Failed',
              notificationResource: arn,
            }),
          })
      })
  }

  /** Alarm states for Prometheus and the CLI. */
  allAlarms(): Alarm[] {
    return [...this.alarms.getRange({}).map((e) => e.value)]
  }

  /** Drops alarm history older than 30 days and metric datapoints older than 15 days. */
  async sweep(): Promise<void> {
    const now = this.o.clock.now().getTime()
    const cutoff = now - HISTORY_DAYS * 86_400_000
    await this.o.env.transaction(() => {
      for (const { key, value } of this.history.getRange({}))
        if (value.timestamp < cutoff) void this.history.remove(key)
    })
    await this.metrics.expire(now - METRIC_DAYS * 86_400_000, this.o.env)
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
