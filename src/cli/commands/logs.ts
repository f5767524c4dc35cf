/**
 * @module cli/commands/logs
 * `opentrail logs ...`: log groups and filter patterns over the CloudWatch Logs API (JSON 1.1):
 * list groups, search a group with a filter pattern, follow it live (`logs tail`), test a pattern
 * against sample messages, and manage metric filters.
 */
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { awsJsonCall } from '../../shared/aws-call.js'
import { collect, parseTime } from '../args.js'
import {
  addConnectionOptions,
  connect,
  type ConnectionOptions,
  resolveEndpoint,
} from '../connection.js'
import { formatTable, run } from '../output.js'

/** A signed call to the CloudWatch Logs API of the server (or `monitoring` for CloudWatch). */
export function apiCaller(opts: ConnectionOptions) {
  const connection = connect(opts)
  return <T>(service: 'logs' | 'monitoring', op: string, input: Record<string, unknown>) =>
    awsJsonCall<T>({
      ...connection,
      service,
      target: service === 'logs' ? `Logs_20140328.${op}` : `GraniteServiceVersion20100801.${op}`,
      version: service === 'logs' ? '1.1' : '1.0',
      input,
    })
}

interface LogEventOut {
  logStreamName: string
  timestamp: number
  message: string
  eventId: string
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')

function printEvent(e: LogEventOut, json: boolean): void {
  if (json) process.stdout.write(JSON.stringify(e) + '\n')
  else process.stdout.write(`${iso(e.timestamp)}  ${e.logStreamName}  ${e.message}\n`)
}

const positive = (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

interface SearchOptions extends ConnectionOptions {
  pattern?: string
  startTime?: Date
  endTime?: Date
  limit?: number
  json?: boolean
  interval?: number
}

export function registerLogs(program: Command): void {
  const logs = program
    .command('logs')
    .description('CloudWatch Logs: log groups, filter patterns and metric filters')

  addConnectionOptions(
    logs.command('groups').description('List log groups').option('--prefix <prefix>'),
  ).action(async (opts: ConnectionOptions & { prefix?: string }) =>
    run(async () => {
      const call = apiCaller(opts)
      const rows: string[][] = []
      let nextToken: string | undefined
      do {
        const r = await call<{
          logGroups: {
            logGroupName: string
            retentionInDays?: number
            metricFilterCount: number
            storedBytes: number
          }[]
          nextToken?: string
        }>('logs', 'DescribeLogGroups', {
          ...(opts.prefix ? { logGroupNamePrefix: opts.prefix } : {}),
          ...(nextToken ? { nextToken } : {}),
        })
        for (const g of r.logGroups)
          rows.push([
            g.logGroupName,
            g.retentionInDays ? `${g.retentionInDays} days` : 'never expire',
            String(g.metricFilterCount),
            String(g.storedBytes),
          ])
        nextToken = r.nextToken
      } while (nextToken)
      process.stdout.write(formatTable(['LOG GROUP', 'RETENTION', 'METRIC FILTERS', 'BYTES'], rows))
    }, resolveEndpoint(opts.endpointUrl)),
  )

  const searchOptions = (c: Command) =>
    addConnectionOptions(
      c
        .option('-p, --pattern <pattern>', 'CloudWatch Logs filter pattern')
        .option('--start-time <time>', 'ISO, epoch, or ago like 10m', (v: string) => parseTime(v))
        .option('--end-time <time>', 'ISO, epoch, or ago like 10m', (v: string) => parseTime(v))
        .option('--json', 'one JSON object per event'),
    )

  searchOptions(
    logs
      .command('filter <group>')
      .description('Search a log group with a filter pattern')
      .option('-n, --limit <n>', 'at most this many events', positive),
  ).action(async (group: string, opts: SearchOptions) =>
    run(async () => {
      const call = apiCaller(opts)
      let nextToken: string | undefined
      let shown = 0
      do {
        const r = await call<{ events: LogEventOut[]; nextToken?: string }>(
          'logs',
          'FilterLogEvents',
          {
            logGroupName: group,
            ...(opts.pattern !== undefined ? { filterPattern: opts.pattern } : {}),
            ...(opts.startTime ? { startTime: opts.startTime.getTime() } : {}),
            ...(opts.endTime ? { endTime: opts.endTime.getTime() } : {}),
            ...(opts.limit ? { limit: Math.min(10_000, opts.limit - shown) } : {}),
            ...(nextToken ? { nextToken } : {}),
          },
        )
        for (const e of r.events) printEvent(e, opts.json ?? false)
        shown += r.events.length
        nextToken = r.nextToken
      } while (nextToken && (!opts.limit || shown < opts.limit))
    }, resolveEndpoint(opts.endpointUrl)),
  )

  searchOptions(
    logs
      .command('tail <group>')
      .description('Follow a log group live, optionally through a filter pattern (Ctrl-C stops)')
      .option('--interval <seconds>', 'seconds between polls (default 1)', Number, 1),
  ).action(async (group: string, opts: SearchOptions) =>
    run(async () => {
      const call = apiCaller(opts)
      const stop = new AbortController()
      process.once('SIGINT', () => stop.abort())
      process.once('SIGTERM', () => stop.abort())
      let since = opts.startTime?.getTime() ?? Date.now() - 10_000
      const seen = new Set<string>()
      while (!stop.signal.aborted) {
        let nextToken: string | undefined
        do {
          const r = await call<{ events: LogEventOut[]; nextToken?: string }>(
            'logs',
            'FilterLogEvents',
            {
              logGroupName: group,
              startTime: since,
              ...(opts.pattern !== undefined ? { filterPattern: opts.pattern } : {}),
              ...(nextToken ? { nextToken } : {}),
            },
          )
          for (const e of r.events) {
            if (seen.has(e.eventId)) continue
            seen.add(e.eventId)
            printEvent(e, opts.json ?? false)
            // Events can arrive late (event time before ingestion): keep a 10-second overlap.
            since = Math.max(since, e.timestamp - 10_000)
          }
          nextToken = r.nextToken
        } while (nextToken)
        if (seen.size > 50_000) seen.clear()
        await sleep((opts.interval ?? 1) * 1000, undefined, { signal: stop.signal }).catch(() => {})
      }
    }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    logs
      .command('test-pattern <pattern>')
      .description('Test a filter pattern against messages (TestMetricFilter)')
      .option(
        '-m, --message <text>',
        'a log message (repeatable)',
        collect((v: string) => v),
        [],
      )
      .option('-f, --file <path>', 'messages, one per line'),
  ).action(
    async (pattern: string, opts: ConnectionOptions & { message: string[]; file?: string }) =>
      run(async () => {
        const messages = [...opts.message]
        if (opts.file)
          messages.push(...(await readFile(opts.file, 'utf8')).split('\n').filter((l) => l !== ''))
        if (messages.length === 0)
          throw new InvalidArgumentError('give messages with --message or --file')
        const call = apiCaller(opts)
        const r = await call<{
          matches: {
            eventNumber: number
            eventMessage: string
            extractedValues: Record<string, string>
          }[]
        }>('logs', 'TestMetricFilter', {
          filterPattern: pattern,
          logEventMessages: messages.slice(0, 50),
        })
        for (const m of r.matches) {
          const values = Object.entries(m.extractedValues)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
          process.stdout.write(
            `match ${m.eventNumber}: ${m.eventMessage}${values ? `\n  ${values}` : ''}\n`,
          )
        }
        process.stdout.write(
          `${r.matches.length} of ${Math.min(50, messages.length)} messages match\n`,
        )
      }, resolveEndpoint(opts.endpointUrl)),
  )

  const mf = logs.command('metric-filters').description('Metric filters of log groups')
  addConnectionOptions(mf.command('list [group]').description('List metric filters')).action(
    async (group: string | undefined, opts: ConnectionOptions) =>
      run(async () => {
        const call = apiCaller(opts)
        const rows: string[][] = []
        let nextToken: string | undefined
        do {
          const r = await call<{
            metricFilters: {
              filterName: string
              logGroupName: string
              filterPattern: string
              metricTransformations: {
                metricNamespace: string
                metricName: string
                metricValue: string
              }[]
            }[]
            nextToken?: string
          }>('logs', 'DescribeMetricFilters', {
            ...(group ? { logGroupName: group } : {}),
            ...(nextToken ? { nextToken } : {}),
          })
          for (const f of r.metricFilters) {
            const t = f.metricTransformations[0]
            rows.push([
              f.logGroupName,
              f.filterName,
              t ? `${t.metricNamespace}/${t.metricName} += ${t.metricValue}` : '',
              f.filterPattern,
            ])
          }
          nextToken = r.nextToken
        } while (nextToken)
        process.stdout.write(formatTable(['LOG GROUP', 'FILTER', 'METRIC', 'PATTERN'], rows))
      }, resolveEndpoint(opts.endpointUrl)),
  )
  addConnectionOptions(
    mf
      .command('put <group> <name>')
      .description('Create or replace a metric filter')
      .requiredOption('-p, --pattern <pattern>', 'filter pattern')
      .requiredOption('--namespace <ns>', 'metric namespace')
      .requiredOption('--metric-name <name>', 'metric name')
      .option('--value <value>', 'a number or a field such as $.bytes (default 1)', '1')
      .option('--default-value <n>', 'published when nothing matches', Number)
      .option(
        '--dimension <name=$.field>',
        'a dimension (repeatable, at most 3)',
        collect((v: string) => v),
        [],
      )
      .option('--unit <unit>', 'metric unit'),
  ).action(
    async (
      group: string,
      name: string,
      opts: ConnectionOptions & {
        pattern: string
        namespace: string
        metricName: string
        value: string
        defaultValue?: number
        dimension: string[]
        unit?: string
      },
    ) =>
      run(async () => {
        const dims: Record<string, string> = {}
        for (const d of opts.dimension) {
          const i = d.indexOf('=')
          if (i < 1) throw new InvalidArgumentError(`--dimension ${d}: expected name=$.field`)
          dims[d.slice(0, i)] = d.slice(i + 1)
        }
        await apiCaller(opts)('logs', 'PutMetricFilter', {
          logGroupName: group,
          filterName: name,
          filterPattern: opts.pattern,
          metricTransformations: [
            {
              metricName: opts.metricName,
              metricNamespace: opts.namespace,
              metricValue: opts.value,
              ...(opts.defaultValue !== undefined ? { defaultValue: opts.defaultValue } : {}),
              ...(Object.keys(dims).length ? { dimensions: dims } : {}),
              ...(opts.unit ? { unit: opts.unit } : {}),
            },
          ],
        })
        process.stdout.write(`Metric filter ${name} on ${group} saved.\n`)
      }, resolveEndpoint(opts.endpointUrl)),
  )
  addConnectionOptions(
    mf.command('delete <group> <name>').description('Delete a metric filter'),
  ).action(async (group: string, name: string, opts: ConnectionOptions) =>
    run(async () => {
      await apiCaller(opts)('logs', 'DeleteMetricFilter', { logGroupName: group, filterName: name })
      process.stdout.write(`Metric filter ${name} on ${group} deleted.\n`)
    }, resolveEndpoint(opts.endpointUrl)),
  )
}
