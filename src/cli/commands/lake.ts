/**
 * @module cli/commands/lake
 * `opentrail lake`: CloudTrail Lake from the command line, over the public API.
 *   opentrail lake stores                      event data stores (ID, name, status, retention)
 *   opentrail lake query "SELECT ... FROM $EDS" --store security
 *   opentrail lake query "SELECT ... FROM $EDS WHERE eventName = ?" --store security --param ConsoleLogin
 * `query` starts the query, waits for it, pages through GetQueryResults and prints a table (or JSON
 * with -o json). `$EDS` in the statement is replaced by the ID of the store named by --store (its
 * name, ID or ARN).
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import {
  DescribeQueryCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  StartQueryCommand,
  type CloudTrailClient,
  type EventDataStore,
} from '@aws-sdk/client-cloudtrail'
import { parseCount } from '../args.js'
import { addConnectionOptions, cloudTrailClient, resolveEndpoint } from '../connection.js'
import { CliError, formatTable, run } from '../output.js'

interface QueryOptions {
  store?: string
  file?: string
  param: string[]
  deliveryS3Uri?: string
  maxRows: number
  timeout: number
  output?: string
  endpointUrl?: string
}

async function allStores(client: CloudTrailClient): Promise<EventDataStore[]> {
  const out: EventDataStore[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListEventDataStoresCommand({ NextToken: token }))
    out.push(...(page.EventDataStores ?? []))
    token = page.NextToken
  } while (token)
  return out
}

/** Runs a Lake query to the end; returns the column names and rows. */
export async function runLakeQuery(
  client: CloudTrailClient,
  statement: string,
  opts: { maxRows: number; timeoutMs: number; parameters?: string[]; deliveryS3Uri?: string },
): Promise<{ columns: string[]; rows: string[][]; truncated: boolean; queryId: string }> {
  const { QueryId } = await client.send(
    new StartQueryCommand({
      QueryStatement: statement,
      ...(opts.parameters?.length ? { QueryParameters: opts.parameters } : {}),
      ...(opts.deliveryS3Uri ? { DeliveryS3Uri: opts.deliveryS3Uri } : {}),
    }),
  )
  const deadline = Date.now() + opts.timeoutMs
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (d.QueryStatus === 'FINISHED') break
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') {
      throw new CliError(`Query ${QueryId} ${d.QueryStatus}: ${d.ErrorMessage ?? ''}`.trim())
    }
    if (Date.now() > deadline) throw new CliError(`Query ${QueryId} still ${d.QueryStatus}.`)
    await new Promise((r) => setTimeout(r, wait))
  }
  const columns: string[] = []
  const rows: string[][] = []
  let token: string | undefined
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryId, NextToken: token }))
    for (const row of page.QueryResultRows ?? []) {
      if (rows.length >= opts.maxRows) break
      if (columns.length === 0) for (const cell of row) columns.push(...Object.keys(cell))
      rows.push(row.map((cell) => Object.values(cell)[0] ?? ''))
    }
    token = page.NextToken
  } while (token && rows.length < opts.maxRows)
  return { columns, rows, truncated: token !== undefined, queryId: QueryId! }
}

export function registerLake(program: Command): void {
  const lake = program.command('lake').description('CloudTrail Lake: event data stores and SQL')

  addConnectionOptions(
    lake
      .command('stores')
      .description('List event data stores')
      .option('-o, --output <format>', 'table or json', 'table'),
  ).action(async (opts: { output?: string; endpointUrl?: string }) =>
    run(async () => {
      const stores = await allStores(cloudTrailClient(opts))
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify({ EventDataStores: stores }, null, 2) + '\n')
        return
      }
      if (stores.length === 0) {
        process.stdout.write('No event data stores.\n')
        return
      }
      process.stdout.write(
        formatTable(
          ['ID', 'NAME', 'STATUS', 'RETENTION'],
          stores.map((s) => [
            s.EventDataStoreArn!.split('/')[1]!,
            s.Name ?? '',
            s.Status ?? '',
            `${s.RetentionPeriod ?? ''} days`,
          ]),
        ),
      )
    }, resolveEndpoint(opts.endpointUrl)),
  )

  addConnectionOptions(
    lake
      .command('query')
      .description('Run a Lake SQL query and print its results ($EDS: the --store ID)')
      .argument('[statement]', 'the SQL statement (or --file)')
      .option('--store <name>', 'event data store (name, ID or ARN) that $EDS stands for')
      .option('--file <path>', 'read the statement from a file')
      .option(
        '--param <value>',
        'a value for the next ? placeholder (repeat, in order; bound as a string literal)',
        (v: string, all: string[]) => [...all, v],
        [] as string[],
      )
      .option('--delivery-s3-uri <uri>', 'also write the results to s3://bucket/prefix')
      .option('-o, --output <format>', 'table or json', 'table')
      .option('--max-rows <n>', 'rows to print at most (default 1000)', parseCount(1), 1000)
      .option(
        '--timeout <seconds>',
        'give up waiting after this long (default 3600)',
        parseCount(1),
        3600,
      ),
  ).action(async (statement: string | undefined, opts: QueryOptions) =>
    run(async () => {
      let sql = opts.file ? await readFile(opts.file, 'utf8') : statement
      if (!sql || sql.trim() === '') throw new CliError('Give a statement or --file.')
      const client = cloudTrailClient(opts)
      if (sql.includes('$EDS')) {
        if (!opts.store) throw new CliError('The statement uses $EDS: name the store with --store.')
        const want = opts.store
        const st = (await allStores(client)).find(
          (s) =>
            s.Name === want ||
            s.EventDataStoreArn === want ||
            s.EventDataStoreArn?.endsWith(`/${want}`),
        )
        if (!st) throw new CliError(`No event data store named ${want}.`)
        sql = sql.replaceAll('$EDS', st.EventDataStoreArn!.split('/')[1]!)
      }
      const out = await runLakeQuery(client, sql, {
        maxRows: opts.maxRows,
        timeoutMs: opts.timeout * 1000,
        parameters: opts.param,
        deliveryS3Uri: opts.deliveryS3Uri,
      })
      if (opts.output === 'json') {
        const items = out.rows.map((r): Record<string, string> =>
          Object.fromEntries(r.map((v, i): [string, string] => [out.columns[i] ?? `_col${i}`, v])),
        )
        process.stdout.write(JSON.stringify({ QueryId: out.queryId, Rows: items }, null, 2) + '\n')
        return
      }
      if (out.rows.length === 0) process.stdout.write('No rows.\n')
      else process.stdout.write(formatTable(out.columns, out.rows))
      if (out.truncated) process.stderr.write(`More rows: --max-rows, or query ${out.queryId}\n`)
    }, resolveEndpoint(opts.endpointUrl)),
  )
}
