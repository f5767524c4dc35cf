/**
 * @module cli/commands/alarms
 * `opentrail alarms ...`: CloudWatch metric alarms over the CloudWatch API (JSON 1.0): show alarm
 * states, create or replace an alarm, its history, delete, and set a state by hand.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { collect } from '../args.js'
import { addConnectionOptions, type ConnectionOptions, resolveEndpoint } from '../connection.js'
import { formatTable, run } from '../output.js'
import { apiCaller } from './logs.js'

interface AlarmOut {
  AlarmName: string
  StateValue: string
  StateReason: string
  StateUpdatedTimestamp: number
  Namespace: string
  MetricName: string
  Statistic: string
  Period: number
  EvaluationPeriods: number
  Threshold: number
  ComparisonOperator: string
}

const OPS: Record<string, string> = {
  '>=': 'GreaterThanOrEqualToThreshold',
  '>': 'GreaterThanThreshold',
  '<': 'LessThanThreshold',
  '<=': 'LessThanOrEqualToThreshold',
}
const SHORT = Object.fromEntries(Object.entries(OPS).map(([k, v]) => [v, k]))

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z')
const int = (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

export function registerAlarms(program: Command): void {
  const alarms = program.command('alarms').description('CloudWatch metric alarms')

  addConnectionOptions(
    alarms
      .command('list')
      .description('Show alarms and their states')
      .option('--state <state>', 'OK, ALARM or INSUFFICIENT_DATA')
      .option('--prefix <prefix>', 'alarm name prefix'),
  ).action(async (opts: ConnectionOptions & { state?: string; prefix?: string }) =>
    run(async () => {
      const call = apiCaller(opts)
      const rows: string[][] = []
      let NextToken: string | undefined
      do {
        const r = await call<{ MetricAlarms: AlarmOut[]; NextToken?: string }>(
          'monitoring',
          'DescribeAlarms',
          {
            ...(opts.state ? { StateValue: opts.state } : {}),
            ...(opts.prefix ? { AlarmNamePrefix: opts.prefix } : {}),
            ...(NextToken ? { NextToken } : {}),
          },
        )
        for (const a of r.MetricAlarms)
          rows.push([
            a.AlarmName,
            a.StateValue,
            iso(a.StateUpdatedTimestamp),
            `${a.Statistic}(${a.Namespace}/${a.MetricName}, ${a.Period}s) ${SHORT[a.ComparisonOperator] ?? a.ComparisonOperator} ${a.Threshold} for ${a.EvaluationPeriods}`,
          ])
        NextToken = r.NextToken
      } while (NextToken)
      process.stdout.write(formatTable(['ALARM', 'STATE', 'SINCE', 'CONDITION'], rows))
    }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    alarms
      .command('put <name>')
      .description('Create or replace a metric alarm')
      .requiredOption('--namespace <ns>')
      .requiredOption('--metric-name <name>')
      .option('--statistic <stat>', 'Sum, Average, Minimum, Maximum or SampleCount', 'Sum')
      .option('--period <seconds>', 'a multiple of 60', int, 300)
      .requiredOption('--threshold <n>', 'threshold', Number)
      .option('--comparison <op>', '>=, >, < or <=', '>=')
      .option('--evaluation-periods <n>', 'periods evaluated', int, 1)
      .option('--datapoints-to-alarm <n>', 'breaching periods needed (default: all)', int)
      .option('--treat-missing-data <how>', 'missing, ignore, breaching or notBreaching', 'missing')
      .option(
        '--dimension <name=value>',
        'metric dimension (repeatable)',
        collect((v: string) => v),
        [],
      )
      .option(
        '--alarm-action <arn>',
        'topic ARN notified on ALARM (repeatable)',
        collect((v: string) => v),
        [],
      )
      .option(
        '--ok-action <arn>',
        'topic ARN notified on OK (repeatable)',
        collect((v: string) => v),
        [],
      )
      .option('--description <text>'),
  ).action(
    async (
      name: string,
      opts: ConnectionOptions & {
        namespace: string
        metricName: string
        statistic: string
        period: number
        threshold: number
        comparison: string
        evaluationPeriods: number
        datapointsToAlarm?: number
        treatMissingData: string
        dimension: string[]
        alarmAction: string[]
        okAction: string[]
        description?: string
      },
    ) =>
      run(async () => {
        const op = OPS[opts.comparison] ?? opts.comparison
        const dims = opts.dimension.map((d) => {
          const i = d.indexOf('=')
          if (i < 1) throw new InvalidArgumentError(`--dimension ${d}: expected name=value`)
          return { Name: d.slice(0, i), Value: d.slice(i + 1) }
        })
        await apiCaller(opts)('monitoring', 'PutMetricAlarm', {
          AlarmName: name,
          Namespace: opts.namespace,
          MetricName: opts.metricName,
          Statistic: opts.statistic,
          Period: opts.period,
          Threshold: opts.threshold,
          ComparisonOperator: op,
          EvaluationPeriods: opts.evaluationPeriods,
          ...(opts.datapointsToAlarm ? { DatapointsToAlarm: opts.datapointsToAlarm } : {}),
          TreatMissingData: opts.treatMissingData,
          ...(dims.length ? { Dimensions: dims } : {}),
          ...(opts.alarmAction.length ? { AlarmActions: opts.alarmAction } : {}),
          ...(opts.okAction.length ? { OKActions: opts.okAction } : {}),
          ...(opts.description ? { AlarmDescription: opts.description } : {}),
        })
        process.stdout.write(`Alarm ${name} saved.\n`)
      }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    alarms.command('history <name>').description('State changes, updates and actions of an alarm'),
  ).action(async (name: string, opts: ConnectionOptions) =>
    run(async () => {
      const r = await apiCaller(opts)<{
        AlarmHistoryItems: { Timestamp: number; HistoryItemType: string; HistorySummary: string }[]
      }>('monitoring', 'DescribeAlarmHistory', { AlarmName: name })
      process.stdout.write(
        formatTable(
          ['TIME', 'TYPE', 'SUMMARY'],
          r.AlarmHistoryItems.map((h) => [iso(h.Timestamp), h.HistoryItemType, h.HistorySummary]),
        ),
      )
    }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(alarms.command('delete <names...>').description('Delete alarms')).action(
    async (names: string[], opts: ConnectionOptions) =>
      run(async () => {
        await apiCaller(opts)('monitoring', 'DeleteAlarms', { AlarmNames: names })
        process.stdout.write(`Deleted ${names.join(', ')}.\n`)
      }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    alarms
      .command('set-state <name> <state>')
      .description('Set an alarm state until its next evaluation (to test notifications)')
      .option('--reason <text>', 'state reason', 'Set by opentrail alarms set-state'),
  ).action(async (name: string, state: string, opts: ConnectionOptions & { reason: string }) =>
    run(async () => {
      await apiCaller(opts)('monitoring', 'SetAlarmState', {
        AlarmName: name,
        StateValue: state,
        StateReason: opts.reason,
      })
      process.stdout.write(`Alarm ${name} set to ${state}.\n`)
    }, resolveEndpoint(opts.endpointUrl)),
  )
}
