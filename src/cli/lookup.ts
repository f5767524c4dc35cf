/** @module cli/lookup  The filter options lookup-events and tail share, and the LookupEvents input. */
import { InvalidArgumentError, type Command } from 'commander'
import type { LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail'
import { collect, parseLookupAttribute, parseOutput, type LookupAttribute } from './args.js'
import type { ConnectionOptions } from './connection.js'

export interface FilterOptions extends ConnectionOptions {
  lookupAttribute?: LookupAttribute[]
  category?: 'insight'
  output: 'table' | 'json'
}

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option(
      '-a, --lookup-attribute <key=value>',
      'filter, e.g. EventName=CreateTrail or Username=alice; repeatable, all must match. Keys: ' +
        'EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId',
      collect(parseLookupAttribute),
    )
    .option('--category <category>', 'event category: insight', (v: string) => {
      if (v !== 'insight')
        throw new InvalidArgumentError(`the only event category is insight (got '${v}')`)
      return v
    })
    .option('-o, --output <format>', 'table or json', parseOutput, 'table' as const)
}

export function lookupInput(opts: FilterOptions): LookupEventsCommandInput {
  return {
    ...(opts.lookupAttribute?.length ? { LookupAttributes: opts.lookupAttribute } : {}),
    ...(opts.category ? { EventCategory: opts.category } : {}),
  }
}
