/**
 * A log group's metric filters (DescribeMetricFilters): create, edit (PutMetricFilter under the
 * same name replaces it), delete, and "test pattern" (TestMetricFilter) against sample log events,
 * typed or taken from the group's recent events.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, LOGS } from '../api'
import { linkProps } from '../router'
import { errorText } from '../util'
import { ConfirmButton } from './confirm-button'
import { filterLogEvents } from './log-search'

interface Transformation {
  metricName: string
  metricNamespace: string
  metricValue: string
  defaultValue?: number
  dimensions?: Record<string, string>
  unit?: string
}
export interface MetricFilter {
  filterName: string
  filterPattern: string
  logGroupName: string
  metricTransformations: Transformation[]
}
interface Match {
  eventNumber: number
  eventMessage: string
  extractedValues?: Record<string, string>
}

/** Every metric filter of the account and region (all log groups), page by page. */
export async function allMetricFilters(): Promise<MetricFilter[]> {
  const out: MetricFilter[] = []
  let token: string | undefined
  do {
    const r = await call<{ metricFilters?: MetricFilter[]; nextToken?: string }>(
      'DescribeMetricFilters',
      token ? { nextToken: token } : {},
      LOGS,
    )
    out.push(...(r.metricFilters ?? []))
    token = r.nextToken
  } while (token)
  return out
}

const EMPTY = {
  name: '',
  pattern: '',
  namespace: 'CloudTrailMetrics',
  metric: '',
  value: '1',
  def: '',
}
type Form = typeof EMPTY

export function MetricFilters({ group }: { group: string }) {
  const [filters, setFilters] = useState<MetricFilter[] | undefined>()
  const [form, setForm] = useState<Form | undefined>()
  /** The transformation of the filter being edited: its dimensions and unit are kept. */
  const [editing, setEditing] = useState<Transformation | undefined>()
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')

  function load() {
    call<{ metricFilters?: MetricFilter[] }>('DescribeMetricFilters', { logGroupName: group }, LOGS)
      .then((r) => setFilters(r.metricFilters ?? []))
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(() => {
    setForm(undefined)
    setNotice('')
    load()
  }, [group])

  function edit(f: MetricFilter) {
    const t = f.metricTransformations[0]
    setEditing(t ?? { metricName: '', metricNamespace: '', metricValue: '1' })
    setForm({
      name: f.filterName,
      pattern: f.filterPattern,
      namespace: t?.metricNamespace ?? '',
      metric: t?.metricName ?? '',
      value: t?.metricValue ?? '1',
      def: t?.defaultValue === undefined ? '' : String(t.defaultValue),
    })
  }

  async function save(e: Event) {
    e.preventDefault()
    if (!form) return
    setError('')
    try {
      await call(
        'PutMetricFilter',
        {
          logGroupName: group,
          filterName: form.name,
          filterPattern: form.pattern,
          metricTransformations: [
            {
              ...(editing?.dimensions ? { dimensions: editing.dimensions } : {}),
              ...(editing?.unit ? { unit: editing.unit } : {}),
              metricName: form.metric,
              metricNamespace: form.namespace,
              metricValue: form.value,
              ...(form.def.trim() ? { defaultValue: Number(form.def) } : {}),
            },
          ],
        },
        LOGS,
      )
      setNotice(`Metric filter ${form.name} saved.`)
      setForm(undefined)
      load()
    } catch (err) {
      setError(errorText(err))
    }
  }

  async function remove(name: string) {
    setError('')
    try {
      await call('DeleteMetricFilter', { logGroupName: group, filterName: name }, LOGS)
      setNotice(`Metric filter ${name} deleted.`)
      load()
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section class="panel" aria-labelledby="mf-title">
      <header>
        <h2 id="mf-title">Metric filters</h2>
        <button
          type="button"
          onClick={() => {
            setEditing(undefined)
            setForm({ ...EMPTY })
          }}
        >
          Create metric filter
        </button>
      </header>
      <p class="muted">Of the log group {group}.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {form && (
        <MetricFilterForm
          group={group}
          form={form}
          editing={editing !== undefined}
          onChange={setForm}
          onSubmit={(e) => void save(e)}
          onCancel={() => setForm(undefined)}
        />
      )}
      {!filters ? (
        <p>Loading…</p>
      ) : filters.length === 0 ? (
        <p class="muted">No metric filters on this log group.</p>
      ) : (
        <table class="grid" aria-label="Metric filters">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Pattern</th>
              <th scope="col">Metric</th>
              <th scope="col">Value</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {filters.map((f) => {
              const t = f.metricTransformations[0]
              return (
                <tr key={f.filterName}>
                  <td>{f.filterName}</td>
                  <td class="message">{f.filterPattern}</td>
                  <td>
                    {t?.metricNamespace}/{t?.metricName}
                  </td>
                  <td>{t?.metricValue}</td>
                  <td>
                    <div class="actions">
                      <button
                        type="button"
                        aria-label={`Edit ${f.filterName}`}
                        onClick={() => edit(f)}
                      >
                        Edit
                      </button>
                      {t && (
                        <a
                          class="button"
                          aria-label={`Create alarm on ${t.metricName}`}
                          {...linkProps(
                            `monitoring/create-alarm?namespace=${encodeURIComponent(t.metricNamespace)}&metric=${encodeURIComponent(t.metricName)}`,
                          )}
                        >
                          Create alarm
                        </a>
                      )}
                      <ConfirmButton
                        label={`Delete ${f.filterName}`}
                        onConfirm={() => remove(f.filterName)}
                      />
                    </div>
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </section>
  )
}

function MetricFilterForm(props: {
  group: string
  form: Form
  editing: boolean
  onChange: (f: Form) => void
  onSubmit: (e: Event) => void
  onCancel: () => void
}) {
  const { form } = props
  const set = (p: Partial<Form>) => props.onChange({ ...form, ...p })
  const [samples, setSamples] = useState('')
  const [matches, setMatches] = useState<Match[] | undefined>()
  const [testError, setTestError] = useState('')

  async function loadSamples() {
    setTestError('')
    try {
      const events = await filterLogEvents(props.group, Date.now() - 86_400_000, '', 50)
      setSamples(events.map((e) => e.message).join('\n'))
    } catch (err) {
      setTestError(errorText(err))
    }
  }

  async function test() {
    setTestError('')
    setMatches(undefined)
    try {
      const lines = samples.split('\n').filter((l) => l.trim())
      const r = await call<{ matches?: Match[] }>(
        'TestMetricFilter',
        { filterPattern: form.pattern, logEventMessages: lines },
        LOGS,
      )
      setMatches(r.matches ?? [])
    } catch (err) {
      setTestError(errorText(err))
    }
  }

  const field = (label: string, key: keyof Form, extra: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input value={form[key]} onInput={(e) => set({ [key]: e.currentTarget.value })} {...extra} />
    </label>
  )
  return (
    <form onSubmit={props.onSubmit} aria-label="Metric filter">
      <div class="form-grid">
        {field('Filter name', 'name', { required: true, readOnly: props.editing })}
        {field('Metric namespace', 'namespace', { required: true })}
        {field('Metric name', 'metric', { required: true })}
        {field('Metric value', 'value', { required: true, placeholder: '1 or $.field' })}
        {field('Default value (optional)', 'def', { inputMode: 'decimal' })}
      </div>
      <label for="mf-pattern">Filter pattern</label>
      <textarea
        id="mf-pattern"
        rows={3}
        spellcheck={false}
        value={form.pattern}
        onInput={(e) => set({ pattern: e.currentTarget.value })}
      />
      <fieldset>
        <legend>Test pattern</legend>
        <label for="mf-samples">Sample log events (one per line)</label>
        <textarea
          id="mf-samples"
          rows={5}
          spellcheck={false}
          value={samples}
          onInput={(e) => setSamples(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="button" onClick={() => void loadSamples()}>
            Use recent events of the log group
          </button>
          <button type="button" onClick={() => void test()}>
            Test pattern
          </button>
        </div>
        {testError && (
          <p class="error" role="alert">
            {testError}
          </p>
        )}
        {matches && (
          <div role="region" aria-label="Pattern test result">
            <p role="status">
              {matches.length} of {samples.split('\n').filter((l) => l.trim()).length} sample events
              match
            </p>
            {matches.length > 0 && (
              <table class="grid" aria-label="Matching sample events">
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Message</th>
                    <th scope="col">Extracted values</th>
                  </tr>
                </thead>
                <tbody>
                  {matches.map((m) => (
                    <tr key={m.eventNumber}>
                      <td>{m.eventNumber}</td>
                      <td class="message">{m.eventMessage}</td>
                      <td class="message">{JSON.stringify(m.extractedValues ?? {})}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary">
          Save metric filter
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
