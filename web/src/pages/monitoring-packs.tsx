/**
 * Security packs, provisioned in the browser through the same public APIs as `opentrail packs`
 * (src/packs/enable.ts): a pack is ordinary metric filters, alarms and rules. CIS AWS Foundations
 * 4.1-4.15 (metric filters on the trail's log group and alarms notifying a topic), protect-the-trail
 * (one event rule), and Sigma rules converted to event patterns (src/packs/sigma.ts, loaded on
 * demand). The definitions are the server's own modules, so the console and the CLI create the same
 * resources.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, CW, EVENTS, LOGS } from '../api'
import { alarmPath, type Alarm } from '../components/alarm-list'
import { allMetricFilters } from '../components/metric-filters'
import { linkProps } from '../router'
import * as sns from '../sns'
import { errorText } from '../util'
import { listRules } from './monitoring-rules'
import { SigmaPack } from './monitoring-sigma'
import { alertTopic, TopicPicker } from '../components/topic-picker'
import { CIS_CONTROLS, cisAlarm, cisMetricFilter } from '../../../src/packs/cis'
import {
  PROTECT_TRAIL_DESCRIPTION,
  PROTECT_TRAIL_PATTERN,
  PROTECT_TRAIL_RULE,
} from '../../../src/packs/protect-trail'

export function PacksPage() {
  return (
    <>
      <p class="lead">
        A pack is ordinary metric filters, alarms and rules, created here through the same APIs as{' '}
        <code>opentrail packs enable</code>; inspect or change them on the other Monitoring pages.
      </p>
      <CisPack />
      <ProtectTrailPack />
      <SigmaPack />
    </>
  )
}

function CisPack() {
  const [groups, setGroups] = useState<string[]>([])
  const [group, setGroup] = useState('')
  const [topic, setTopic] = useState('')
  const [filters, setFilters] = useState<Map<string, string>>(new Map())
  const [alarms, setAlarms] = useState<Map<string, Alarm>>(new Map())
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')
  const [busy, setBusy] = useState(false)

  async function load() {
    try {
      const [f, a] = await Promise.all([
        allMetricFilters(),
        call<{ MetricAlarms?: Alarm[] }>('DescribeAlarms', { AlarmNamePrefix: 'CIS-' }, CW),
      ])
      setFilters(
        new Map(
          f
            .filter((x) => x.filterName.startsWith('CIS-'))
            .map((x) => [x.filterName, x.logGroupName]),
        ),
      )
      setAlarms(new Map((a.MetricAlarms ?? []).map((x) => [x.AlarmName, x])))
    } catch (err) {
      setError(errorText(err))
    }
  }
  useEffect(() => {
    void load()
    void Promise.all([
      call<{ logGroups?: { logGroupName: string }[] }>('DescribeLogGroups', {}, LOGS),
      call<{ trailList?: { CloudWatchLogsLogGroupArn?: string }[] }>('DescribeTrails', {}),
    ])
      .then(([g, t]) => {
        const names = (g.logGroups ?? []).map((x) => x.logGroupName)
        const fromTrail = (t.trailList ?? [])
          .map((x) => /:log-group:([^:]+)/.exec(x.CloudWatchLogsLogGroupArn ?? '')?.[1])
          .filter((x): x is string => Boolean(x))
        const all = [...new Set([...fromTrail, ...names])]
        setGroups(all)
        setGroup(all[0] ?? '')
      })
      .catch((e: unknown) => setError(errorText(e)))
  }, [])

  async function enable(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      const topicArn = await alertTopic(topic)
      // A trail creates its log group on first delivery; the filters need it now.
      if (!(await groupExists(group))) await call('CreateLogGroup', { logGroupName: group }, LOGS)
      for (const c of CIS_CONTROLS) {
        await call('PutMetricFilter', cisMetricFilter(c, group), LOGS)
        await call('PutMetricAlarm', cisAlarm(c, topicArn), CW)
      }
      setNotice(`CIS pack enabled on ${group}: ${CIS_CONTROLS.length} metric filters and alarms.`)
      await load()
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  async function setActions(on: boolean) {
    setError('')
    try {
      await call(
        on ? 'EnableAlarmActions' : 'DisableAlarmActions',
        { AlarmNames: [...alarms.keys()] },
        CW,
      )
      setNotice(on ? 'CIS alarm actions enabled.' : 'CIS alarm actions disabled.')
      await load()
    } catch (err) {
      setError(errorText(err))
    }
  }

  const installed = alarms.size > 0
  return (
    <section class="panel" aria-labelledby="cis-title">
      <header>
        <h2 id="cis-title">CIS AWS Foundations 4.1–4.15</h2>
      </header>
      <p class="muted">
        Each control is a metric filter on the trail's log group (namespace CISBenchmark) and an
        alarm (Sum over 5 minutes ≥ 1) notifying a topic.
      </p>
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
      <form class="actions" onSubmit={(e) => void enable(e)}>
        <label>
          Log group to watch
          <input
            required
            list="cis-groups"
            value={group}
            onInput={(e) => setGroup(e.currentTarget.value)}
          />
          <datalist id="cis-groups">
            {groups.map((g) => (
              <option value={g} />
            ))}
          </datalist>
        </label>
        <TopicPicker label="Alert topic" value={topic} onChange={setTopic} />
        <button type="submit" class="primary" disabled={busy}>
          {installed ? 'Re-apply CIS pack' : 'Enable CIS pack'}
        </button>
        {installed && (
          <>
            <button type="button" onClick={() => void setActions(true)}>
              Enable CIS alarm actions
            </button>
            <button type="button" onClick={() => void setActions(false)}>
              Disable CIS alarm actions
            </button>
          </>
        )}
      </form>
      <table class="grid" aria-label="CIS controls">
        <thead>
          <tr>
            <th scope="col">Control</th>
            <th scope="col">Title and filter pattern</th>
            <th scope="col">Metric filter</th>
            <th scope="col">Alarm</th>
          </tr>
        </thead>
        <tbody>
          {CIS_CONTROLS.map((c) => {
            const a = alarms.get(c.name)
            return (
              <tr key={c.id}>
                <td>{c.id}</td>
                <td>
                  {c.title}
                  <details>
                    <summary>Filter pattern</summary>
                    <pre class="pattern">{c.filterPattern}</pre>
                  </details>
                </td>
                <td>{filters.get(c.name) ?? <span class="muted">not installed</span>}</td>
                <td>
                  {a ? (
                    <a {...linkProps(alarmPath(a.AlarmName))}>
                      <span class={`state ${a.StateValue}`}>{a.StateValue}</span>
                      {a.ActionsEnabled ? '' : ' (actions off)'}
                    </a>
                  ) : (
                    <span class="muted">not installed</span>
                  )}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </section>
  )
}

async function groupExists(name: string): Promise<boolean> {
  const r = await call<{ logGroups?: { logGroupName: string }[] }>(
    'DescribeLogGroups',
    { logGroupNamePrefix: name },
    LOGS,
  )
  return (r.logGroups ?? []).some((g) => g.logGroupName === name)
}

function ProtectTrailPack() {
  const [rule, setRule] = useState<
    { State: string; targets: { Arn: string }[] } | null | undefined
  >()
  const [topic, setTopic] = useState('')
  const [error, setError] = useState('')
  function load() {
    listRules(PROTECT_TRAIL_RULE)
      .then((rs) => setRule(rs.find((r) => r.Name === PROTECT_TRAIL_RULE) ?? null))
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(load, [])
  async function run(fn: () => Promise<unknown>) {
    setError('')
    try {
      await fn()
      load()
    } catch (err) {
      setError(errorText(err))
    }
  }
  const enable = () =>
    run(async () => {
      const topicArn = await alertTopic(topic)
      await call(
        'PutRule',
        {
          Name: PROTECT_TRAIL_RULE,
          EventPattern: JSON.stringify(PROTECT_TRAIL_PATTERN),
          Description: PROTECT_TRAIL_DESCRIPTION,
        },
        EVENTS,
      )
      await call(
        'PutTargets',
        { Rule: PROTECT_TRAIL_RULE, Targets: [{ Id: 'alerts', Arn: topicArn }] },
        EVENTS,
      )
    })
  return (
    <section class="panel" aria-labelledby="ptt-title">
      <header>
        <h2 id="ptt-title">Protect the trail</h2>
      </header>
      <p class="muted">{PROTECT_TRAIL_DESCRIPTION}.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <pre class="pattern" aria-label="Protect-the-trail event pattern">
        {JSON.stringify(PROTECT_TRAIL_PATTERN, null, 2)}
      </pre>
      <div class="actions">
        <span role="status">
          Rule {PROTECT_TRAIL_RULE}:{' '}
          {rule === undefined ? (
            '…'
          ) : rule === null ? (
            'not installed'
          ) : (
            <span class={`state ${rule.State}`}>{rule.State}</span>
          )}
          {rule &&
            rule.targets.length > 0 &&
            ` → ${rule.targets.map((t) => sns.topicName(t.Arn)).join(', ')}`}
        </span>
        {rule === null && (
          <>
            <TopicPicker label="Alert topic" value={topic} onChange={setTopic} />
            <button type="button" class="primary" onClick={() => void enable()}>
              Enable protect-the-trail
            </button>
          </>
        )}
        {rule && (
          <button
            type="button"
            onClick={() =>
              void run(() =>
                call(
                  rule.State === 'ENABLED' ? 'DisableRule' : 'EnableRule',
                  { Name: PROTECT_TRAIL_RULE },
                  EVENTS,
                ),
              )
            }
          >
            {rule.State === 'ENABLED'
              ? 'Disable protect-the-trail'
              : 'Enable protect-the-trail rule'}
          </button>
        )}
      </div>
    </section>
  )
}
