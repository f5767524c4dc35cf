/**
 * @module monitoring/prometheus
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4): CloudWatch metrics (from
 * metric filters and PutMetricData) as running counters, alarm states, log group sizes, and the
 * pipeline's sink lag. Access (decision record 0016): with a configured `metricsToken`, a request
 * needs `Authorization: Bearer <token>`; without one, only loopback clients are served.
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { STATES, type Alarm } from './alarms.js'
import type { CatalogEntry, Stats } from './metric-store.js'

export interface PrometheusSources {
  metrics(): Iterable<[string, CatalogEntry, Stats | undefined]>
  alarms(): Alarm[]
  logGroups(): {
    accountId: string
    region: string
    name: string
    storedBytes: number
    retentionInDays?: number
  }[]
  sinks(): { name: string; lag: number; checkpoint: number }[]
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

const labelName = (s: string) => {
  const n = s.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[0-9]/.test(n) ? `_${n}` : n
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

export function renderPrometheus(src: PrometheusSources): string {
  const out: string[] = []
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)

  const metrics = [...src.metrics()]
  const metricLabels = (e: CatalogEntry) => {
    const l: Record<string, string> = {
      account: e.accountId,
      region: e.region,
      namespace: e.namespace,
      metric_name: e.metricName,
    }
    for (const d of e.dimensions) l[`dim_${labelName(d.name)}`] = d.value
    return labels(l)
  }
  family(
    'opentrail_cloudwatch_metric_sum',
    'counter',
    'Sum of the values published to a CloudWatch metric (metric filters, PutMetricData).',
  )
  for (const [, e, t] of metrics)
    out.push(`opentrail_cloudwatch_metric_sum${metricLabels(e)} ${num(t?.sum ?? 0)}`)
  family(
    'opentrail_cloudwatch_metric_samples',
    'counter',
    'Number of datapoints published to a CloudWatch metric.',
  )
  for (const [, e, t] of metrics)
    out.push(`opentrail_cloudwatch_metric_samples${metricLabels(e)} ${num(t?.n ?? 0)}`)

  family(
    'opentrail_alarm_state',
    'gauge',
    'CloudWatch alarm state: 1 for the state the alarm is in, 0 for the others.',
  )
  for (const a of src.alarms())
    for (const s of STATES)
      out.push(
        `opentrail_alarm_state${labels({ account: a.accountId, region: a.region, alarm: a.alarmName, state: s })} ${a.state === s ? 1 : 0}`,
      )

  family('opentrail_log_group_stored_bytes', 'gauge', 'Bytes of log events stored in a log group.')
  for (const g of src.logGroups())
    out.push(
      `opentrail_log_group_stored_bytes${labels({ account: g.accountId, region: g.region, log_group: g.name })} ${g.storedBytes}`,
    )

  family(
    'opentrail_pipeline_sink_lag',
    'gauge',
    'Events appended to the ingest log that a sink has not handled yet.',
  )
  for (const s of src.sinks())
    out.push(`opentrail_pipeline_sink_lag${labels({ sink: s.name })} ${s.lag}`)
  return out.join('\n') + '\n'
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/

/** Whether a /metrics request may be served (see the module comment). */
export function metricsAccess(
  req: IncomingMessage,
  token: string | undefined,
): { ok: true } | { ok: false; status: number; message: string } {
  if (token) {
    const h = req.headers['authorization']
    const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : ''
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    if (a.length === b.length && timingSafeEqual(a, b)) return { ok: true }
    return { ok: false, status: 401, message: 'A valid bearer token is required for /metrics.' }
  }
  if (LOOPBACK.test(req.socket.remoteAddress ?? '')) return { ok: true }
  return {
    ok: false,
    status: 403,
    message: '/metrics is served to loopback clients only unless metricsToken is configured.',
  }
}
