/**
 * @module monitoring/handlers
 * The CloudWatch API for alarms and metrics, over AWS JSON 1.0 (`GraniteServiceVersion20100801.*`,
 * signing name `monitoring`): the protocol botocore picks for CloudWatch (its model lists
 * smithy-rpc-v2-cbor, json and query; botocore prefers json), so `aws cloudwatch …` works as is.
 * Error codes are CloudWatch's query-compatible ones (InvalidParameterValue, ResourceNotFound, …).
 */
import type { Input, OperationTable, RequestContext } from '../protocol/operation.js'
import {
  type Alarm,
  type AlarmConfig,
  type AlarmState,
  COMPARISONS,
  type Comparison,
  type HistoryItem,
  InvalidParameterValue,
  STATISTICS,
  type Statistic,
  TREAT_MISSING,
  type TreatMissing,
} from './alarms.js'
import type { Dimension } from './metric-store.js'
import type { MonitoringService } from './service.js'

const MissingParameter = (name: string) =>
  InvalidParameterValue(`The parameter ${name} is required.`)

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
const strs = (v: unknown) => (Array.isArray(v) ? (v as string[]) : [])

const scopeOf = (ctx: RequestContext) => ({ accountId: ctx.accountId, region: ctx.region })

function dims(v: unknown): Dimension[] {
  return ((v as { Name: string; Value: string }[] | undefined) ?? []).map((d) => ({
    name: d.Name,
    value: d.Value,
  }))
}

function alarmResource(input: Input, ctx: RequestContext): string {
  const n = str(input['AlarmName'])
  return n ? `arn:aws:cloudwatch:${ctx.region}:${ctx.accountId}:alarm:${n}` : '*'
}

function alarmWire(a: Alarm): Record<string, unknown> {
  return {
    AlarmName: a.alarmName,
    AlarmArn: a.arn,
    ...(a.alarmDescription !== undefined ? { AlarmDescription: a.alarmDescription } : {}),
    AlarmConfigurationUpdatedTimestamp: new Date(a.configurationUpdatedAt),
    ActionsEnabled: a.actionsEnabled,
    OKActions: a.okActions,
    AlarmActions: a.alarmActions,
    InsufficientDataActions: a.insufficientDataActions,
    StateValue: a.state,
    StateReason: a.stateReason,
    ...(a.stateReasonData ? { StateReasonData: a.stateReasonData } : {}),
    StateUpdatedTimestamp: new Date(a.stateUpdatedAt),
    MetricName: a.metricName,
    Namespace: a.namespace,
    Statistic: a.statistic,
    Dimensions: a.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
    Period: a.period,
    ...(a.unit ? { Unit: a.unit } : {}),
    EvaluationPeriods: a.evaluationPeriods,
    DatapointsToAlarm: a.datapointsToAlarm,
    Threshold: a.threshold,
    ComparisonOperator: a.comparisonOperator,
    TreatMissingData: a.treatMissingData,
    StateTransitionedTimestamp: new Date(a.stateTransitionedAt),
  }
}

function historyWire(h: HistoryItem): Record<string, unknown> {
  return {
    AlarmName: h.alarmName,
    AlarmType: 'MetricAlarm',
    Timestamp: new Date(h.timestamp),
    HistoryItemType: h.type,
    HistorySummary: h.summary,
    HistoryData: h.data,
  }
}

/** PutMetricAlarm's input to the domain's AlarmConfig, with CloudWatch's errors. */
export function alarmConfigOf(input: Input): AlarmConfig {
  if (input['Metrics'] !== undefined)
    throw InvalidParameterValue(
      'Metric math alarms (Metrics) are not supported by OpenTrail; use MetricName and Namespace.',
    )
  if (input['ExtendedStatistic'] !== undefined)
    throw InvalidParameterValue(
      'ExtendedStatistic (percentiles) is not supported by OpenTrail; use Statistic.',
    )
  for (const k of ['MetricName', 'Namespace', 'Period', 'EvaluationPeriods', 'ComparisonOperator'])
    if (input[k] === undefined) throw MissingParameter(k)
  if (input['Statistic'] === undefined) throw MissingParameter('Statistic')
  if (input['Threshold'] === undefined) throw MissingParameter('Threshold')
  const statistic = str(input['Statistic']) as Statistic
  if (!STATISTICS.includes(statistic))
    throw InvalidParameterValue(`Invalid Statistic: ${statistic}`)
  const op = str(input['ComparisonOperator']) as Comparison
  if (!COMPARISONS.includes(op))
    throw InvalidParameterValue(
      `Invalid ComparisonOperator ${op}: anomaly detection bands are not supported by OpenTrail.`,
    )
  const tmd = (str(input['TreatMissingData']) ?? 'missing') as TreatMissing
  if (!TREAT_MISSING.includes(tmd))
    throw InvalidParameterValue(
      `Invalid TreatMissingData ${tmd}: use breaching, notBreaching, ignore or missing.`,
    )
  const evaluationPeriods = num(input['EvaluationPeriods'])!
  return {
    alarmName: str(input['AlarmName'])!,
    ...(str(input['AlarmDescription']) !== undefined
      ? { alarmDescription: str(input['AlarmDescription'])! }
      : {}),
    actionsEnabled: input['ActionsEnabled'] !== false,
    okActions: strs(input['OKActions']),
    alarmActions: strs(input['AlarmActions']),
    insufficientDataActions: strs(input['InsufficientDataActions']),
    namespace: str(input['Namespace'])!,
    metricName: str(input['MetricName'])!,
    dimensions: dims(input['Dimensions']),
    statistic,
    period: num(input['Period'])!,
    ...(str(input['Unit']) ? { unit: str(input['Unit'])! } : {}),
    evaluationPeriods,
    datapointsToAlarm: num(input['DatapointsToAlarm']) ?? evaluationPeriods,
    threshold: num(input['Threshold'])!,
    comparisonOperator: op,
    treatMissingData: tmd,
    ...(input['Tags']
      ? {
          tags: (input['Tags'] as { Key: string; Value: string }[]).map((t) => ({
            key: t.Key,
            value: t.Value,
          })),
        }
      : {}),
  }
}

export function cloudWatchOperations(service: MonitoringService): OperationTable {
  return {
    PutMetricAlarm: {
      readOnly: false,
      resource: alarmResource,
      eventResources: (input, ctx) => [
        {
          ARN: alarmResource(input, ctx),
          accountId: ctx.accountId,
          type: 'AWS::CloudWatch::Alarm',
        },
      ],
      async handle(input, ctx) {
        service.putMetricAlarm(scopeOf(ctx), alarmConfigOf(input))
        return {}
      },
    },
    DescribeAlarms: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const types = strs(input['AlarmTypes'])
        const r = service.describeAlarms(scopeOf(ctx), {
          ...(input['AlarmNames'] ? { alarmNames: strs(input['AlarmNames']) } : {}),
          ...(str(input['AlarmNamePrefix']) !== undefined
            ? { alarmNamePrefix: str(input['AlarmNamePrefix'])! }
            : {}),
          ...(str(input['StateValue'])
            ? { stateValue: str(input['StateValue']) as AlarmState }
            : {}),
          ...(str(input['ActionPrefix']) !== undefined
            ? { actionPrefix: str(input['ActionPrefix'])! }
            : {}),
          ...(num(input['MaxRecords']) !== undefined
            ? { maxRecords: num(input['MaxRecords'])! }
            : {}),
          ...(str(input['NextToken']) ? { nextToken: str(input['NextToken'])! } : {}),
        })
        const metricAlarms = types.length === 0 || types.includes('MetricAlarm')
        return {
          MetricAlarms: metricAlarms ? r.alarms.map(alarmWire) : [],
          CompositeAlarms: [],
          ...(r.nextToken && metricAlarms ? { NextToken: r.nextToken } : {}),
        }
      },
    },
    DescribeAlarmsForMetric: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const alarms = service.describeAlarmsForMetric(scopeOf(ctx), {
          namespace: str(input['Namespace'])!,
          metricName: str(input['MetricName'])!,
          dimensions: dims(input['Dimensions']),
          ...(str(input['Statistic']) ? { statistic: str(input['Statistic']) as Statistic } : {}),
          ...(num(input['Period']) !== undefined ? { period: num(input['Period'])! } : {}),
          ...(str(input['Unit']) ? { unit: str(input['Unit'])! } : {}),
        })
        return { MetricAlarms: alarms.map(alarmWire) }
      },
    },
    DeleteAlarms: {
      readOnly: false,
      resource: () => '*',
      async handle(input, ctx) {
        service.deleteAlarms(scopeOf(ctx), strs(input['AlarmNames']))
        return {}
      },
    },
    DescribeAlarmHistory: {
      readOnly: true,
      resource: alarmResource,
      async handle(input, ctx) {
        const r = service.describeAlarmHistory(scopeOf(ctx), {
          ...(str(input['AlarmName']) !== undefined ? { alarmName: str(input['AlarmName'])! } : {}),
          ...(str(input['HistoryItemType'])
            ? { historyItemType: str(input['HistoryItemType']) as HistoryItem['type'] }
            : {}),
          ...(input['StartDate'] instanceof Date ? { startDate: input['StartDate'] } : {}),
          ...(input['EndDate'] instanceof Date ? { endDate: input['EndDate'] } : {}),
          ...(num(input['MaxRecords']) !== undefined
            ? { maxRecords: num(input['MaxRecords'])! }
            : {}),
          ...(str(input['NextToken']) ? { nextToken: str(input['NextToken'])! } : {}),
          ...(str(input['ScanBy'])
            ? { scanBy: str(input['ScanBy']) as 'TimestampAscending' | 'TimestampDescending' }
            : {}),
        })
        return {
          AlarmHistoryItems: r.items.map(historyWire),
          ...(r.nextToken ? { NextToken: r.nextToken } : {}),
        }
      },
    },
    SetAlarmState: {
      readOnly: false,
      resource: alarmResource,
      async handle(input, ctx) {
        await service.setAlarmState(
          scopeOf(ctx),
          str(input['AlarmName'])!,
          str(input['StateValue']) as AlarmState,
          str(input['StateReason'])!,
          str(input['StateReasonData']),
        )
        return {}
      },
    },
    EnableAlarmActions: {
      readOnly: false,
      resource: () => '*',
      async handle(input, ctx) {
        service.setActionsEnabled(scopeOf(ctx), strs(input['AlarmNames']), true)
        return {}
      },
    },
    DisableAlarmActions: {
      readOnly: false,
      resource: () => '*',
      async handle(input, ctx) {
        service.setActionsEnabled(scopeOf(ctx), strs(input['AlarmNames']), false)
        return {}
      },
    },
    GetMetricStatistics: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const r = service.getMetricStatistics(scopeOf(ctx), {
          namespace: str(input['Namespace'])!,
          metricName: str(input['MetricName'])!,
          dimensions: dims(input['Dimensions']),
          startTime: input['StartTime'] as Date,
          endTime: input['EndTime'] as Date,
          period: num(input['Period'])!,
          statistics: strs(input['Statistics']) as Statistic[],
          extendedStatistics: strs(input['ExtendedStatistics']),
          ...(str(input['Unit']) ? { unit: str(input['Unit'])! } : {}),
        })
        return {
          Label: r.label,
          Datapoints: r.datapoints.map((d) => {
            const { timestamp, unit, ...stats } = d
            return { Timestamp: timestamp, Unit: unit, ...stats }
          }),
        }
      },
    },
    ListMetrics: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const filters = (
          input['Dimensions'] as { Name: string; Value?: string }[] | undefined
        )?.map((d) => ({ name: d.Name, ...(d.Value !== undefined ? { value: d.Value } : {}) }))
        const r = service.listMetrics(scopeOf(ctx), {
          ...(str(input['Namespace']) !== undefined ? { namespace: str(input['Namespace'])! } : {}),
          ...(str(input['MetricName']) !== undefined
            ? { metricName: str(input['MetricName'])! }
            : {}),
          ...(filters ? { dimensions: filters } : {}),
          ...(str(input['RecentlyActive'])
            ? { recentlyActive: str(input['RecentlyActive'])! }
            : {}),
          ...(str(input['NextToken']) ? { nextToken: str(input['NextToken'])! } : {}),
        })
        return {
          Metrics: r.metrics.map((m) => ({
            Namespace: m.namespace,
            MetricName: m.metricName,
            Dimensions: m.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
          })),
          ...(r.nextToken ? { NextToken: r.nextToken } : {}),
        }
      },
    },
    PutMetricData: {
      readOnly: false,
      logResponse: false,
      resource: () => '*',
      async handle(input, ctx) {
        const data = (input['MetricData'] as Record<string, unknown>[] | undefined) ?? []
        await service.putMetricData(
          scopeOf(ctx),
          str(input['Namespace'])!,
          data.map((d) => {
            const sv = d['StatisticValues'] as
              { SampleCount: number; Sum: number; Minimum: number; Maximum: number } | undefined
            return {
              metricName: str(d['MetricName'])!,
              dimensions: dims(d['Dimensions']),
              ...(d['Timestamp'] instanceof Date ? { timestamp: d['Timestamp'] } : {}),
              ...(num(d['Value']) !== undefined ? { value: num(d['Value'])! } : {}),
              ...(Array.isArray(d['Values']) ? { values: d['Values'] as number[] } : {}),
              ...(Array.isArray(d['Counts']) ? { counts: d['Counts'] as number[] } : {}),
              ...(sv
                ? {
                    statisticValues: {
                      sampleCount: sv.SampleCount,
                      sum: sv.Sum,
                      minimum: sv.Minimum,
                      maximum: sv.Maximum,
                    },
                  }
                : {}),
              ...(str(d['Unit']) ? { unit: str(d['Unit'])! } : {}),
            }
          }),
        )
        return {}
      },
    },
  }
}
