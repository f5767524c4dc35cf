/**
 * @module cli/commands/lookup-events
 * `opentrail lookup-events` (alias `events`): Event History as a table or JSON, paging through
 * NextToken until --max-items events have been read.
 */
import type { Command } from 'commander'
import { LookupEventsCommand, type Event } from '@aws-sdk/client-cloudtrail'
import { parseCount, parseTime } from '../args.js'
import { addConnectionOptions, cloudTrailClient, resolveEndpoint } from '../connection.js'
import { addFilterOptions, lookupInput, type FilterOptions } from '../lookup.js'
import { CliError, EVENT_COLUMNS, eventJson, eventRow, formatTable, run } from '../output.js'

export const DEFAULT_MAX_ITEMS = 50

interface LookupOptions extends FilterOptions {
  startTime?: Date
  endTime?: Date
  maxResults?: number
  maxItems: number | 'all'
  startingToken?: string
}

const parseMaxItems = (v: string): number | 'all' => (v === 'all' ? 'all' : parseCount(1)(v))

export function registerLookupEvents(program: Command): void {
  const cmd = program
    .command('lookup-events')
    .alias('events')
    .description('Look up events in Event History, newest first')
    .option(
      '--start-time <time>',
      'oldest event time: ISO 8601, epoch seconds, or ago like 30m, 2h, 1d',
      (v: string) => parseTime(v),
    )
    .option('--end-time <time>', 'newest event time (same forms)', (v: string) => parseTime(v))
    .option(
      '--max-results <n>',
      'events per LookupEvents call, 1-50 (default 50)',
      parseCount(1, 50),
    )
    .option(
      '--max-items <n>',
      `events to show in all, paging as needed, or 'all' (default ${DEFAULT_MAX_ITEMS})`,
      parseMaxItems,
      DEFAULT_MAX_ITEMS,
    )
    .option('--starting-token <token>', 'continue from the NextToken of an earlier call')
  addConnectionOptions(addFilterOptions(cmd)).action(async (opts: LookupOptions) =>
    run(async () => {
      if (opts.startTime && opts.endTime && opts.startTime > opts.endTime)
        throw new CliError('--start-time is after --end-time.')
      const client = cloudTrailClient(opts)
      const limit = opts.maxItems === 'all' ? Infinity : opts.maxItems
      const pageSize = opts.maxResults ?? 50
      const events: Event[] = []
      let token = opts.startingToken
      do {
        // Never ask for more than is left, so NextToken resumes exactly after the last shown event.
        const page = await client.send(
          new LookupEventsCommand({
            ...lookupInput(opts),
            ...(opts.startTime ? { StartTime: opts.startTime } : {}),
            ...(opts.endTime ? { EndTime: opts.endTime } : {}),
            MaxResults: Math.min(pageSize, limit - events.length),
            ...(token ? { NextToken: token } : {}),
          }),
        )
        events.push(...(page.Events ?? []))
        token = page.NextToken
      } while (token && events.length < limit)

      if (opts.output === 'json') {
        const body = { Events: events.map(eventJson), ...(token ? { NextToken: token } : {}) }
        process.stdout.write(JSON.stringify(body, null, 2) + '\n')
        return
      }
      if (events.length === 0) process.stdout.write('No events.\n')
      else process.stdout.write(formatTable(EVENT_COLUMNS, events.map(eventRow)))
      if (token) process.stderr.write(`More events: --starting-token ${token}\n`)
    }, resolveEndpoint(opts.endpointUrl)),
  )
}
