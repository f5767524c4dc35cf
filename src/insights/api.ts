/**
 * @module insights/api
 * OpenTrail's Insights extension (beyond AWS) on the JSON 1.1 endpoint, target prefix
 * `OpenTrailInsights_20250601`, IAM actions `cloudtrail:<Operation>`: list anomalies (open and
 * recent), get one with the chart series behind it (per-minute count, expected rate, band), and
 * read or change the sensitivity settings and per-API rules. Callers see their own account's
 * anomalies and rules; the global sensitivity belongs to the server's own (operator) account.
 * Wire names are mapped here.
 */
import { createHash } from 'node:crypto'
import type { OperationTable, RequestContext } from '../protocol/operation.js'
import { awsError } from '../shared/errors.js'
import type { Anomaly, Attribution, InsightsSettings, InsightType, TuningRule } from './model.js'
import type { InsightsSink } from './sink.js'

export const INSIGHTS_TARGET_PREFIX = 'OpenTrailInsights_20250601'
export const INSIGHTS_MODEL_URL = new URL('./opentrail-insights-2025-06-01.json', import.meta.url)

const AnomalyNotFoundException = awsError('AnomalyNotFoundException')
const InvalidParameterException = awsError('InvalidParameterException')
const InvalidNextTokenException = awsError('InvalidNextTokenException')
const AccessDeniedException = awsError('AccessDeniedException')

export function insightsOperations(
  sink: InsightsSink,
  opts: { operatorAccountId: () => string | undefined },
): OperationTable {
  const arn = (ctx: RequestContext, id = '*') =>
    `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:insight/${id}`
  const mine = (ctx: RequestContext) =>
    sink.anomalies().filter((a) => a.key.accountId === ctx.accountId)
  return {
    ListInsightsAnomalies: {
      readOnly: true,
      resource: (_i, ctx) => arn(ctx),
      async handle(input, ctx) {
        const state = input['State'] as 'OPEN' | 'CLOSED' | undefined
        const start = input['StartTime'] as Date | undefined
        const end = input['EndTime'] as Date | undefined
        if (start && end && start > end)
          throw InvalidParameterException('StartTime must not be after EndTime.')
        const all = mine(ctx).filter(
          (a) =>
            (!state || a.state === state.toLowerCase()) &&
            (!input['InsightType'] || a.key.insightType === input['InsightType']) &&
            (!input['EventSource'] || a.key.eventSource === input['EventSource']) &&
            (!input['EventName'] || a.key.eventName === input['EventName']) &&
            (!start || Date.parse(a.endTime ?? a.detectedAt) >= start.getTime()) &&
            (!end || Date.parse(a.startTime) <= end.getTime()),
        )
        const max = (input['MaxResults'] as number | undefined) ?? 50
        const fp = createHash('sha256')
          .update(JSON.stringify([ctx.accountId, input['State'], input['EventName']]))
          .digest('base64url')
          .slice(0, 12)
        let offset = 0
        const token = input['NextToken'] as string | undefined
        if (token) {
          const m = /^(\d+)\.(.+)$/.exec(Buffer.from(token, 'base64url').toString())
          if (!m || m[2] !== fp) throw InvalidNextTokenException('The NextToken is not valid.')
          offset = Number(m[1])
        }
        const page = all.slice(offset, offset + max)
        const next = offset + page.length
        return {
          Anomalies: page.map((a) => wireAnomaly(a, false)),
          ...(next < all.length
            ? { NextToken: Buffer.from(`${next}.${fp}`).toString('base64url') }
            : {}),
        }
      },
    },
    GetInsightsAnomaly: {
      readOnly: true,
      resource: (input, ctx) => arn(ctx, input['AnomalyId'] as string),
      async handle(input, ctx) {
        const id = input['AnomalyId'] as string
        const a = mine(ctx).find((x) => x.id === id)
        if (!a) throw AnomalyNotFoundException(`Insights anomaly ${id} was not found.`)
        return { Anomaly: wireAnomaly(a, true) }
      },
    },
    GetInsightsSettings: {
      readOnly: true,
      resource: (_i, ctx) => arn(ctx),
      async handle(_input, ctx) {
        return wireSettings(sink, ctx.accountId)
      },
    },
    PutInsightsSettings: {
      readOnly: false,
      resource: (_i, ctx) => arn(ctx),
      async handle(input, ctx) {
        const global = ['Score', 'EndScore', 'MinCount', 'WarmupMinutes'].filter(
          (k) => input[k] !== undefined,
        )
        if (global.length > 0 && ctx.accountId !== opts.operatorAccountId()) {
          throw AccessDeniedException(
            `${global.join(', ')} apply to every account: only the server's account may change them.`,
          )
        }
        const score = input['Score'] as number | undefined
        const endScore = input['EndScore'] as number | undefined
        for (const [name, v] of [
          ['Score', score],
          ['EndScore', endScore],
        ] as const) {
          if (v !== undefined && !(v > 0 && v <= 300))
            throw InvalidParameterException(`${name} must be above 0 and at most 300.`)
        }
        const cur = sink.settings()
        const next: InsightsSettings = {
          params: { ...cur.params },
          rules: cur.rules.filter((r) => r.accountId !== ctx.accountId),
        }
        if (score !== undefined) next.params.score = score
        if (endScore !== undefined) next.params.endScore = endScore
        if (input['MinCount'] !== undefined) next.params.minCount = input['MinCount'] as number
        if (input['WarmupMinutes'] !== undefined)
          next.params.warmupMinutes = input['WarmupMinutes'] as number
        if ((next.params.endScore ?? 2) >= (next.params.score ?? 7)) {
          throw InvalidParameterException('EndScore must be below Score (the hysteresis).')
        }
        const rules = (input['Rules'] as Record<string, unknown>[] | undefined) ?? []
        for (const r of rules) {
          const rule: TuningRule = { accountId: ctx.accountId }
          if (r['EventSource']) rule.eventSource = r['EventSource'] as string
          if (r['EventName']) rule.eventName = r['EventName'] as string
          if (r['InsightType']) rule.insightType = r['InsightType'] as InsightType
          if (r['ErrorCode']) rule.errorCode = r['ErrorCode'] as string
          if (r['Excluded'] !== undefined) rule.excluded = r['Excluded'] as boolean
          if (r['Score'] !== undefined) {
            const s = r['Score'] as number
            if (!(s > 0 && s <= 300))
              throw InvalidParameterException('A rule Score must be above 0 and at most 300.')
            rule.score = s
          }
          if (r['MinCount'] !== undefined) rule.minCount = r['MinCount'] as number
          if (Object.keys(rule).length === 1)
            throw InvalidParameterException('A rule must name what it matches or what it changes.')
          next.rules.push(rule)
        }
        if (input['Rules'] === undefined)
          next.rules.push(...cur.rules.filter((r) => r.accountId === ctx.accountId))
        await sink.putSettings(next)
        return wireSettings(sink, ctx.accountId)
      },
    },
  }
}

function wireSettings(sink: InsightsSink, accountId: string): Record<string, unknown> {
  const s = sink.settings()
  const p = { ...sink.detector.params, ...s.params }
  return {
    Score: p.score,
    EndScore: p.endScore,
    MinCount: p.minCount,
    WarmupMinutes: p.warmupMinutes,
    WindowMinutes: p.windowMinutes,
    BaselineDays: p.baselineDays,
    Rules: s.rules
      .filter((r) => r.accountId === accountId)
      .map((r) => ({
        ...(r.eventSource ? { EventSource: r.eventSource } : {}),
        ...(r.eventName ? { EventName: r.eventName } : {}),
        ...(r.insightType ? { InsightType: r.insightType } : {}),
        ...(r.errorCode ? { ErrorCode: r.errorCode } : {}),
        ...(r.excluded !== undefined ? { Excluded: r.excluded } : {}),
        ...(r.score !== undefined ? { Score: r.score } : {}),
        ...(r.minCount !== undefined ? { MinCount: r.minCount } : {}),
      })),
  }
}

const wireAttr = (a: Attribution) => ({
  Attribute: a.attribute,
  Insight: a.insight.map((v) => ({ Value: v.value, Average: v.average })),
  Baseline: a.baseline.map((v) => ({ Value: v.value, Average: v.average })),
})

/** The wire shape of an anomaly; `full` adds attributions and the chart series. */
export function wireAnomaly(a: Anomaly, full: boolean): Record<string, unknown> {
  return {
    AnomalyId: a.id,
    State: a.state.toUpperCase(),
    AccountId: a.key.accountId,
    Region: a.key.region,
    EventSource: a.key.eventSource,
    EventName: a.key.eventName,
    InsightType: a.key.insightType,
    ...(a.key.errorCode ? { ErrorCode: a.key.errorCode } : {}),
    // Data-event Insights (trails) and the source event data store of an event data store's.
    ...(a.key.eventCategory ? { EventCategory: a.key.eventCategory } : {}),
    ...(a.key.source ? { InsightSource: a.key.source } : {}),
    StartTime: new Date(a.startTime),
    DetectedAt: new Date(a.detectedAt),
    ...(a.endTime ? { EndTime: new Date(a.endTime) } : {}),
    WindowCount: a.windowCount,
    Score: a.score,
    BaselineAverage: a.baselineAverage,
    InsightAverage: a.insightAverage ?? a.startAverage,
    InsightDuration: a.insightDuration,
    BaselineDuration: a.baselineDuration,
    Emitted: a.emitted,
    StartEventId: a.startEventId,
    ...(a.endEventId ? { EndEventId: a.endEventId } : {}),
    ...(full
      ? {
          Attributions: (a.endAttributions ?? a.attributions).map(wireAttr),
          Series: a.series.map((p) => ({
            Minute: new Date(p.minute),
            Count: p.count,
            Expected: p.expected,
            Upper: p.upper,
          })),
        }
      : {}),
  }
}
