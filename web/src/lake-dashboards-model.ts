/**
 * Lake dashboards in the console: the wire shapes, widget templates, fetching a refresh's results
 * (DescribeQuery by RefreshId + QueryAlias, then GetQueryResults), and turning result rows into
 * chart series for uPlot.
 */
import { call } from './api'
import { str } from './util'

export interface WireWidget {
  QueryAlias?: string
  QueryStatement: string
  QueryParameters?: string[]
  ViewProperties: Record<string, string>
}

export interface WireDashboard {
  DashboardArn: string
  Type?: string
  Status?: string
  Widgets?: WireWidget[]
  RefreshSchedule?: {
    Frequency?: { Unit: 'HOURS' | 'DAYS'; Value: number }
    Status?: 'ENABLED' | 'DISABLED'
    TimeOfDay?: string
  }
  CreatedTimestamp?: number
  UpdatedTimestamp?: number
  LastRefreshId?: string
  LastRefreshFailureReason?: string
  TerminationProtectionEnabled?: boolean
}

export type ViewType = 'Table' | 'BarChart' | 'LineChart'

export const VIEWS: { value: ViewType; label: string }[] = [
  { value: 'Table', label: 'Table' },
  { value: 'BarChart', label: 'Bar chart' },
  { value: 'LineChart', label: 'Line chart (time series)' },
]

export const PARAMETERS = ['$StartTime$', '$EndTime$', '$Period$'] as const

/** The form behind one widget. */
export interface WidgetForm {
  title: string
  view: ViewType
  sql: string
  parameters: string
  x: string
  y: string
  series: string
}

export const nameOf = (arn: string) => arn.split('/').pop() ?? arn

/** AWS's view property values: letters, digits, spaces, periods, underscores, hyphens. */
export const VIEW_VALUE = /^[a-zA-Z0-9._\- ]{1,128}$/

export const TEMPLATES: { label: string; form: (store: string) => WidgetForm }[] = [
  {
    label: 'Calls by event name (bar chart)',
    form: (id) => ({
      title: 'Calls by event name',
      view: 'BarChart',
      sql: `SELECT eventName, count(*) AS calls\nFROM ${id}\nWHERE eventTime > '?' AND eventTime < '?'\nGROUP BY eventName\nORDER BY calls DESC\nLIMIT 20`,
      parameters: '$StartTime$, $EndTime$',
      x: 'eventName',
      y: 'calls',
      series: '',
    }),
  },
  {
    label: 'Calls over time, read and write (line chart)',
    form: (id) => ({
      title: 'Calls over time',
      view: 'LineChart',
      sql: `SELECT date_trunc('?', eventTime) AS period, if(readOnly, 'read', 'write') AS access, count(*) AS calls\nFROM ${id}\nWHERE eventTime > '?' AND eventTime < '?'\nGROUP BY 1, 2\nORDER BY 1, 2`,
      parameters: '$Period$, $StartTime$, $EndTime$',
      x: 'period',
      y: 'calls',
      series: 'access',
    }),
  },
  {
    label: 'Top error codes (table)',
    form: (id) => ({
      title: 'Top error codes',
      view: 'Table',
      sql: `SELECT errorCode, count(*) AS calls\nFROM ${id}\nWHERE errorCode IS NOT NULL AND eventTime > '?' AND eventTime < '?'\nGROUP BY errorCode\nORDER BY calls DESC\nLIMIT 20`,
      parameters: '$StartTime$, $EndTime$',
      x: '',
      y: '',
      series: '',
    }),
  },
]

export const emptyForm = (): WidgetForm => ({
  title: '',
  view: 'Table',
  sql: '',
  parameters: '',
  x: '',
  y: '',
  series: '',
})

export function formOf(w: WireWidget): WidgetForm {
  const v = w.ViewProperties
  const view = VIEWS.some((x) => x.value === v['View']) ? (v['View'] as ViewType) : 'Table'
  return {
    title: v['Title'] ?? '',
    view,
    sql: w.QueryStatement,
    parameters: (w.QueryParameters ?? []).join(', '),
    x: v['XAxisColumn'] ?? '',
    y: v['YAxisColumn'] ?? '',
    series: v['FilterColumn'] ?? '',
  }
}

/** The request widget for a form; throws a message for the form to show. */
export function widgetOf(f: WidgetForm): WireWidget {
  const params = f.parameters
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean)
  const holes = f.sql.split('?').length - 1
  if (params.length !== holes) {
    throw new Error(
      `The query has ${holes} ? placeholder${holes === 1 ? '' : 's'} but ${params.length} parameter${params.length === 1 ? '' : 's'}.`,
    )
  }
  const view: Record<string, string> = {
    View: f.view,
    Title: f.title.trim(),
    Height: '2',
    Width: '4',
  }
  if (f.view !== 'Table') {
    if (!f.x.trim() || !f.y.trim()) throw new Error('A chart needs an X axis and a Y axis column.')
    view['XAxisColumn'] = f.x.trim()
    view['YAxisColumn'] = f.y.trim()
    if (f.view === 'LineChart' && f.series.trim()) view['FilterColumn'] = f.series.trim()
  }
  for (const [k, v] of Object.entries(view)) {
    if (!VIEW_VALUE.test(v)) {
      throw new Error(
        `${k === 'Title' ? 'The title' : k} may use only letters, digits, spaces, periods, underscores and hyphens.`,
      )
    }
  }
  return {
    QueryStatement: f.sql,
    ...(params.length ? { QueryParameters: params } : {}),
    ViewProperties: view,
  }
}

/** The request form of existing widgets (without their aliases). */
export const requestWidgets = (ws: WireWidget[]): WireWidget[] =>
  ws.map((w) => ({
    QueryStatement: w.QueryStatement,
    ...(w.QueryParameters?.length ? { QueryParameters: w.QueryParameters } : {}),
    ViewProperties: w.ViewProperties,
  }))

export interface WidgetResult {
  status: string
  columns: string[]
  rows: string[][]
  error?: string
}

/** Waits for a refresh's widget query and reads its results (first 1,000 rows). */
export async function widgetResult(refreshId: string, alias: string): Promise<WidgetResult> {
  for (let i = 0; ; i++) {
    const d = await call<{ QueryId?: string; QueryStatus: string; ErrorMessage?: string }>(
      'DescribeQuery',
      { RefreshId: refreshId, QueryAlias: alias },
    )
    if (d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING') {
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (i + 1))))
      continue
    }
    const columns: string[] = []
    const rows: string[][] = []
    if (d.QueryStatus === 'FINISHED' && d.QueryId) {
      const page = await call<{ QueryResultRows?: Record<string, string>[][] }>('GetQueryResults', {
        QueryId: d.QueryId,
        MaxQueryResults: 1000,
      })
      for (const row of page.QueryResultRows ?? []) {
        if (!columns.length) for (const cell of row) columns.push(Object.keys(cell)[0] ?? '')
        rows.push(row.map((cell) => str(Object.values(cell)[0])))
      }
    }
    return {
      status: d.QueryStatus,
      columns,
      rows,
      ...(d.ErrorMessage ? { error: d.ErrorMessage } : {}),
    }
  }
}

export interface ChartData {
  /** Time axis (epoch seconds) or categories (index, with labels). */
  time: boolean
  x: number[]
  labels: string[]
  series: { name: string; values: (number | null)[] }[]
}

/** Lake timestamp text (`2026-01-02 03:04:05`, UTC) to epoch seconds. */
function epoch(v: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?/.test(v)) return undefined
  const iso = v.includes('T') || v.length === 10 ? v : v.replace(' ', 'T')
  const t = Date.parse(/Z|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`)
  return Number.isNaN(t) ? undefined : t / 1000
}

/**
 * Rows to chart series: X from `x`, values from `y` (numbers), one series per distinct value of
 * `series` when given. A line chart whose X values are all timestamps gets a time axis.
 */
export function chartData(
  r: WidgetResult,
  view: ViewType,
  x: string,
  y: string,
  series: string,
): ChartData | string {
  const xi = r.columns.indexOf(x)
  const yi = r.columns.indexOf(y)
  if (r.rows.length === 0) return 'No rows in this time range.'
  if (xi < 0) return `The result has no column ${x} (columns: ${r.columns.join(', ')}).`
  if (yi < 0) return `The result has no column ${y} (columns: ${r.columns.join(', ')}).`
  const si = series ? r.columns.indexOf(series) : -1
  if (series && si < 0) return `The result has no column ${series}.`
  const times = r.rows.map((row) => epoch(row[xi] ?? ''))
  const time = view === 'LineChart' && times.every((t) => t !== undefined)
  const keys: string[] = []
  const pos = new Map<string, number>()
  for (const row of r.rows) {
    const k = row[xi] ?? ''
    if (!pos.has(k)) {
      pos.set(k, keys.length)
      keys.push(k)
    }
  }
  let order = keys.map((_, i) => i)
  if (time) order = order.sort((a, b) => epoch(keys[a]!)! - epoch(keys[b]!)!)
  const slot = new Map(order.map((k, i) => [k, i]))
  const names = si < 0 ? [y] : [...new Set(r.rows.map((row) => row[si] ?? ''))]
  const out = names.map((name) => ({
    name,
    values: new Array<number | null>(keys.length).fill(null),
  }))
  for (const row of r.rows) {
    const s = si < 0 ? 0 : names.indexOf(row[si] ?? '')
    const v = Number(row[yi])
    out[s]!.values[slot.get(pos.get(row[xi] ?? '')!)!] = Number.isFinite(v) ? v : null
  }
  return {
    time,
    x: time ? order.map((k) => epoch(keys[k]!)!) : keys.map((_, i) => i),
    labels: order.map((k) => keys[k]!),
    series: out,
  }
}
