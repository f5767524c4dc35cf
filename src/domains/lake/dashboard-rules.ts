/**
 * @module domains/lake/dashboard-rules
 * The shapes of Lake dashboards (widgets, refresh schedules, refreshes), their errors and limits,
 * and the pure rules the service applies: schedule checks and slots, `?` placeholders and the
 * `$StartTime$`/`$EndTime$`/`$Period$` values substituted for them.
 */
import { bindParameters, placeholdersOf } from '../../lake/sql-params.js'
import { ServiceError, ValidationException, awsError } from '../../shared/errors.js'
import type { Tag } from '../trails/model.js'

export const ResourceNotFoundException = awsError('ResourceNotFoundException')
export const ConflictException = awsError('ConflictException')
export const ServiceQuotaExceededException = awsError('ServiceQuotaExceededException')
export const UnsupportedOperationException = awsError('UnsupportedOperationException')
export const InvalidParameterException = awsError('InvalidParameterException')

/** Widgets per custom dashboard (AWS's limit). */
export const MAX_WIDGETS = 10
/** Dashboards per account and region (OpenTrail's limit). */
export const MAX_DASHBOARDS = 100
/** Refreshes running at once per account (AWS's quota: 1). */
export const MAX_CONCURRENT_REFRESHES = 1
/** The managed dashboard OpenTrail does not provide. */
export const HIGHLIGHTS = 'AWSCloudTrail-Highlights'
/** The parameters a widget's statement may take. */
export const PARAMETERS = ['$StartTime$', '$EndTime$', '$Period$'] as const
/** `$Period$` values: a `date_trunc` unit. */
export const PERIODS = ['minute', 'hour', 'day', 'week', 'month'] as const

export const DAY = 86_400_000
export const HOUR = 3_600_000
export const REFRESHES_KEPT_MS = 7 * DAY

export interface Widget {
  queryAlias: string
  queryStatement: string
  queryParameters?: string[]
  viewProperties: Record<string, string>
}

export type WidgetInput = Omit<Widget, 'queryAlias'>

export interface RefreshSchedule {
  frequency?: { unit: 'HOURS' | 'DAYS'; value: number }
  status?: 'ENABLED' | 'DISABLED'
  timeOfDay?: string
}

export interface Dashboard {
  name: string
  arn: string
  accountId: string
  region: string
  type: 'CUSTOM'
  status: 'CREATED' | 'UPDATED'
  widgets: Widget[]
  refreshSchedule?: RefreshSchedule
  terminationProtectionEnabled: boolean
  tags: Tag[]
  createdTimestamp: string
  updatedTimestamp: string
  lastRefreshId?: string
  /** Why the last refresh could not start (a failed widget query is reported by get()). */
  lastRefreshFailureReason?: string
  /** When the refresh schedule runs next (ISO time). */
  nextScheduledRefresh?: string
}

export interface Refresh {
  id: string
  dashboardArn: string
  accountId: string
  createdAt: number
  queries: { alias: string; queryId: string }[]
}

export const NAME_RE = /^[a-zA-Z0-9_-]{3,128}$/
export const ARN_RE =
  /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):dashboard\/([a-zA-Z0-9_-]+)$/
export const VIEW_KEY_RE = /^[a-zA-Z0-9._-]{3,128}$/
export const VIEW_VALUE_RE = /^[a-zA-Z0-9._\- ]{1,128}$/
export const VALUE_RE = /^[a-zA-Z0-9._/\-:]{1,128}$/
export const TIME_OF_DAY_RE = /^([01][0-9]|2[0-3]):([0-5][0-9])$/

/** The IAM check of the caller for an action on a resource: the error to throw, if any. */
export type Allowed = (action: string, arn: string) => ServiceError | undefined

export function checkScheduler(allowed: Allowed, arn: string): void {
  const denied = allowed('cloudtrail:StartDashboardRefresh', arn)
  if (denied) throw denied
}

export function failureText(err: unknown): string {
  const text = err instanceof ServiceError ? `${err.code}: ${err.message}` : String(err)
  return text.length < 4 ? `${text}    ` : text.slice(0, 1000)
}

export function checkSchedule(s: RefreshSchedule): RefreshSchedule {
  if (s.frequency) {
    const { unit, value } = s.frequency
    const max = unit === 'HOURS' ? 24 : 30
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw ValidationException(`Refresh frequency in ${unit} must be between 1 and ${max}.`)
    }
  }
  if (s.timeOfDay !== undefined && !TIME_OF_DAY_RE.test(s.timeOfDay)) {
    throw ValidationException('TimeOfDay is HH:MM in UTC (00:00 to 23:59).')
  }
  if (s.status === 'ENABLED' && !s.frequency) {
    throw ValidationException('An enabled refresh schedule needs a Frequency.')
  }
  return s
}

/** The first scheduled time after `now`: hourly at TimeOfDay's minute, daily at TimeOfDay. */
export function firstSlot(s: RefreshSchedule, now: Date): number {
  const [hh, mm] = (s.timeOfDay ?? '00:00').split(':').map(Number) as [number, number]
  const t = new Date(now)
  if (s.frequency?.unit === 'HOURS') {
    t.setUTCMinutes(mm, 0, 0)
    if (t.getTime() <= now.getTime()) t.setTime(t.getTime() + HOUR)
  } else {
    t.setUTCHours(hh, mm, 0, 0)
    if (t.getTime() <= now.getTime()) t.setTime(t.getTime() + DAY)
  }
  return t.getTime()
}

/** Counts `?` placeholders (bare `?` and `'?'`; not a `?` inside other literals or comments). */
export function placeholders(statement: string): number {
  return placeholdersOf(statement).length
}

/** The values of a widget's parameters (`$StartTime$`, ...), in its placeholders' order. */
export function parameterValues(w: WidgetInput, values: Record<string, string>): string[] {
  return (w.queryParameters ?? []).map((p) => values[p] ?? '')
}

/** The statement with its placeholders bound to its parameters' values (as StartQuery binds). */
export function substitute(w: WidgetInput, values: Record<string, string>): string {
  return bindParameters(w.queryStatement, parameterValues(w, values))
}

/** Parses a $StartTime$/$EndTime$ value: ISO 8601 (no spaces) or epoch seconds. */
export function timeOf(name: string, v: string): Date {
  const d = /^\d{9,11}$/.test(v) ? new Date(Number(v) * 1000) : new Date(v)
  if (Number.isNaN(d.getTime()) || !/^\d/.test(v)) {
    throw ValidationException(`${name} must be an ISO 8601 time or epoch seconds.`)
  }
  return d
}

/**
 * A time as Lake SQL's timestamp text (`YYYY-MM-DD HH:MM:SS.mmm`, UTC). The milliseconds matter:
 * an event of the current second is before a default `$EndTime$` of now.
 */
export function lakeTime(d: Date): string {
  return d.toISOString().slice(0, 23).replace('T', ' ')
}
