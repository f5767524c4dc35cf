/**
 * @module domains/lake/dashboards-handlers
 * Wire mapping of the CloudTrail Lake dashboard operations (CreateDashboard, GetDashboard,
 * UpdateDashboard, ListDashboards, DeleteDashboard, StartDashboardRefresh), and DescribeQuery's
 * `RefreshId` + `QueryAlias` form, which finds the query a refresh started for a widget and hands
 * the rest to the Lake's own DescribeQuery.
 */
import type { EventResource } from '../../events/record.js'
import type { Authorizer } from '../../iam/authorizer.js'
import type { Input, OperationTable, RequestContext } from '../../protocol/operation.js'
import { decodeToken, encodeToken, fingerprint } from '../trails/pagination.js'
import { bool, fromWireTags, str } from '../trails/wire.js'
import {
  type Allowed,
  type Dashboard,
  type DashboardService,
  type RefreshSchedule,
  type WidgetInput,
} from './dashboards.js'
import { InvalidMaxResultsException, InvalidNextTokenException, type Scope } from './service.js'

type Wire = Record<string, unknown>
const scope = (ctx: RequestContext): Scope => ({ accountId: ctx.accountId, region: ctx.region })

function widgetsOf(v: unknown): WidgetInput[] | undefined {
  if (!Array.isArray(v)) return undefined
  return (v as Wire[]).map((w) => {
    const params = Array.isArray(w['QueryParameters'])
      ? (w['QueryParameters'] as unknown[]).map(String)
      : undefined
    const view = w['ViewProperties']
    return {
      queryStatement: str(w['QueryStatement']) ?? '',
      ...(params ? { queryParameters: params } : {}),
      viewProperties:
        view && typeof view === 'object'
          ? Object.fromEntries(Object.entries(view as Wire).map(([k, x]) => [k, String(x)]))
          : {},
    }
  })
}

function scheduleOf(v: unknown): RefreshSchedule | undefined {
  if (!v || typeof v !== 'object') return undefined
  const s = v as Wire
  const f = s['Frequency'] as Wire | undefined
  const unit = str(f?.['Unit'])
  const status = str(s['Status'])
  const time = str(s['TimeOfDay'])
  return {
    ...(f && unit
      ? { frequency: { unit: unit as 'HOURS' | 'DAYS', value: Number(f['Value']) } }
      : {}),
    ...(status ? { status: status as 'ENABLED' | 'DISABLED' } : {}),
    ...(time !== undefined ? { timeOfDay: time } : {}),
  }
}

const toWireWidgets = (d: Dashboard): Wire[] =>
  d.widgets.map((w) => ({
    QueryAlias: w.queryAlias,
    QueryStatement: w.queryStatement,
    ...(w.queryParameters ? { QueryParameters: w.queryParameters } : {}),
    ViewProperties: w.viewProperties,
  }))

function toWireSchedule(d: Dashboard): Wire {
  const s = d.refreshSchedule
  if (!s) return {}
  return {
    RefreshSchedule: {
      ...(s.frequency ? { Frequency: { Unit: s.frequency.unit, Value: s.frequency.value } } : {}),
      ...(s.status ? { Status: s.status } : {}),
      ...(s.timeOfDay !== undefined ? { TimeOfDay: s.timeOfDay } : {}),
    },
  }
}

const toWireTags = (d: Dashboard): Wire[] =>
  d.tags.map((t) => ({ Key: t.key, ...(t.value !== undefined ? { Value: t.value } : {}) }))

/** The dashboard operations (DescribeQuery by RefreshId and QueryAlias is the Lake's own). */
export function dashboardOperations(
  service: DashboardService,
  authorizer: Authorizer,
): OperationTable {
  const arnOf = (input: Input, ctx: RequestContext): string => {
    const ref = str(input['DashboardId']) ?? ''
    try {
      return service.find(scope(ctx), ref).arn
    } catch {
      return service.arnFor(scope(ctx), ref)
    }
  }
  const onDashboard = {
    resource: arnOf,
    eventResources: (input: Input, ctx: RequestContext): EventResource[] => [
      { accountId: ctx.accountId, type: 'AWS::CloudTrail::Dashboard', ARN: arnOf(input, ctx) },
    ],
  }
  const ref = (input: Input) => str(input['DashboardId']) ?? ''
  const allowed =
    (ctx: RequestContext): Allowed =>
    (action, arn) =>
      authorizer.check(ctx.principal, action, arn)
  const ops: OperationTable = {
    CreateDashboard: {
      readOnly: false,
      resource: (input, ctx) => service.arnFor(scope(ctx), str(input['Name']) ?? ''),
      eventResources: (input, ctx) => [
        {
          accountId: ctx.accountId,
          type: 'AWS::CloudTrail::Dashboard',
          ARN: service.arnFor(scope(ctx), str(input['Name']) ?? ''),
        },
      ],
      async handle(input, ctx) {
        const widgets = widgetsOf(input['Widgets'])
        const schedule = scheduleOf(input['RefreshSchedule'])
        const tp = bool(input['TerminationProtectionEnabled'])
        const d = await service.create(
          scope(ctx),
          {
            name: str(input['Name']) ?? '',
            ...(widgets ? { widgets } : {}),
            ...(schedule ? { refreshSchedule: schedule } : {}),
            ...(tp !== undefined ? { terminationProtectionEnabled: tp } : {}),
            tags: fromWireTags(input['TagsList']),
          },
          allowed(ctx),
        )
        return {
          DashboardArn: d.arn,
          Name: d.name,
          Type: d.type,
          Widgets: toWireWidgets(d),
          TagsList: toWireTags(d),
          ...toWireSchedule(d),
          TerminationProtectionEnabled: d.terminationProtectionEnabled,
        }
      },
    },
    GetDashboard: {
      readOnly: true,
      ...onDashboard,
      async handle(input, ctx) {
        const d = service.find(scope(ctx), ref(input))
        const reason = service.failureReason(d)
        return {
          DashboardArn: d.arn,
          Type: d.type,
          Status: d.status,
          Widgets: toWireWidgets(d),
          ...toWireSchedule(d),
          CreatedTimestamp: new Date(d.createdTimestamp),
          UpdatedTimestamp: new Date(d.updatedTimestamp),
          ...(d.lastRefreshId ? { LastRefreshId: d.lastRefreshId } : {}),
          ...(reason ? { LastRefreshFailureReason: reason } : {}),
          TerminationProtectionEnabled: d.terminationProtectionEnabled,
        }
      },
    },
    UpdateDashboard: {
      readOnly: false,
      ...onDashboard,
      async handle(input, ctx) {
        const widgets = widgetsOf(input['Widgets'])
        const schedule = scheduleOf(input['RefreshSchedule'])
        const tp = bool(input['TerminationProtectionEnabled'])
        const d = await service.update(
          scope(ctx),
          ref(input),
          {
            ...(widgets ? { widgets } : {}),
            ...(schedule ? { refreshSchedule: schedule } : {}),
            ...(tp !== undefined ? { terminationProtectionEnabled: tp } : {}),
          },
          allowed(ctx),
        )
        return {
          DashboardArn: d.arn,
          Name: d.name,
          Type: d.type,
          Widgets: toWireWidgets(d),
          ...toWireSchedule(d),
          TerminationProtectionEnabled: d.terminationProtectionEnabled,
          CreatedTimestamp: new Date(d.createdTimestamp),
          UpdatedTimestamp: new Date(d.updatedTimestamp),
        }
      },
    },
    ListDashboards: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const prefix = str(input['NamePrefix'])
        const type = str(input['Type'])
        // Every dashboard here is CUSTOM: OpenTrail has no managed dashboards.
        const all = type === 'MANAGED' ? [] : service.list(scope(ctx), prefix)
        const max = input['MaxResults'] === undefined ? 1000 : Number(input['MaxResults'])
        if (!Number.isInteger(max) || max < 1 || max > 1000) {
          throw InvalidMaxResultsException('MaxResults must be between 1 and 1000.')
        }
        const fp = fingerprint([ctx.accountId, ctx.region, prefix, type])
        let start = 0
        const token = str(input['NextToken'])
        if (token !== undefined) {
          const pos = decodeToken(token, 'ListDashboards', fp)
          if (typeof pos !== 'number' || pos < 0 || pos > all.length) {
            throw InvalidNextTokenException('The NextToken is not valid.')
          }
          start = pos
        }
        const items = all.slice(start, start + max)
        const end = start + items.length
        return {
          Dashboards: items.map((d) => ({ DashboardArn: d.arn, Type: d.type })),
          ...(end < all.length ? { NextToken: encodeToken('ListDashboards', fp, end) } : {}),
        }
      },
    },
    DeleteDashboard: {
      readOnly: false,
      ...onDashboard,
      async handle(input, ctx) {
        await service.delete(scope(ctx), ref(input))
        return {}
      },
    },
    StartDashboardRefresh: {
      readOnly: false,
      ...onDashboard,
      async handle(input, ctx) {
        const raw = input['QueryParameterValues']
        const values =
          raw && typeof raw === 'object'
            ? Object.fromEntries(Object.entries(raw as Wire).map(([k, v]) => [k, String(v)]))
            : {}
        // Each widget's query is authorized like StartQuery, on every store it reads.
        const r = await service.refresh(scope(ctx), ref(input), values, (arn) =>
          authorizer.check(ctx.principal, 'cloudtrail:StartQuery', arn),
        )
        return { RefreshId: r.id }
      },
    },
  }
  return ops
}
