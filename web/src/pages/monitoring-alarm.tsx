/**
 * One alarm: its configuration and state (DescribeAlarms), edit (PutMetricAlarm), actions on or off
 * (EnableAlarmActions / DisableAlarmActions), delete (DeleteAlarms), the metric chart with the
 * threshold and the state history. Without a name: the create form, prefilled from
 * `?namespace=&metric=` (the metric filters' "Create alarm").
 */
import { useEffect, useState } from 'preact/hooks'
import { call, CW } from '../api'
import { alarmPath, type Alarm } from '../components/alarm-list'
import { AlarmForm } from '../components/alarm-form'
import { AlarmHistory } from '../components/alarm-history'
import { ConfirmButton } from '../components/confirm-button'
import { MetricChart } from '../components/metric-chart'
import { linkProps, navigate } from '../router'
import { topicName } from '../sns'
import { errorText, fmtTime } from '../util'

const REFRESH_MS = 10_000

export function AlarmPage({ name }: { name?: string }) {
  if (name === undefined) {
    const q = new URLSearchParams(location.search)
    const metric = q.get('metric')
      ? { namespace: q.get('namespace') ?? '', metric: q.get('metric') ?? '' }
      : undefined
    return (
      <section class="panel" aria-labelledby="new-alarm-title">
        <header>
          <h2 id="new-alarm-title">Create alarm</h2>
        </header>
        <AlarmForm
          {...(metric ? { metric } : {})}
          onSaved={(n) => navigate(alarmPath(n))}
          onCancel={() => navigate('monitoring')}
        />
      </section>
    )
  }
  return <AlarmDetail name={name} />
}

function AlarmDetail({ name }: { name: string }) {
  const [alarm, setAlarm] = useState<Alarm | null | undefined>()
  const [editing, setEditing] = useState(false)
  const [refresh, setRefresh] = useState(0)
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')

  useEffect(() => {
    call<{ MetricAlarms?: Alarm[] }>('DescribeAlarms', { AlarmNames: [name] }, CW)
      .then((r) => setAlarm(r.MetricAlarms?.[0] ?? null))
      .catch((e: unknown) => setError(errorText(e)))
  }, [name, refresh])
  useEffect(() => {
    const timer = setInterval(() => setRefresh((n) => n + 1), REFRESH_MS)
    return () => clearInterval(timer)
  }, [])

  async function act(operation: string, input: object, done: string) {
    setError('')
    try {
      await call(operation, input, CW)
      setNotice(done)
      setRefresh((n) => n + 1)
    } catch (err) {
      setError(errorText(err))
    }
  }

  if (alarm === undefined) return error ? <p class="error">{error}</p> : <p>Loading…</p>
  if (alarm === null)
    return (
      <p>
        There is no alarm named {name}. <a {...linkProps('monitoring')}>Back to the alarms</a>.
      </p>
    )
  const a = alarm
  return (
    <>
      <p class="crumbs">
        <a {...linkProps('monitoring')}>Logs and alarms</a> › {a.AlarmName}
      </p>
      <div class="title-row">
        <h2>
          {a.AlarmName} <span class={`state ${a.StateValue}`}>{a.StateValue}</span>
        </h2>
        <button type="button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
          Edit alarm
        </button>
        <button
          type="button"
          onClick={() =>
            void act(
              a.ActionsEnabled ? 'DisableAlarmActions' : 'EnableAlarmActions',
              { AlarmNames: [a.AlarmName] },
              a.ActionsEnabled ? 'Actions disabled.' : 'Actions enabled.',
            )
          }
        >
          {a.ActionsEnabled ? 'Disable actions' : 'Enable actions'}
        </button>
        <ConfirmButton
          label="Delete alarm"
          onConfirm={async () => {
            await act('DeleteAlarms', { AlarmNames: [a.AlarmName] }, 'Alarm deleted.')
            navigate('monitoring')
          }}
        />
      </div>
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
      {editing ? (
        <section class="panel" aria-label="Edit alarm">
          <AlarmForm
            alarm={a}
            onSaved={() => {
              setEditing(false)
              setNotice('Alarm saved.')
              setRefresh((n) => n + 1)
            }}
            onCancel={() => setEditing(false)}
          />
        </section>
      ) : (
        <section class="panel" aria-label="Alarm details">
          <dl class="summary">
            <dt>State reason</dt>
            <dd>{a.StateReason}</dd>
            <dt>Since</dt>
            <dd>{fmtTime(a.StateUpdatedTimestamp)}</dd>
            <dt>Metric</dt>
            <dd>
              {a.Namespace}/{a.MetricName}
              {a.Dimensions?.map((d) => ` ${d.Name}=${d.Value}`).join(',')}
            </dd>
            <dt>Condition</dt>
            <dd>
              {a.Statistic} over {(a.Period ?? 0) / 60} min {a.ComparisonOperator} {a.Threshold},{' '}
              {a.DatapointsToAlarm ?? a.EvaluationPeriods} of {a.EvaluationPeriods} periods; missing
              data: {a.TreatMissingData}
            </dd>
            <dt>Notify in ALARM</dt>
            <dd>{a.AlarmActions?.map(topicName).join(', ') || '-'}</dd>
            <dt>Notify on OK</dt>
            <dd>{a.OKActions?.map(topicName).join(', ') || '-'}</dd>
            <dt>Actions</dt>
            <dd>{a.ActionsEnabled ? 'enabled' : 'disabled'}</dd>
            {a.AlarmDescription && (
              <>
                <dt>Description</dt>
                <dd>{a.AlarmDescription}</dd>
              </>
            )}
          </dl>
        </section>
      )}
      <MetricChart alarm={a} refresh={refresh} />
      <AlarmHistory name={a.AlarmName} refresh={refresh} />
    </>
  )
}
