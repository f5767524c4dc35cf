/**
 * @module domains/lake/dashboards
 * CloudTrail Lake dashboards (custom): named sets of up to 10 widgets, each a saved Lake query with
 * its view properties, persisted in a JSON file. A refresh (manual, or on the dashboard's refresh
 * schedule) starts every widget's query through LakeService.startQuery and remembers, under a
 * numeric RefreshId, which query answers which widget (`QueryAlias`), so that
 * DescribeQuery(RefreshId, QueryAlias) finds it as in AWS. Widget statements take AWS's
 * parameters `$StartTime$`, `$EndTime$` and `$Period$`, whose values a refresh passes to
 * StartQuery as QueryParameters: bound, in order, to the `?` / `'?'` placeholders as string
 * literals (lake/sql-params).
 */
import type { Clock } from '../../shared/clock.js'
import { ServiceError, ValidationException } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import { InvalidQueryStatementException } from '../../lake/sql.js'
import type { Logger } from '../../telemetry/logger.js'
import type { Tag } from '../trails/model.js'
import { validateTags } from '../trails/tags.js'
import {
  InactiveEventDataStoreException,
  MaxConcurrentQueriesException,
  type LakeService,
  type Scope,
} from './service.js'
import {
  ResourceNotFoundException,
  ConflictException,
  ServiceQuotaExceededException,
  UnsupportedOperationException,
  MAX_WIDGETS,
  MAX_DASHBOARDS,
  MAX_CONCURRENT_REFRESHES,
  HIGHLIGHTS,
  PARAMETERS,
  PERIODS,
  DAY,
  HOUR,
  REFRESHES_KEPT_MS,
  type Widget,
  type WidgetInput,
  type RefreshSchedule,
  type Dashboard,
  type Refresh,
  NAME_RE,
  ARN_RE,
  VIEW_KEY_RE,
  VIEW_VALUE_RE,
  VALUE_RE,
  type Allowed,
  checkScheduler,
  failureText,
  checkSchedule,
  firstSlot,
  parameterValues,
  placeholders,
  substitute,
  timeOf,
  lakeTime,
} from './dashboard-rules.js'

export * from './dashboard-rules.js'

const anyone: Allowed = () => undefined

export class DashboardService {
  private readonly refreshes = new Map<string, Refresh>()
  private seq = 0
  private timer: NodeJS.Timeout | undefined

  private constructor(
    private readonly file: string,
    private dashboards: Dashboard[],
    private readonly lake: LakeService,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  static async open(opts: {
    file: string
    lake: LakeService
    clock: Clock
    logger?: Logger
  }): Promise<DashboardService> {
    const list = (await readJsonFile<Dashboard[]>(opts.file)) ?? []
    return new DashboardService(opts.file, list, opts.lake, opts.clock, opts.logger)
  }

  private async save(): Promise<void> {
    await writeJsonFileAtomic(this.file, this.dashboards, 0o600)
  }

  private now(): string {
    return this.clock.now().toISOString()
  }

  /** The dashboard a name or ARN names in the caller's account and region. */
  find(scope: Scope, ref: string): Dashboard {
    const m = ARN_RE.exec(ref)
    const name = m ? m[3]! : ref
    const d = this.dashboards.find(
      (x) => x.name === name && x.accountId === scope.accountId && x.region === scope.region,
    )
    if (!d || (m && (m[1] !== d.region || m[2] !== d.accountId))) {
      throw ResourceNotFoundException(`The dashboard ${ref} was not found.`)
    }
    return d
  }

  /** The canonical ARN for a name or ARN (for IAM and the record), whether or not it exists. */
  arnFor(scope: Scope, ref: string): string {
    if (ARN_RE.test(ref)) return ref
    return `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:dashboard/${ref}`
  }

  list(scope: Scope, namePrefix?: string): Dashboard[] {
    return this.dashboards
      .filter(
        (d) =>
          d.accountId === scope.accountId &&
          d.region === scope.region &&
          (namePrefix === undefined || d.name.startsWith(namePrefix)),
      )
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  async create(
    scope: Scope,
    input: {
      name: string
      widgets?: WidgetInput[]
      refreshSchedule?: RefreshSchedule
      terminationProtectionEnabled?: boolean
      tags: Tag[]
    },
    allowed: Allowed = anyone,
  ): Promise<Dashboard> {
    if (!NAME_RE.test(input.name)) {
      throw ValidationException(
        'Dashboard names are 3-128 characters of letters, digits, underscores and hyphens.',
      )
    }
    if (input.name === HIGHLIGHTS) {
      throw UnsupportedOperationException(
        'The managed Highlights dashboard is not available in OpenTrail; create a custom dashboard.',
      )
    }
    const mine = this.list(scope)
    if (mine.some((d) => d.name === input.name)) {
      throw ConflictException(`A dashboard named ${input.name} already exists.`)
    }
    if (mine.length >= MAX_DASHBOARDS) {
      throw ServiceQuotaExceededException(
        `Your account has the maximum number of dashboards (${MAX_DASHBOARDS}) in this region.`,
      )
    }
    validateTags(input.tags, { checkValues: true })
    const widgets = await this.checkWidgets(scope, input.widgets ?? [], allowed)
    const schedule = input.refreshSchedule ? checkSchedule(input.refreshSchedule) : undefined
    const arn = this.arnFor(scope, input.name)
    if (schedule?.status === 'ENABLED') checkScheduler(allowed, arn)
    const now = this.now()
    const d: Dashboard = {
      name: input.name,
      arn,
      accountId: scope.accountId,
      region: scope.region,
      type: 'CUSTOM',
      status: 'CREATED',
      widgets,
      ...(schedule ? { refreshSchedule: schedule } : {}),
      terminationProtectionEnabled: input.terminationProtectionEnabled ?? false,
      tags: input.tags,
      createdTimestamp: now,
      updatedTimestamp: now,
    }
    this.plan(d)
    // Checking the widgets awaited the parser: another call may have taken the name meanwhile.
    if (this.list(scope).some((x) => x.name === input.name)) {
      throw ConflictException(`A dashboard named ${input.name} already exists.`)
    }
    this.dashboards.push(d)
    await this.save()
    return d
  }

  async update(
    scope: Scope,
    ref: string,
    input: {
      widgets?: WidgetInput[]
      refreshSchedule?: RefreshSchedule
      terminationProtectionEnabled?: boolean
    },
    allowed: Allowed = anyone,
  ): Promise<Dashboard> {
    const d = this.find(scope, ref)
    const widgets = input.widgets
      ? await this.checkWidgets(scope, input.widgets, allowed)
      : undefined
    const schedule = input.refreshSchedule ? checkSchedule(input.refreshSchedule) : undefined
    // Whoever enables a schedule, or changes the widgets a schedule runs, must be allowed to
    // refresh the dashboard: the schedule then runs without a caller.
    const scheduled = (schedule ?? d.refreshSchedule)?.status === 'ENABLED'
    if (schedule?.status === 'ENABLED' || (widgets && scheduled)) checkScheduler(allowed, d.arn)
    if (widgets) d.widgets = widgets
    if (schedule) {
      d.refreshSchedule = schedule
      this.plan(d)
    }
    if (input.terminationProtectionEnabled !== undefined) {
      d.terminationProtectionEnabled = input.terminationProtectionEnabled
    }
    d.status = 'UPDATED'
    d.updatedTimestamp = this.now()
    await this.save()
    return d
  }

  async delete(scope: Scope, ref: string): Promise<void> {
    const d = this.find(scope, ref)
    if (d.terminationProtectionEnabled) {
      throw ConflictException(
        `Dashboard ${d.arn} cannot be deleted because termination protection is enabled.`,
      )
    }
    this.dashboards = this.dashboards.filter((x) => x !== d)
    for (const [id, r] of this.refreshes) if (r.dashboardArn === d.arn) this.refreshes.delete(id)
    await this.save()
  }

  /**
   * Why the last refresh failed: the reason it could not start, or the first widget query that
   * ended FAILED or TIMED_OUT.
   */
  failureReason(d: Dashboard): string | undefined {
    if (d.lastRefreshFailureReason) return d.lastRefreshFailureReason
    const r = d.lastRefreshId ? this.refreshes.get(d.lastRefreshId) : undefined
    for (const q of r?.queries ?? []) {
      try {
        const lq = this.lake.query({ accountId: d.accountId, region: d.region }, q.queryId)
        if (lq.status === 'FAILED' || lq.status === 'TIMED_OUT') {
          return `Widget ${q.alias}: ${lq.error ?? lq.status}`
        }
      } catch {
        // the query was forgotten (7 days, or a restart)
      }
    }
    return undefined
  }

  /**
   * Starts every widget's query. `mayRead(arn)` is the IAM check for each store a statement reads
   * (cloudtrail:StartQuery), as for StartQuery; scheduled refreshes pass none.
   */
  async refresh(
    scope: Scope,
    ref: string,
    values: Record<string, string>,
    mayRead: (arn: string) => ServiceError | undefined = () => undefined,
  ): Promise<Refresh> {
    const d = this.find(scope, ref)
    const resolved = this.resolveValues(values)
    const busy = [...this.refreshes.values()].filter(
      (r) => r.accountId === scope.accountId && this.running(scope, r),
    )
    if (busy.length >= MAX_CONCURRENT_REFRESHES) {
      throw ServiceQuotaExceededException(
        `A dashboard refresh is already running in this account (at most ${MAX_CONCURRENT_REFRESHES} at a time).`,
      )
    }
    const now = this.clock.now().getTime()
    const id = `${now}${String(this.seq++ % 1000).padStart(3, '0')}`
    const started: { alias: string; queryId: string }[] = []
    try {
      for (const w of d.widgets) {
        // Tagged with the refresh and alias: DescribeQuery(RefreshId, QueryAlias) finds it.
        // The widget's parameters go through StartQuery's QueryParameters binding.
        const q = await this.lake.startQuery(scope, w.queryStatement, mayRead, {
          alias: w.queryAlias,
          refreshId: id,
          parameters: parameterValues(w, resolved),
        })
        started.push({ alias: w.queryAlias, queryId: q.id })
      }
    } catch (err) {
      for (const s of started) {
        try {
          this.lake.cancelQuery(scope, s.queryId)
        } catch {
          // already ended
        }
      }
      const e =
        err instanceof ServiceError && err.code === MaxConcurrentQueriesException('').code
          ? ServiceQuotaExceededException(err.message)
          : err
      d.lastRefreshFailureReason = failureText(e)
      await this.save()
      throw e
    }
    for (const [key, r] of this.refreshes) {
      if (now - r.createdAt >= REFRESHES_KEPT_MS) this.refreshes.delete(key)
    }
    const r: Refresh = {
      id,
      dashboardArn: d.arn,
      accountId: scope.accountId,
      createdAt: now,
      queries: started,
    }
    this.refreshes.set(id, r)
    d.lastRefreshId = id
    delete d.lastRefreshFailureReason
    await this.save()
    return r
  }

  /**
   * The query a refresh started for a widget: the Lake keeps the alias and refresh ID with the
   * query record, so this answers for 7 days and across restarts.
   */
  queryOf(scope: Scope, refreshId: string, alias: string): string {
    return this.lake.queryByAlias(scope, alias, refreshId).id
  }

  private running(scope: Scope, r: Refresh): boolean {
    return r.queries.some((q) => {
      try {
        const s = this.lake.query(scope, q.queryId).status
        return s === 'QUEUED' || s === 'RUNNING'
      } catch {
        return false
      }
    })
  }

  private resolveValues(values: Record<string, string>): Record<string, string> {
    for (const [k, v] of Object.entries(values)) {
      if (!(PARAMETERS as readonly string[]).includes(k)) {
        throw ValidationException(
          `Query parameter ${k} is not valid; use ${PARAMETERS.join(', ')}.`,
        )
      }
      if (!VALUE_RE.test(v)) throw ValidationException(`The value of ${k} is not valid.`)
    }
    const now = this.clock.now()
    const end = values['$EndTime$'] !== undefined ? timeOf('$EndTime$', values['$EndTime$']) : now
    const start =
      values['$StartTime$'] !== undefined
        ? timeOf('$StartTime$', values['$StartTime$'])
        : new Date(end.getTime() - DAY)
    if (start > end) throw ValidationException('$StartTime$ must not be after $EndTime$.')
    const period = values['$Period$']
    if (period !== undefined && !(PERIODS as readonly string[]).includes(period)) {
      throw ValidationException(`$Period$ must be one of ${PERIODS.join(', ')}.`)
    }
    const span = end.getTime() - start.getTime()
    return {
      $StartTime$: lakeTime(start),
      $EndTime$: lakeTime(end),
      $Period$: period ?? (span <= 2 * HOUR ? 'minute' : span <= 3 * DAY ? 'hour' : 'day'),
    }
  }

  /**
   * Validates widgets (views, parameters, statements and the stores they name). The caller must
   * be allowed cloudtrail:StartQuery on every store a widget reads, so a dashboard holds only
   * queries its authors could run.
   */
  private async checkWidgets(
    scope: Scope,
    input: WidgetInput[],
    allowed: Allowed,
  ): Promise<Widget[]> {
    if (input.length > MAX_WIDGETS) {
      throw ServiceQuotaExceededException(
        `A custom dashboard can have at most ${MAX_WIDGETS} widgets.`,
      )
    }
    const sample = this.resolveValues({})
    const out: Widget[] = []
    for (const [i, w] of input.entries()) {
      if (w.queryStatement.trim() === '') {
        throw InvalidQueryStatementException(`Widget ${i + 1} has an empty query statement.`)
      }
      for (const [k, v] of Object.entries(w.viewProperties)) {
        if (!VIEW_KEY_RE.test(k)) throw ValidationException(`View property name ${k} is not valid.`)
        if (!VIEW_VALUE_RE.test(v)) {
          throw ValidationException(
            `View property ${k}: values are 1-128 letters, digits, spaces, periods, underscores and hyphens.`,
          )
        }
      }
      const params = w.queryParameters ?? []
      for (const p of params) {
        if (!(PARAMETERS as readonly string[]).includes(p)) {
          throw InvalidQueryStatementException(
            `Widget ${i + 1}: query parameter ${p} is not valid; use ${PARAMETERS.join(', ')}.`,
          )
        }
      }
      const holes = placeholders(w.queryStatement)
      if (holes !== params.length) {
        throw InvalidQueryStatementException(
          `Widget ${i + 1}: the statement has ${holes} ? placeholders but ${params.length} query parameters.`,
        )
      }
      await this.lake.engine.prepare(substitute(w, sample), (_t, ref) => {
        const st = this.lake.find(scope, ref.arn ?? ref.id)
        if (st.status === 'PENDING_DELETION') {
          throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
        }
        const denied = allowed('cloudtrail:StartQuery', st.arn)
        if (denied) throw denied
      })
      out.push({
        queryAlias: `widget${i + 1}`,
        queryStatement: w.queryStatement,
        ...(params.length ? { queryParameters: params } : {}),
        viewProperties: w.viewProperties,
      })
    }
    return out
  }

  // ---- the refresh schedule ----

  /** Sets when the schedule runs next (or clears it). */
  private plan(d: Dashboard): void {
    const s = d.refreshSchedule
    if (!s || s.status !== 'ENABLED' || !s.frequency) {
      delete d.nextScheduledRefresh
      return
    }
    d.nextScheduledRefresh = new Date(firstSlot(s, this.clock.now())).toISOString()
  }

  /** Runs the refreshes that are due; called every minute once started. */
  async tick(): Promise<void> {
    const now = this.clock.now().getTime()
    for (const d of [...this.dashboards]) {
      const s = d.refreshSchedule
      if (!d.nextScheduledRefresh || !s?.frequency || s.status !== 'ENABLED') continue
      let next = Date.parse(d.nextScheduledRefresh)
      if (next > now) continue
      const step = s.frequency.value * (s.frequency.unit === 'HOURS' ? HOUR : DAY)
      while (next <= now) next += step
      d.nextScheduledRefresh = new Date(next).toISOString()
      try {
        await this.refresh({ accountId: d.accountId, region: d.region }, d.arn, {})
      } catch (err) {
        this.logger?.warn({ dashboard: d.arn, err: String(err) }, 'Scheduled refresh failed.')
        await this.save()
      }
    }
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.tick().catch((err: unknown) =>
        this.logger?.error({ err: String(err) }, 'Dashboard schedule failed.'),
      )
    }, 60_000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
