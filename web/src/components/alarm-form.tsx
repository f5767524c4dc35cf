/**
 * Create or edit a metric alarm (PutMetricAlarm; under the same name it replaces the alarm):
 * metric, statistic, period, threshold and comparison, evaluation periods, missing-data treatment,
 * and the SNS topics notified on ALARM and on OK.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, CW } from '../api'
import { listTopics, topicName } from '../sns'
import { errorText } from '../util'
import type { Alarm } from './alarm-list'
import { allMetricFilters } from './metric-filters'

const STATISTICS = ['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum']
const PERIODS = [
  { s: 60, label: '1 minute' },
  { s: 300, label: '5 minutes' },
  { s: 900, label: '15 minutes' },
  { s: 3600, label: '1 hour' },
  { s: 21600, label: '6 hours' },
  { s: 86400, label: '1 day' },
]
const COMPARISONS = [
  { v: 'GreaterThanOrEqualToThreshold', label: '>= threshold' },
  { v: 'GreaterThanThreshold', label: '> threshold' },
  { v: 'LessThanThreshold', label: '< threshold' },
  { v: 'LessThanOrEqualToThreshold', label: '<= threshold' },
]
const MISSING = ['missing', 'notBreaching', 'breaching', 'ignore']

interface Form {
  name: string
  description: string
  namespace: string
  metric: string
  statistic: string
  period: number
  evaluationPeriods: string
  datapointsToAlarm: string
  comparison: string
  threshold: string
  missing: string
  actionsEnabled: boolean
  alarmActions: string[]
  okActions: string[]
}

function formOf(a: Alarm | undefined, metric?: { namespace: string; metric: string }): Form {
  return {
    name: a?.AlarmName ?? '',
    description: a?.AlarmDescription ?? '',
    namespace: a?.Namespace ?? metric?.namespace ?? '',
    metric: a?.MetricName ?? metric?.metric ?? '',
    statistic: a?.Statistic ?? 'Sum',
    period: a?.Period ?? 60,
    evaluationPeriods: String(a?.EvaluationPeriods ?? 1),
    datapointsToAlarm: String(a?.DatapointsToAlarm ?? a?.EvaluationPeriods ?? 1),
    comparison: a?.ComparisonOperator ?? 'GreaterThanOrEqualToThreshold',
    threshold: String(a?.Threshold ?? 1),
    missing: a?.TreatMissingData ?? 'notBreaching',
    actionsEnabled: a?.ActionsEnabled ?? true,
    alarmActions: a?.AlarmActions ?? [],
    okActions: a?.OKActions ?? [],
  }
}

/** Metrics to pick from: those of metric filters, and those with datapoints (ListMetrics). */
async function knownMetrics(): Promise<string[]> {
  const out = new Set<string>()
  const [filters, metrics] = await Promise.all([
    allMetricFilters().catch(() => []),
    call<{ Metrics?: { Namespace: string; MetricName: string }[] }>('ListMetrics', {}, CW).catch(
      () => ({ Metrics: [] }),
    ),
  ])
  for (const f of filters)
    for (const t of f.metricTransformations) out.add(`${t.metricNamespace}/${t.metricName}`)
  for (const m of metrics.Metrics ?? []) out.add(`${m.Namespace}/${m.MetricName}`)
  return [...out].sort()
}

export function AlarmForm(props: {
  alarm?: Alarm
  metric?: { namespace: string; metric: string }
  onSaved: (name: string) => void
  onCancel: () => void
}) {
  const [form, setForm] = useState(() => formOf(props.alarm, props.metric))
  const [topics, setTopics] = useState<string[]>([])
  const [metrics, setMetrics] = useState<string[]>([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const set = (p: Partial<Form>) => setForm({ ...form, ...p })
  useEffect(() => {
    listTopics()
      .then(setTopics)
      .catch((e: unknown) => setError(errorText(e)))
    void knownMetrics().then(setMetrics)
  }, [])

  async function save(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      await call(
        'PutMetricAlarm',
        {
          AlarmName: form.name,
          ...(form.description ? { AlarmDescription: form.description } : {}),
          Namespace: form.namespace,
          MetricName: form.metric,
          ...(props.alarm?.Dimensions?.length ? { Dimensions: props.alarm.Dimensions } : {}),
          ...(props.alarm?.Unit ? { Unit: props.alarm.Unit } : {}),
          Statistic: form.statistic,
          Period: form.period,
          EvaluationPeriods: Number(form.evaluationPeriods),
          DatapointsToAlarm: Number(form.datapointsToAlarm),
          Threshold: Number(form.threshold),
          ComparisonOperator: form.comparison,
          TreatMissingData: form.missing,
          ActionsEnabled: form.actionsEnabled,
          AlarmActions: form.alarmActions,
          OKActions: form.okActions,
          ...(props.alarm?.InsufficientDataActions?.length
            ? { InsufficientDataActions: props.alarm.InsufficientDataActions }
            : {}),
        },
        CW,
      )
      props.onSaved(form.name)
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  const toggle = (list: 'alarmActions' | 'okActions', arn: string, on: boolean) =>
    set({ [list]: on ? [...form[list], arn] : form[list].filter((a) => a !== arn) })
  const topicBoxes = (list: 'alarmActions' | 'okActions', legend: string) => (
    <fieldset>
      <legend>{legend}</legend>
      {topics.length === 0 && <p class="muted">No topics. Create one under Topics.</p>}
      {[...new Set([...topics, ...form[list]])].map((arn) => (
        <label class="check" key={arn}>
          <input
            type="checkbox"
            checked={form[list].includes(arn)}
            onChange={(e) => toggle(list, arn, e.currentTarget.checked)}
          />
          {topicName(arn)}
        </label>
      ))}
    </fieldset>
  )

  return (
    <form onSubmit={(e) => void save(e)} aria-label="Alarm">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="form-grid">
        <label>
          Alarm name
          <input
            required
            value={form.name}
            readOnly={Boolean(props.alarm)}
            onInput={(e) => set({ name: e.currentTarget.value })}
          />
        </label>
        <label>
          Description
          <input
            value={form.description}
            onInput={(e) => set({ description: e.currentTarget.value })}
          />
        </label>
        <label>
          Metric (namespace/name)
          <input
            required
            list="known-metrics"
            value={form.namespace || form.metric ? `${form.namespace}/${form.metric}` : ''}
            placeholder="CloudTrailMetrics/ListBucketsCalls"
            onInput={(e) => {
              const v = e.currentTarget.value
              const i = v.lastIndexOf('/')
              set(
                i < 0
                  ? { namespace: '', metric: v }
                  : { namespace: v.slice(0, i), metric: v.slice(i + 1) },
              )
            }}
          />
          <datalist id="known-metrics">
            {metrics.map((m) => (
              <option value={m} />
            ))}
          </datalist>
        </label>
        <label>
          Statistic
          <select
            value={form.statistic}
            onChange={(e) => set({ statistic: e.currentTarget.value })}
          >
            {STATISTICS.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Period
          <select
            value={form.period}
            onChange={(e) => set({ period: Number(e.currentTarget.value) })}
          >
            {PERIODS.map((p) => (
              <option value={p.s}>{p.label}</option>
            ))}
          </select>
        </label>
        <label>
          Comparison
          <select
            value={form.comparison}
            onChange={(e) => set({ comparison: e.currentTarget.value })}
          >
            {COMPARISONS.map((c) => (
              <option value={c.v}>{c.label}</option>
            ))}
          </select>
        </label>
        <label>
          Threshold
          <input
            required
            inputMode="decimal"
            value={form.threshold}
            onInput={(e) => set({ threshold: e.currentTarget.value })}
          />
        </label>
        <label>
          Evaluation periods
          <input
            required
            type="number"
            min={1}
            value={form.evaluationPeriods}
            onInput={(e) => set({ evaluationPeriods: e.currentTarget.value })}
          />
        </label>
        <label>
          Datapoints to alarm
          <input
            required
            type="number"
            min={1}
            value={form.datapointsToAlarm}
            onInput={(e) => set({ datapointsToAlarm: e.currentTarget.value })}
          />
        </label>
        <label>
          Missing data
          <select value={form.missing} onChange={(e) => set({ missing: e.currentTarget.value })}>
            {MISSING.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
      </div>
      <label class="check">
        <input
          type="checkbox"
          checked={form.actionsEnabled}
          onChange={(e) => set({ actionsEnabled: e.currentTarget.checked })}
        />
        Actions enabled
      </label>
      {topicBoxes('alarmActions', 'Notify in ALARM')}
      {topicBoxes('okActions', 'Notify on return to OK')}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Save alarm
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
