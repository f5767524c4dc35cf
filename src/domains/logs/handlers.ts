/**
 * @module domains/logs/handlers
 * The CloudWatch Logs API (AWS JSON 1.1, `Logs_20140328.*`, signing name `logs`): wire members
 * (camelCase in this API) to the logs and monitoring services and back. Metric filter operations
 * belong to the monitoring service; the log group they name must exist here.
 */
import type { MetricTransformation } from '../../monitoring/metric-filters.js'
import type { MonitoringService } from '../../monitoring/service.js'
import type { Input, OperationTable, RequestContext } from '../../protocol/operation.js'
import {
  groupArn,
  groupRefOf,
  InvalidParameterException,
  type LogGroup,
  type LogStream,
} from './model.js'
import type { LogsService } from './service.js'

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
const num = (v: unknown) => (typeof v === 'number' ? v : undefined)

function scopeOf(ctx: RequestContext) {
  return { accountId: ctx.accountId, region: ctx.region }
}

function groupResource(input: Input, ctx: RequestContext): string {
  try {
    const ref = groupRefOf(input, scopeOf(ctx))
    return groupArn(ref)
  } catch {
    return '*'
  }
}

const groupOp = {
  resource: groupResource,
  eventResources: (input: Input, ctx: RequestContext) => {
    const arn = groupResource(input, ctx)
    return arn === '*' ? [] : [{ ARN: arn, accountId: ctx.accountId, type: 'AWS::Logs::LogGroup' }]
  },
}

function groupWire(g: LogGroup, filters: number): Record<string, unknown> {
  const arn = groupArn(g)
  return {
    logGroupName: g.name,
    creationTime: g.creationTime,
    ...(g.retentionInDays ? { retentionInDays: g.retentionInDays } : {}),
    metricFilterCount: filters,
    arn: `${arn}:*`,
    logGroupArn: arn,
    storedBytes: g.storedBytes,
    ...(g.kmsKeyId ? { kmsKeyId: g.kmsKeyId } : {}),
    logGroupClass: 'STANDARD',
    deletionProtectionEnabled: false,
  }
}

function streamWire(g: LogGroup, s: LogStream): Record<string, unknown> {
  return {
    logStreamName: s.name,
    creationTime: s.creationTime,
    ...(s.firstEventTimestamp !== undefined ? { firstEventTimestamp: s.firstEventTimestamp } : {}),
    ...(s.lastEventTimestamp !== undefined ? { lastEventTimestamp: s.lastEventTimestamp } : {}),
    ...(s.lastIngestionTime !== undefined ? { lastIngestionTime: s.lastIngestionTime } : {}),
    arn: `${groupArn(g)}:log-stream:${s.name}`,
    storedBytes: s.storedBytes,
  }
}

const eventId = (timestamp: number, seq: number) =>
  String(timestamp).padStart(16, '0') + String(seq).padStart(20, '0')

function checkLimit(v: unknown, max: number, name = 'limit'): number | undefined {
  const n = num(v)
  if (n !== undefined && (n < 1 || n > max))
    throw InvalidParameterException(
      `1 validation error detected: Value '${n}' at '${name}' failed to satisfy constraint: Member must have value between 1 and ${max}`,
    )
  return n
}

export function logsOperations(logs: LogsService, monitoring: MonitoringService): OperationTable {
  return {
    CreateLogGroup: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        const ref = groupRefOf(input, scopeOf(ctx))
        logs.assertGroupLimit(ref)
        logs.createLogGroup(ref, {
          ...(str(input['kmsKeyId']) ? { kmsKeyId: str(input['kmsKeyId'])! } : {}),
          ...(input['tags'] ? { tags: input['tags'] as Record<string, string> } : {}),
        })
        return {}
      },
    },
    DescribeLogGroups: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const r = logs.describeLogGroups(scopeOf(ctx), {
          ...(str(input['logGroupNamePrefix']) !== undefined
            ? { prefix: str(input['logGroupNamePrefix'])! }
            : {}),
          ...(str(input['logGroupNamePattern']) !== undefined
            ? { pattern: str(input['logGroupNamePattern'])! }
            : {}),
          ...(checkLimit(input['limit'], 50) !== undefined ? { limit: num(input['limit'])! } : {}),
          ...(str(input['nextToken']) ? { nextToken: str(input['nextToken'])! } : {}),
        })
        return {
          logGroups: r.groups.map((g) => groupWire(g, monitoring.metricFilterCount(g, g.name))),
          ...(r.nextToken ? { nextToken: r.nextToken } : {}),
        }
      },
    },
    DeleteLogGroup: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        await logs.deleteLogGroup(groupRefOf(input, scopeOf(ctx)))
        return {}
      },
    },
    PutRetentionPolicy: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        logs.putRetentionPolicy(groupRefOf(input, scopeOf(ctx)), num(input['retentionInDays'])!)
        await logs.sweep()
        return {}
      },
    },
    DeleteRetentionPolicy: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        logs.deleteRetentionPolicy(groupRefOf(input, scopeOf(ctx)))
        return {}
      },
    },
    CreateLogStream: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        logs.createLogStream(groupRefOf(input, scopeOf(ctx)), str(input['logStreamName'])!)
        return {}
      },
    },
    DeleteLogStream: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        await logs.deleteLogStream(groupRefOf(input, scopeOf(ctx)), str(input['logStreamName'])!)
        return {}
      },
    },
    DescribeLogStreams: {
      readOnly: true,
      ...groupOp,
      async handle(input, ctx) {
        const ref = groupRefOf(input, scopeOf(ctx))
        const g = logs.getGroup(ref)
        const orderBy = str(input['orderBy']) as 'LogStreamName' | 'LastEventTime' | undefined
        const r = logs.describeLogStreams(ref, {
          ...(str(input['logStreamNamePrefix']) !== undefined
            ? { prefix: str(input['logStreamNamePrefix'])! }
            : {}),
          ...(orderBy ? { orderBy } : {}),
          ...(input['descending'] === true ? { descending: true } : {}),
          ...(checkLimit(input['limit'], 50) !== undefined ? { limit: num(input['limit'])! } : {}),
          ...(str(input['nextToken']) ? { nextToken: str(input['nextToken'])! } : {}),
        })
        return {
          logStreams: r.streams.map((s) => streamWire(g, s)),
          ...(r.nextToken ? { nextToken: r.nextToken } : {}),
        }
      },
    },
    PutLogEvents: {
      readOnly: false,
      logResponse: false,
      ...groupOp,
      async handle(input, ctx) {
        const r = await logs.putLogEvents(
          groupRefOf(input, scopeOf(ctx)),
          str(input['logStreamName'])!,
          input['logEvents'] as { timestamp: number; message: string }[],
        )
        return {
          nextSequenceToken: String(Date.now()).padStart(56, '0'),
          ...(r.rejected ? { rejectedLogEventsInfo: r.rejected } : {}),
        }
      },
    },
    GetLogEvents: {
      readOnly: true,
      ...groupOp,
      async handle(input, ctx) {
        const r = logs.getLogEvents(groupRefOf(input, scopeOf(ctx)), str(input['logStreamName'])!, {
          ...(num(input['startTime']) !== undefined ? { startTime: num(input['startTime'])! } : {}),
          ...(num(input['endTime']) !== undefined ? { endTime: num(input['endTime'])! } : {}),
          ...(checkLimit(input['limit'], 10_000) !== undefined
            ? { limit: num(input['limit'])! }
            : {}),
          ...(input['startFromHead'] === true ? { startFromHead: true } : {}),
          ...(str(input['nextToken']) ? { nextToken: str(input['nextToken'])! } : {}),
        })
        return {
          events: r.events.map((e) => ({
            timestamp: e.timestamp,
            message: e.message,
            ingestionTime: e.ingestionTime,
          })),
          nextForwardToken: r.nextForwardToken,
          nextBackwardToken: r.nextBackwardToken,
        }
      },
    },
    FilterLogEvents: {
      readOnly: true,
      ...groupOp,
      async handle(input, ctx) {
        const names = input['logStreamNames'] as string[] | undefined
        const r = logs.filterLogEvents(groupRefOf(input, scopeOf(ctx)), {
          ...(names ? { streamNames: names } : {}),
          ...(str(input['logStreamNamePrefix']) !== undefined
            ? { streamPrefix: str(input['logStreamNamePrefix'])! }
            : {}),
          ...(num(input['startTime']) !== undefined ? { startTime: num(input['startTime'])! } : {}),
          ...(num(input['endTime']) !== undefined ? { endTime: num(input['endTime'])! } : {}),
          ...(str(input['filterPattern']) !== undefined
            ? { pattern: str(input['filterPattern'])! }
            : {}),
          ...(checkLimit(input['limit'], 10_000) !== undefined
            ? { limit: num(input['limit'])! }
            : {}),
          ...(str(input['nextToken']) ? { nextToken: str(input['nextToken'])! } : {}),
        })
        return {
          events: r.events.map((e) => ({
            logStreamName: e.stream,
            timestamp: e.timestamp,
            message: e.message,
            ingestionTime: e.ingestionTime,
            eventId: eventId(e.timestamp, e.seq),
          })),
          searchedLogStreams: [],
          ...(r.nextToken ? { nextToken: r.nextToken } : {}),
        }
      },
    },
    PutMetricFilter: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        monitoring.putMetricFilter(scopeOf(ctx), {
          logGroupName: str(input['logGroupName'])!,
          filterName: str(input['filterName'])!,
          filterPattern: str(input['filterPattern'])!,
          metricTransformations: input['metricTransformations'] as MetricTransformation[],
        })
        return {}
      },
    },
    DescribeMetricFilters: {
      readOnly: true,
      resource: (input, ctx) => (str(input['logGroupName']) ? groupResource(input, ctx) : '*'),
      async handle(input, ctx) {
        const r = monitoring.describeMetricFilters(scopeOf(ctx), {
          ...(str(input['logGroupName']) !== undefined
            ? { logGroupName: str(input['logGroupName'])! }
            : {}),
          ...(str(input['filterNamePrefix']) !== undefined
            ? { filterNamePrefix: str(input['filterNamePrefix'])! }
            : {}),
          ...(str(input['metricName']) !== undefined
            ? { metricName: str(input['metricName'])! }
            : {}),
          ...(str(input['metricNamespace']) !== undefined
            ? { metricNamespace: str(input['metricNamespace'])! }
            : {}),
          ...(checkLimit(input['limit'], 50) !== undefined ? { limit: num(input['limit'])! } : {}),
          ...(str(input['nextToken']) ? { nextToken: str(input['nextToken'])! } : {}),
        })
        return {
          metricFilters: r.filters.map((f) => ({
            filterName: f.filterName,
            filterPattern: f.filterPattern,
            metricTransformations: f.metricTransformations,
            creationTime: f.creationTime,
            logGroupName: f.logGroupName,
          })),
          ...(r.nextToken ? { nextToken: r.nextToken } : {}),
        }
      },
    },
    DeleteMetricFilter: {
      readOnly: false,
      ...groupOp,
      async handle(input, ctx) {
        monitoring.deleteMetricFilter(
          scopeOf(ctx),
          str(input['logGroupName'])!,
          str(input['filterName'])!,
        )
        return {}
      },
    },
    TestMetricFilter: {
      readOnly: true,
      resource: () => '*',
      async handle(input) {
        return {
          matches: monitoring.testMetricFilter(
            str(input['filterPattern'])!,
            input['logEventMessages'] as string[],
          ),
        }
      },
    },
  }
}
