import { useEffect, useState } from 'preact/hooks'
import { call, type Identity } from '../api'
import { linkProps } from '../router'
import { describeTrails, trailStatus, type Trail, type TrailStatus } from '../trails-model'
import { errorText, fmtTime } from '../util'
import { getPosture, type PostureReport } from './posture'

interface Recent {
  EventId?: string
  EventName?: string
  EventTime?: number
  Username?: string
  EventSource?: string
  CloudTrailEvent?: string
}

export function Dashboard({ identity }: { identity: Identity }) {
  const [trails, setTrails] = useState<{ trail: Trail; status?: TrailStatus }[] | undefined>()
  const [recent, setRecent] = useState<Recent[] | undefined>()
  const [failed, setFailed] = useState<Recent[] | undefined>()
  const [error, setError] = useState('')
  const [posture, setPosture] = useState<PostureReport | null | undefined>()
  const [alarms, setAlarms] = useState<{ AlarmName: string; StateReason?: string }[] | null>()
  const [insights, setInsights] = useState<
    { AnomalyId: string; EventName: string; InsightType: string; State: string }[] | null
  >()

  useEffect(() => {
    describeTrails()
      .then(async (list) =>
        setTrails(
          await Promise.all(
            list.map(async (trail) => ({
              trail,
              status: await trailStatus(trail.TrailARN).catch(() => undefined),
            })),
          ),
        ),
      )
      .catch((e: unknown) => setError(errorText(e)))
    call<{ Events?: Recent[] }>('LookupEvents', { MaxResults: 10 })
      .then((r) => setRecent(r.Events ?? []))
      .catch((e: unknown) => setError(errorText(e)))
    call<{ Events?: Recent[] }>('LookupEvents', {
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ConsoleLogin' }],
      StartTime: Date.now() / 1000 - 86_400,
      MaxResults: 50,
    })
      .then((r) =>
        setFailed(
          (r.Events ?? []).filter((e) => /"ConsoleLogin":"Failure"/.test(e.CloudTrailEvent ?? '')),
        ),
      )
      .catch(() => setFailed([]))
    getPosture()
      .then(setPosture)
      .catch(() => setPosture(null))
    call<{ MetricAlarms?: { AlarmName: string; StateReason?: string }[] }>(
      'DescribeAlarms',
      { StateValue: 'ALARM' },
      'GraniteServiceVersion20100801',
    )
      .then((r) => setAlarms(r.MetricAlarms ?? []))
      .catch(() => setAlarms(null))
    call<{
      Anomalies?: { AnomalyId: string; EventName: string; InsightType: string; State: string }[]
    }>('ListInsightsAnomalies', { MaxResults: 5 }, 'OpenTrailInsights_20250601')
      .then((r) => setInsights(r.Anomalies ?? []))
      .catch(() => setInsights(null))
  }, [])

  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <p class="lead">
        Signed in as <strong>{identity.arn}</strong>.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="cards">
        <article class="card" aria-labelledby="card-trails">
          <h2 id="card-trails">Trails</h2>
          {!trails ? (
            <p>Loading…</p>
          ) : trails.length === 0 ? (
            <p>
              No trails yet. <a {...linkProps('trails/create')}>Create a trail</a> to keep log files
              of your events.
            </p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last delivery</th>
                </tr>
              </thead>
              <tbody>
                {trails.map(({ trail, status }) => (
                  <tr>
                    <td>
                      <a {...linkProps(`trails/${encodeURIComponent(trail.Name)}`)}>{trail.Name}</a>
                    </td>
                    <td>
                      {status?.IsLogging ? (
                        <span class="ok">Logging</span>
                      ) : (
                        <span class="bad">Not logging</span>
                      )}
                      {status?.LatestDeliveryError && (
                        <span class="bad"> · {status.LatestDeliveryError}</span>
                      )}
                    </td>
                    <td>{fmtTime(status?.LatestDeliveryTime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </article>
        <article class="card" aria-labelledby="card-failed">
          <h2 id="card-failed">Failed sign-ins (24 h)</h2>
          {!failed ? (
            <p>Loading…</p>
          ) : failed.length === 0 ? (
            <p class="ok">None.</p>
          ) : (
            <ul class="plain">
              {failed.slice(0, 8).map((e) => (
                <li>
                  {fmtTime(e.EventTime)} · {e.Username ?? 'unknown user'}
                </li>
              ))}
            </ul>
          )}
          <a {...linkProps('events?EventName=ConsoleLogin&range=1d')}>All sign-ins</a>
        </article>
        <article class="card" aria-labelledby="card-posture">
          <h2 id="card-posture">Security posture</h2>
          {posture === undefined ? (
            <p>Evaluating…</p>
          ) : posture === null ? (
            <p class="muted">Not available to this user.</p>
          ) : (
            <>
              <p>
                <span class="ok">{posture.Summary.Passed} passed</span> ·{' '}
                <span class="bad">{posture.Summary.Failed} failed</span>
              </p>
              <ul class="plain">
                {posture.Controls.filter((c) => c.Status === 'FAILED')
                  .slice(0, 5)
                  .map((c) => (
                    <li class="bad">
                      {c.ControlId} {c.Title}
                    </li>
                  ))}
              </ul>
            </>
          )}
          <a {...linkProps('posture')}>All controls</a>
        </article>
        <article class="card" aria-labelledby="card-alarms">
          <h2 id="card-alarms">Alarms in ALARM</h2>
          {alarms === undefined ? (
            <p>Loading…</p>
          ) : alarms === null ? (
            <p class="muted">Not available to this user.</p>
          ) : alarms.length === 0 ? (
            <p class="ok">None.</p>
          ) : (
            <ul class="plain">
              {alarms.slice(0, 8).map((a) => (
                <li class="bad" title={a.StateReason}>
                  {a.AlarmName}
                </li>
              ))}
            </ul>
          )}
          <a {...linkProps('monitoring')}>Monitoring</a>
        </article>
        <article class="card" aria-labelledby="card-insights">
          <h2 id="card-insights">Recent Insights</h2>
          {insights === undefined ? (
            <p>Loading…</p>
          ) : insights === null ? (
            <p class="muted">Not available to this user.</p>
          ) : insights.length === 0 ? (
            <p class="ok">No unusual activity.</p>
          ) : (
            <ul class="plain">
              {insights.map((a) => (
                <li class={a.State === 'OPEN' ? 'bad' : ''}>
                  {a.EventName} · {a.InsightType} · {a.State}
                </li>
              ))}
            </ul>
          )}
          <a {...linkProps('insights')}>Insights</a>
        </article>
        <article class="card wide" aria-labelledby="card-recent">
          <h2 id="card-recent">Recent events</h2>
          {!recent ? (
            <p>Loading…</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Event name</th>
                  <th scope="col">Event time</th>
                  <th scope="col">User name</th>
                  <th scope="col">Event source</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((e) => (
                  <tr>
                    <td>
                      <a {...linkProps(`events?EventId=${e.EventId ?? ''}&range=1d`)}>
                        {e.EventName}
                      </a>
                    </td>
                    <td>{fmtTime(e.EventTime)}</td>
                    <td>{e.Username ?? '-'}</td>
                    <td>{e.EventSource}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <a {...linkProps('events')}>Open Event history</a>
        </article>
      </div>
    </section>
  )
}
