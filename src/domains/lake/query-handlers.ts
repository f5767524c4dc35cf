/**
 * @module domains/lake/query-handlers
 * Wire mapping of the Lake query operations (StartQuery, DescribeQuery, GetQueryResults,
 * CancelQuery, ListQueries). StartQuery authorizes cloudtrail:StartQuery on every store ARN the
 * statement names, binds QueryParameters to its `?` placeholders and takes a DeliveryS3Uri;
 * DescribeQuery reports DeliveryS3Uri and DeliveryStatus.
 */
import type { Authorizer } from '../../iam/authorizer.js'
import { bindStoreNames } from '../../lake/sql.js'
import type { Input, Operation, RequestContext } from '../../protocol/operation.js'
import { awsError } from '../../shared/errors.js'
import { str } from '../trails/wire.js'
import { InvalidParameterException, type LakeQuery, type LakeService } from './service.js'
import { onStore, storeArnOf, storeRef } from './store-handlers.js'
import { page, pageBounds, scope, type Wire } from './wire.js'

const InvalidDateRangeException = awsError('InvalidDateRangeException')

function statistics(q: LakeQuery): Wire {
  const ms =
    q.startedAt && q.endedAt
      ? q.endedAt.getTime() - q.startedAt.getTime()
      : q.startedAt
        ? Date.now() - q.startedAt.getTime()
        : 0
  return {
    EventsMatched: q.stats?.resultsCount ?? 0,
    EventsScanned: q.stats?.eventsScanned ?? 0,
    BytesScanned: q.stats?.bytesScanned ?? 0,
    ExecutionTimeInMillis: ms,
    CreationTime: q.createdAt,
  }
}

export function queryOperations(
  service: LakeService,
  authorizer: Authorizer,
): Record<string, Operation> {
  const ref = storeRef
  /** The deprecated EventDataStore member, when given, must name one of the caller's stores. */
  const checkStore = (input: Input, ctx: RequestContext) => {
    if (input['EventDataStore'] !== undefined) service.find(scope(ctx), ref(input))
  }
  return {
    StartQuery: {
      readOnly: false,
      // IAM: the first store named (each store is checked again in handle).
      resource: (input, ctx) => {
        const refs = [...bindStoreNames(str(input['QueryStatement']) ?? '').refs.values()]
        const first = refs[0]
        if (!first) return '*'
        return storeArnOf(service, { EventDataStore: first.arn ?? first.id }, ctx)
      },
      async handle(input, ctx) {
        const statement = str(input['QueryStatement'])
        if (statement === undefined || statement.trim() === '') {
          throw InvalidParameterException('QueryStatement is required.')
        }
        const parameters = Array.isArray(input['QueryParameters'])
          ? (input['QueryParameters'] as unknown[]).map(String)
          : undefined
        const deliveryS3Uri = str(input['DeliveryS3Uri'])
        const q = await service.startQuery(
          scope(ctx),
          statement,
          (arn) => authorizer.check(ctx.principal, 'cloudtrail:StartQuery', arn),
          {
            ...(parameters ? { parameters } : {}),
            ...(deliveryS3Uri !== undefined ? { deliveryS3Uri } : {}),
          },
        )
        return { QueryId: q.id }
      },
    },
    DescribeQuery: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        checkStore(input, ctx)
        const id = str(input['QueryId'])
        const alias = str(input['QueryAlias'])
        const refreshId = str(input['RefreshId'])
        let q: LakeQuery
        if (id !== undefined) q = service.query(scope(ctx), id)
        else if (alias !== undefined && refreshId !== undefined) {
          q = service.queryByAlias(scope(ctx), alias, refreshId)
        } else {
          throw InvalidParameterException(
            'Specify either QueryId, or QueryAlias together with RefreshId.',
          )
        }
        return {
          QueryId: q.id,
          QueryString: q.statement,
          QueryStatus: q.status,
          QueryStatistics: statistics(q),
          ...(q.error ? { ErrorMessage: q.error } : {}),
          ...(q.delivery
            ? { DeliveryS3Uri: q.delivery.uri, DeliveryStatus: q.delivery.status }
            : {}),
        }
      },
    },
    GetQueryResults: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        checkStore(input, ctx)
        const q = service.query(scope(ctx), str(input['QueryId']) ?? '')
        const total = q.status === 'FINISHED' ? (q.stats?.resultsCount ?? 0) : 0
        const b = pageBounds(
          total,
          'GetQueryResults',
          [q.id],
          input,
          'NextToken',
          'MaxQueryResults',
          1000,
          1000,
        )
        const r = await service.results(scope(ctx), q.id, b.start, b.limit)
        const cols = r.columns
        return {
          QueryStatus: q.status,
          QueryStatistics: {
            ResultsCount: r.rows.length,
            TotalResultsCount: r.total,
            BytesScanned: q.stats?.bytesScanned ?? 0,
          },
          QueryResultRows: r.rows.map((row) =>
            row.map((v, i) => ({ [cols[i] ?? `_col${i}`]: v ?? '' })),
          ),
          ...(b.next ? { NextToken: b.next } : {}),
          ...(q.error ? { ErrorMessage: q.error } : {}),
        }
      },
    },
    CancelQuery: {
      readOnly: false,
      resource: () => '*',
      async handle(input, ctx) {
        checkStore(input, ctx)
        const q = service.cancelQuery(scope(ctx), str(input['QueryId']) ?? '')
        return { QueryId: q.id, QueryStatus: q.status }
      },
    },
    ListQueries: {
      readOnly: true,
      ...onStore(service),
      async handle(input, ctx) {
        let qs = service.listQueries(scope(ctx), ref(input))
        const status = str(input['QueryStatus'])
        if (status) qs = qs.filter((q) => q.status === status)
        const st = input['StartTime'] instanceof Date ? input['StartTime'] : undefined
        const et = input['EndTime'] instanceof Date ? input['EndTime'] : undefined
        if (st && et && st > et) {
          throw InvalidDateRangeException('StartTime must be before EndTime.')
        }
        if (st) qs = qs.filter((q) => q.createdAt >= st)
        if (et) qs = qs.filter((q) => q.createdAt <= et)
        const p = page(
          qs,
          'ListQueries',
          [ref(input), status],
          input,
          'NextToken',
          'MaxResults',
          1000,
        )
        return {
          Queries: p.items.map((q) => ({
            QueryId: q.id,
            QueryStatus: q.status,
            CreationTime: q.createdAt,
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
  }
}
