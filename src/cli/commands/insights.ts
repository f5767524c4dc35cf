/**
 * @module cli/commands/insights
 * `opentrail insights list` (current and recent anomalies) and `opentrail insights show ID` (one
 * anomaly: statistics, attributions and its per-minute series against the baseline band), over
 * OpenTrail's Insights API (`OpenTrailInsights_20250601`).
 */
import type { Command } from 'commander'
import { InsightsClient, type WireAnomaly } from '../../insights/client.js'
import {
  addConnectionOptions,
  connect,
  resolveEndpoint,
  type ConnectionOptions,
} from '../connection.js'
import { formatTable, run } from '../output.js'

interface Opts extends ConnectionOptions {
  output?: string
  state?: string
}

const client = (opts: Opts) => new InsightsClient(connect(opts))

const iso = (s: number | undefined) =>
  s === undefined ? '' : new Date(s * 1000).toISOString().replace('.000Z', 'Z')

function row(a: WireAnomaly): string[] {
  return [
    a.AnomalyId,
    a.State,
    iso(a.StartTime),
    a.EndTime ? `${a.InsightDuration}m` : 'open',
    `${a.EventSource.replace('.amazonaws.com', '')}:${a.EventName}`,
    a.InsightType.replace('Insight', '') + (a.ErrorCode ? ` ${a.ErrorCode}` : ''),
    a.BaselineAverage.toFixed(4),
    a.InsightAverage.toFixed(2),
    String(a.Score),
  ]
}

export function registerInsights(program: Command): void {
  const insights = program
    .command('insights')
    .description('Insights anomalies (API call rate and error rate), explained')
  addConnectionOptions(
    insights
      .command('list')
      .description('current and recent anomalies, newest first')
      .option('--state <state>', 'OPEN or CLOSED')
      .option('-o, --output <format>', 'table or json', 'table'),
  ).action(async (opts: Opts) =>
    run(async () => {
      const list = await client(opts).list(opts.state ? { State: opts.state.toUpperCase() } : {})
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n')
        return
      }
      process.stdout.write(
        formatTable(
          [
            'ID',
            'STATE',
            'START',
            'DURATION',
            'API',
            'TYPE',
            'BASELINE/MIN',
            'INSIGHT/MIN',
            'SCORE',
          ],
          list.map(row),
        ) + '\n',
      )
    }, resolveEndpoint(opts.endpointUrl)),
  )
  addConnectionOptions(
    insights
      .command('show <id>')
      .description('one anomaly: statistics, attributions and the series behind it')
      .option('-o, --output <format>', 'table or json', 'table'),
  ).action(async (id: string, opts: Opts) =>
    run(async () => {
      const a = await client(opts).get(id)
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify(a, null, 2) + '\n')
        return
      }
      const out: string[] = [
        `${a.InsightType} on ${a.EventSource} ${a.EventName}${a.ErrorCode ? ` (${a.ErrorCode})` : ''}, ${a.AccountId} ${a.Region}`,
        `State ${a.State}; started ${iso(a.StartTime)}, detected ${iso(a.DetectedAt)}` +
          (a.EndTime ? `, ended ${iso(a.EndTime)} (${a.InsightDuration} min)` : ''),
        `Window count ${a.WindowCount}, score ${a.Score} (-log10 p); baseline ${a.BaselineAverage.toFixed(4)}/min over ${a.BaselineDuration} min; insight ${a.InsightAverage.toFixed(2)}/min`,
        '',
      ]
      for (const at of a.Attributions ?? []) {
        out.push(`${at.Attribute}:`)
        for (const v of at.Insight) {
          const b = at.Baseline.find((x) => x.Value === v.Value)?.Average ?? 0
          out.push(
            `  ${v.Value}  insight ${v.Average.toFixed(2)}/min, baseline ${b.toFixed(4)}/min`,
          )
        }
      }
      out.push('')
      out.push(
        formatTable(
          ['MINUTE', 'COUNT', 'EXPECTED', 'BAND', ''],
          (a.Series ?? []).map((p) => [
            iso(p.Minute),
            String(p.Count),
            p.Expected.toFixed(4),
            p.Upper.toFixed(2),
            '#'.repeat(Math.min(60, p.Count)),
          ]),
        ),
      )
      process.stdout.write(out.join('\n') + '\n')
    }, resolveEndpoint(opts.endpointUrl)),
  )
}
