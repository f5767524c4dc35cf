/**
 * Lake dashboards: the list (and creating one), and a dashboard's widgets, each a saved Lake query
 * drawn as a table, a bar chart or a line chart (uPlot). Adding, editing and removing widgets is
 * UpdateDashboard with the whole widget list, as in AWS; Refresh is StartDashboardRefresh, whose
 * widget queries are found with DescribeQuery(RefreshId, QueryAlias).
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { linkProps, navigate } from '../router'
import { errorText, fmtTime } from '../util'
import { WidgetChart } from '../components/widget-chart'
import {
  TEMPLATES,
  VIEWS,
  chartData,
  emptyForm,
  formOf,
  nameOf,
  requestWidgets,
  widgetOf,
  widgetResult,
  type ViewType,
  type WidgetForm,
  type WidgetResult,
  type WireDashboard,
  type WireWidget,
} from '../lake-dashboards-model'
import '../lake-dashboards.css'

export function LakeDashboards({ path }: { path: string }) {
  const rest = path.replace(/^lake\/dashboards\/?/, '')
  return rest ? <DashboardView name={decodeURIComponent(rest)} /> : <DashboardList />
}

/** The Lake page's sections: the query editor and the dashboards. */
export function LakeTabs({ current }: { current: 'query' | 'dashboards' }) {
  return (
    <nav class="tabs" aria-label="Lake sections">
      <a {...linkProps('lake')} aria-current={current === 'query' ? 'page' : undefined}>
        Query editor
      </a>
      <a
        {...linkProps('lake/dashboards')}
        aria-current={current === 'dashboards' ? 'page' : undefined}
      >
        Dashboards
      </a>
    </nav>
  )
}

function DashboardList() {
  const [list, setList] = useState<{ DashboardArn: string; Type: string }[] | undefined>()
  const [name, setName] = useState('')
  const [error, setError] = useState('')

  useEffect(() => {
    call<{ Dashboards?: { DashboardArn: string; Type: string }[] }>('ListDashboards', {})
      .then((r) => setList(r.Dashboards ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }, [])

  async function create(e: Event) {
    e.preventDefault()
    setError('')
    try {
      const r = await call<{ DashboardArn: string }>('CreateDashboard', { Name: name })
      navigate(`lake/dashboards/${encodeURIComponent(nameOf(r.DashboardArn))}`)
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section aria-labelledby="dashboards-title">
      <h1 id="dashboards-title">Lake dashboards</h1>
      <LakeTabs current="dashboards" />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <section class="panel" aria-labelledby="dash-list-title">
        <header>
          <h2 id="dash-list-title">Dashboards</h2>
        </header>
        {!list ? (
          <p>Loading…</p>
        ) : list.length === 0 ? (
          <p class="muted">
            No dashboards yet. A dashboard holds up to 10 widgets of saved queries.
          </p>
        ) : (
          <table class="grid" aria-label="Dashboards">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={d.DashboardArn}>
                  <td>
                    <a
                      {...linkProps(
                        `lake/dashboards/${encodeURIComponent(nameOf(d.DashboardArn))}`,
                      )}
                    >
                      {nameOf(d.DashboardArn)}
                    </a>
                  </td>
                  <td>{d.Type}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form class="inline" onSubmit={(e) => void create(e)}>
          <label>
            Dashboard name
            <input
              value={name}
              required
              pattern="[a-zA-Z0-9_\-]{3,128}"
              title="3-128 letters, digits, underscores and hyphens"
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Create dashboard</button>
        </form>
      </section>
    </section>
  )
}

const RANGES: { value: string; label: string; ms: number }[] = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
]

const SCHEDULES: { value: string; label: string; unit?: 'HOURS' | 'DAYS'; n?: number }[] = [
  { value: 'off', label: 'Off (refresh by hand)' },
  { value: '1h', label: 'Every hour', unit: 'HOURS', n: 1 },
  { value: '6h', label: 'Every 6 hours', unit: 'HOURS', n: 6 },
  { value: '12h', label: 'Every 12 hours', unit: 'HOURS', n: 12 },
  { value: '1d', label: 'Every day', unit: 'DAYS', n: 1 },
  { value: '7d', label: 'Every 7 days', unit: 'DAYS', n: 7 },
]

function scheduleValue(d: WireDashboard): string {
  const s = d.RefreshSchedule
  if (!s || s.Status !== 'ENABLED' || !s.Frequency) return 'off'
  return (
    SCHEDULES.find((x) => x.unit === s.Frequency!.Unit && x.n === s.Frequency!.Value)?.value ??
    'off'
  )
}

type Editing = { index: number; form: WidgetForm }

function DashboardView({ name }: { name: string }) {
  const [dash, setDash] = useState<WireDashboard | undefined>()
  const [stores, setStores] = useState<{ EventDataStoreArn: string; Name: string }[]>([])
  const [results, setResults] = useState<Record<string, WidgetResult | 'loading'>>({})
  const [range, setRange] = useState('24h')
  const [editing, setEditing] = useState<Editing | undefined>()
  const [error, setError] = useState('')
  const [busy, setBusy] = useState('')
  const [confirmDelete, setConfirmDelete] = useState(false)

  async function loadResults(d: WireDashboard) {
    const refreshId = d.LastRefreshId
    if (!refreshId) return
    const ws = d.Widgets ?? []
    setResults(Object.fromEntries(ws.map((w) => [w.QueryAlias ?? '', 'loading' as const])))
    await Promise.all(
      ws.map(async (w) => {
        const alias = w.QueryAlias ?? ''
        const r = await widgetResult(refreshId, alias).catch((e: unknown): WidgetResult => ({
          status: 'UNAVAILABLE',
          columns: [],
          rows: [],
          error: errorText(e),
        }))
        setResults((prev) => ({ ...prev, [alias]: r }))
      }),
    )
  }

  async function load() {
    try {
      const d = await call<WireDashboard>('GetDashboard', { DashboardId: name })
      setDash(d)
      void loadResults(d)
    } catch (e) {
      setError(errorText(e))
    }
  }

  useEffect(() => {
    void load()
    call<{ EventDataStores?: { EventDataStoreArn: string; Name: string }[] }>(
      'ListEventDataStores',
      {},
    )
      .then((r) => setStores(r.EventDataStores ?? []))
      .catch(() => undefined)
  }, [name])

  async function refresh() {
    setError('')
    setBusy('Refreshing…')
    try {
      const end = new Date()
      const start = new Date(end.getTime() - (RANGES.find((r) => r.value === range)?.ms ?? 0))
      const iso = (t: Date) => t.toISOString().replace(/\.\d{3}Z$/, 'Z')
      await call('StartDashboardRefresh', {
        DashboardId: name,
        QueryParameterValues: { $StartTime$: iso(start), $EndTime$: iso(end) },
      })
      const d = await call<WireDashboard>('GetDashboard', { DashboardId: name })
      setDash(d)
      await loadResults(d)
    } catch (e) {
      setError(errorText(e))
    }
    setBusy('')
  }

  async function saveWidgets(widgets: WireWidget[]) {
    setError('')
    await call('UpdateDashboard', { DashboardId: name, Widgets: widgets })
    setEditing(undefined)
    setResults({})
    await refresh()
  }

  async function submitWidget(e: Event) {
    e.preventDefault()
    if (!editing || !dash) return
    try {
      const w = widgetOf(editing.form)
      const list = requestWidgets(dash.Widgets ?? [])
      if (editing.index < 0) list.push(w)
      else list[editing.index] = w
      await saveWidgets(list)
    } catch (err) {
      setError(errorText(err))
    }
  }

  async function remove(i: number) {
    if (!dash) return
    const list = requestWidgets(dash.Widgets ?? [])
    list.splice(i, 1)
    await saveWidgets(list).catch((e: unknown) => setError(errorText(e)))
  }

  async function update(input: object) {
    setError('')
    try {
      await call('UpdateDashboard', { DashboardId: name, ...input })
      setDash(await call<WireDashboard>('GetDashboard', { DashboardId: name }))
    } catch (e) {
      setError(errorText(e))
    }
  }

  async function deleteDashboard() {
    setError('')
    try {
      await call('DeleteDashboard', { DashboardId: name })
      navigate('lake/dashboards')
    } catch (e) {
      setConfirmDelete(false)
      setError(errorText(e))
    }
  }

  const widgets = dash?.Widgets ?? []
  return (
    <section aria-labelledby="dashboard-title">
      <p class="crumbs">
        <a {...linkProps('lake/dashboards')}>Lake dashboards</a> /
      </p>
      <h1 id="dashboard-title">{name}</h1>
      <LakeTabs current="dashboards" />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!dash ? (
        !error && <p>Loading…</p>
      ) : (
        <>
          <section class="panel" aria-labelledby="settings-title">
            <header>
              <h2 id="settings-title">Refresh</h2>
            </header>
            <div class="actions">
              <label>
                Time range{' '}
                <select value={range} onChange={(e) => setRange(e.currentTarget.value)}>
                  {RANGES.map((r) => (
                    <option value={r.value}>{r.label}</option>
                  ))}
                </select>
              </label>
              <button
                type="button"
                class="primary"
                disabled={Boolean(busy) || widgets.length === 0}
                onClick={() => void refresh()}
              >
                {busy || 'Refresh'}
              </button>
              <label>
                Refresh schedule{' '}
                <select
                  value={scheduleValue(dash)}
                  onChange={(e) => {
                    const s = SCHEDULES.find((x) => x.value === e.currentTarget.value)!
                    void update({
                      RefreshSchedule: s.unit
                        ? { Frequency: { Unit: s.unit, Value: s.n }, Status: 'ENABLED' }
                        : { Status: 'DISABLED' },
                    })
                  }}
                >
                  {SCHEDULES.map((s) => (
                    <option value={s.value}>{s.label}</option>
                  ))}
                </select>
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={dash.TerminationProtectionEnabled ?? false}
                  onChange={(e) =>
                    void update({ TerminationProtectionEnabled: e.currentTarget.checked })
                  }
                />{' '}
                Termination protection
              </label>
            </div>
            <p class="muted" role="status">
              {dash.LastRefreshId
                ? `Last refresh ${dash.LastRefreshId} · updated ${fmtTime(dash.UpdatedTimestamp)}`
                : 'Not refreshed yet.'}
              {dash.LastRefreshFailureReason && ` · ${dash.LastRefreshFailureReason}`}
            </p>
          </section>
          {widgets.length === 0 && (
            <p class="muted">No widgets yet: add one below, from a template or your own query.</p>
          )}
          <div class="widgets">
            {widgets.map((w, i) => (
              <WidgetCard
                key={`${w.QueryAlias}-${i}`}
                widget={w}
                result={results[w.QueryAlias ?? '']}
                onEdit={() => setEditing({ index: i, form: formOf(w) })}
                onRemove={() => void remove(i)}
              />
            ))}
          </div>
          {editing ? (
            <WidgetEditor
              editing={editing}
              stores={stores}
              onChange={(form) => setEditing({ ...editing, form })}
              onSubmit={(e) => void submitWidget(e)}
              onCancel={() => setEditing(undefined)}
            />
          ) : (
            <div class="actions">
              <button
                type="button"
                disabled={widgets.length >= 10}
                onClick={() => setEditing({ index: -1, form: emptyForm() })}
              >
                Add widget
              </button>
              {confirmDelete ? (
                <>
                  <button type="button" class="danger" onClick={() => void deleteDashboard()}>
                    Confirm: delete {name}
                  </button>
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    Keep it
                  </button>
                </>
              ) : (
                <button type="button" onClick={() => setConfirmDelete(true)}>
                  Delete dashboard
                </button>
              )}
            </div>
          )}
        </>
      )}
    </section>
  )
}

function ResultTable({ r, label }: { r: WidgetResult; label: string }) {
  return (
    <div class="scroll-x">
      <table class="grid" aria-label={label}>
        <thead>
          <tr>
            {r.columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {r.rows.slice(0, 200).map((row) => (
            <tr>
              {row.map((v) => (
                <td>{v}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function WidgetCard(props: {
  widget: WireWidget
  result: WidgetResult | 'loading' | undefined
  onEdit: () => void
  onRemove: () => void
}) {
  const v = props.widget.ViewProperties
  const title = v['Title'] || props.widget.QueryAlias || 'Widget'
  const view = v['View'] ?? 'Table'
  const r = props.result
  const id = `w-${props.widget.QueryAlias ?? ''}`
  let body
  if (r === undefined) body = <p class="muted">Refresh the dashboard to run this query.</p>
  else if (r === 'loading') body = <p class="muted">Running…</p>
  else if (r.status !== 'FINISHED')
    body = (
      <p class="bad">
        {r.status}
        {r.error && `: ${r.error}`}
      </p>
    )
  else if (view === 'BarChart' || view === 'LineChart') {
    const data = chartData(
      r,
      view,
      v['XAxisColumn'] ?? '',
      v['YAxisColumn'] ?? '',
      v['FilterColumn'] ?? '',
    )
    body =
      typeof data === 'string' ? (
        <p class="muted">{data}</p>
      ) : (
        <>
          <WidgetChart
            data={data}
            kind={view}
            x={v['XAxisColumn'] ?? ''}
            y={v['YAxisColumn'] ?? ''}
            label={`${title}: ${view === 'BarChart' ? 'bar chart' : 'line chart'} of ${v['YAxisColumn']} by ${v['XAxisColumn']}`}
          />
          <details>
            <summary>Data ({r.rows.length} rows)</summary>
            <ResultTable r={r} label={`${title} data`} />
          </details>
        </>
      )
  } else {
    body =
      r.rows.length === 0 ? (
        <p class="muted">No rows in this time range.</p>
      ) : (
        <ResultTable r={r} label={title} />
      )
  }
  return (
    <article class="card widget" aria-labelledby={id}>
      <header>
        <h3 id={id}>{title}</h3>
        <span class="muted">{VIEWS.find((x) => x.value === view)?.label ?? view}</span>
        <button type="button" aria-label={`Edit ${title}`} onClick={props.onEdit}>
          Edit
        </button>
        <button type="button" aria-label={`Remove ${title}`} onClick={props.onRemove}>
          Remove
        </button>
      </header>
      {body}
    </article>
  )
}

function WidgetEditor(props: {
  editing: Editing
  stores: { EventDataStoreArn: string; Name: string }[]
  onChange: (f: WidgetForm) => void
  onSubmit: (e: Event) => void
  onCancel: () => void
}) {
  const f = props.editing.form
  const [store, setStore] = useState(props.stores[0]?.EventDataStoreArn ?? '')
  useEffect(() => {
    if (!store && props.stores[0]) setStore(props.stores[0].EventDataStoreArn)
  }, [props.stores])
  const set = (patch: Partial<WidgetForm>) => props.onChange({ ...f, ...patch })
  const chart = f.view !== 'Table'
  return (
    <section class="panel" aria-labelledby="editor-title">
      <header>
        <h2 id="editor-title">{props.editing.index < 0 ? 'Add widget' : 'Edit widget'}</h2>
      </header>
      {props.stores.length > 0 && (
        <div class="actions">
          <label>
            Template store{' '}
            <select value={store} onChange={(e) => setStore(e.currentTarget.value)}>
              {props.stores.map((s) => (
                <option value={s.EventDataStoreArn}>{s.Name}</option>
              ))}
            </select>
          </label>
          {TEMPLATES.map((t) => (
            <button type="button" onClick={() => props.onChange(t.form(nameOf(store)))}>
              {t.label}
            </button>
          ))}
        </div>
      )}
      <form class="widget-form" onSubmit={props.onSubmit}>
        <label>
          Title
          <input
            value={f.title}
            required
            maxLength={128}
            onInput={(e) => set({ title: e.currentTarget.value })}
          />
        </label>
        <label>
          View
          <select value={f.view} onChange={(e) => set({ view: e.currentTarget.value as ViewType })}>
            {VIEWS.map((v) => (
              <option value={v.value}>{v.label}</option>
            ))}
          </select>
        </label>
        <label class="wide">
          Widget SQL
          <textarea
            rows={7}
            spellcheck={false}
            required
            value={f.sql}
            onInput={(e) => set({ sql: e.currentTarget.value })}
          />
        </label>
        <label class="wide">
          Query parameters, one per ? in order
          <input
            value={f.parameters}
            placeholder="$StartTime$, $EndTime$"
            aria-describedby="params-hint"
            onInput={(e) => set({ parameters: e.currentTarget.value })}
          />
        </label>
        <p id="params-hint" class="hint wide">
          $StartTime$ and $EndTime$ are the refresh&apos;s time range (write them as &apos;?&apos;
          after eventTime), $Period$ a date_trunc unit chosen from it (minute, hour or day).
        </p>
        {chart && (
          <>
            <label>
              X axis column
              <input value={f.x} required onInput={(e) => set({ x: e.currentTarget.value })} />
            </label>
            <label>
              Y axis column
              <input value={f.y} required onInput={(e) => set({ y: e.currentTarget.value })} />
            </label>
            {f.view === 'LineChart' && (
              <label>
                Series column (optional)
                <input value={f.series} onInput={(e) => set({ series: e.currentTarget.value })} />
              </label>
            )}
          </>
        )}
        <div class="actions wide">
          <button type="submit" class="primary">
            Save widget
          </button>
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  )
}
