/**
 * @module monitoring/metric-filter-registry
 * Metric filters on log groups: stored in LMDB under `[account, region, group, filter]`, checked as
 * PutMetricFilter does (group exists, name, pattern compiles, per-group limits), listed and deleted.
 * Each group's filters are compiled once into a `FilterSet`, cached until a filter of that group
 * changes; the monitoring service runs ingested log events through it.
 */
import type { Database, RootDatabase } from 'lmdb'
import type { LogGroup } from '../domains/logs/model.js'
import { awsError } from '../shared/errors.js'
import type { Clock } from '../shared/clock.js'
import { MessageInput } from './filter-pattern/compile.js'
import {
  compileFilter,
  FilterSet,
  InvalidParameterException,
  LimitExceededException,
  MAX_FILTERS_PER_GROUP,
  MAX_REGEX_FILTERS_PER_GROUP,
  type MetricFilterDef,
  type MetricTransformation,
  testMetricFilter,
} from './metric-filters.js'
import { token, untoken } from './next-token.js'
import type { GroupLookup, Scope } from './service.js'

const ResourceNotFoundException = awsError('ResourceNotFoundException')

type FilterKey = [string, string, string, string]

export class MetricFilterRegistry {
  private readonly filters: Database<MetricFilterDef, FilterKey>
  private readonly sets = new Map<string, FilterSet | null>()

  constructor(
    private readonly env: RootDatabase,
    private readonly groups: GroupLookup,
    private readonly clock: Clock,
  ) {
    this.filters = env.openDB({ name: 'metric-filters', encoding: 'msgpack' })
  }

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

  /** The group's compiled filters, or null when it has none. */
  setFor(g: LogGroup): FilterSet | null {
    const k = this.groupKey(g)
    let s = this.sets.get(k)
    if (s === undefined) {
      const defs = this.filtersOf(g, g.name)
      s = defs.length > 0 ? new FilterSet(defs) : null
      this.sets.set(k, s)
    }
    return s
  }

  put(
    scope: Scope,
    input: {
      logGroupName: string
      filterName: string
      filterPattern: string
      metricTransformations: MetricTransformation[]
    },
  ): void {
    const ref = { ...scope, name: input.logGroupName }
    if (!this.groups.findGroup(ref))
      throw ResourceNotFoundException('The specified log group does not exist.')
    if (!/^[^:*]{1,512}$/.test(input.filterName))
      throw InvalidParameterException(
        `Invalid filter name '${input.filterName}': 1 to 512 characters, no ':' or '*'.`,
      )
    const def: MetricFilterDef = {
      filterName: input.filterName,
      filterPattern: input.filterPattern,
      metricTransformations: input.metricTransformations,
      creationTime: this.clock.now().getTime(),
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
    this.env.transactionSync(() => {
      void this.filters.put(
        [scope.accountId, scope.region, input.logGroupName, input.filterName],
        def,
      )
    })
    this.sets.delete(this.groupKey(ref))
  }

  describe(
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

  delete(scope: Scope, logGroupName: string, filterName: string): void {
    const ref = { ...scope, name: logGroupName }
    if (!this.groups.findGroup(ref))
      throw ResourceNotFoundException('The specified log group does not exist.')
    const key: FilterKey = [scope.accountId, scope.region, logGroupName, filterName]
    if (!this.filters.get(key))
      throw ResourceNotFoundException('The specified metric filter does not exist.')
    this.env.transactionSync(() => void this.filters.remove(key))
    this.sets.delete(this.groupKey(ref))
  }

  test(filterPattern: string, messages: string[]) {
    return testMetricFilter(filterPattern, messages, (m) => new MessageInput(m))
  }

  count(scope: Scope, groupName: string): number {
    return this.filtersOf(scope, groupName).length
  }

  /** Inside the log group's delete transaction. */
  groupDeleted(group: LogGroup): void {
    for (const f of this.filtersOf(group, group.name))
      void this.filters.remove([group.accountId, group.region, group.name, f.filterName])
    this.sets.delete(this.groupKey(group))
  }
}
