/**
 * Monitoring: OpenTrail's own CloudWatch Logs, CloudWatch, SNS and EventBridge APIs, called as the
 * signed-in user. This file routes the section's pages (`monitoring`, `monitoring/alarms/NAME`, `monitoring/create-alarm`,
 * `monitoring/topics`, `monitoring/rules`, `monitoring/packs`) and holds the first one: log groups
 * searched with a filter pattern, their metric filters, and the alarms.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, LOGS } from '../api'
import { linkProps } from '../router'
import { errorText } from '../util'
import { AlarmList } from '../components/alarm-list'
import { LogSearch } from '../components/log-search'
import { MetricFilters } from '../components/metric-filters'
import { AlarmPage } from './monitoring-alarm'
import { TopicsPage } from './monitoring-topics'
import { RulesPage } from './monitoring-rules'
import { PacksPage } from './monitoring-packs'
import '../monitoring.css'

const SECTIONS = [
  { path: 'monitoring', label: 'Logs and alarms' },
  { path: 'monitoring/topics', label: 'Topics' },
  { path: 'monitoring/rules', label: 'Rules' },
  { path: 'monitoring/packs', label: 'Security packs' },
]

export function Monitoring({ path = 'monitoring' }: { path?: string }) {
  const current =
    SECTIONS.slice(1).find((s) => path === s.path || path.startsWith(s.path + '/'))?.path ??
    'monitoring'
  let page
  if (path === 'monitoring/create-alarm') page = <AlarmPage />
  else if (path.startsWith('monitoring/alarms/'))
    page = <AlarmPage name={decodeURIComponent(path.slice('monitoring/alarms/'.length))} />
  else if (current === 'monitoring/topics') page = <TopicsPage />
  else if (current === 'monitoring/rules') page = <RulesPage />
  else if (current === 'monitoring/packs') page = <PacksPage />
  else page = <LogsAndAlarms />
  return (
    <section aria-labelledby="mon-title">
      <h1 id="mon-title">Monitoring</h1>
      <nav class="subnav" aria-label="Monitoring pages">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.path}>
              <a {...linkProps(s.path)} aria-current={s.path === current ? 'page' : undefined}>
                {s.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {page}
    </section>
  )
}

function LogsAndAlarms() {
  const [groups, setGroups] = useState<string[] | undefined>()
  const [group, setGroup] = useState('')
  const [error, setError] = useState('')
  useEffect(() => {
    call<{ logGroups?: { logGroupName: string }[] }>('DescribeLogGroups', {}, LOGS)
      .then((r) => {
        const names = (r.logGroups ?? []).map((g) => g.logGroupName)
        setGroups(names)
        setGroup(names[0] ?? '')
      })
      .catch((e: unknown) => setError(errorText(e)))
  }, [])
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <LogSearch groups={groups} group={group} onGroup={setGroup} />
      {group && <MetricFilters group={group} />}
      <AlarmList />
    </>
  )
}
