/**
 * @module cli/commands/import
 * `opentrail import SOURCE`: imports CloudTrail log files (a directory in the AWS layout, s3://bucket/
 * prefix, or .json/.json.gz/JSON Lines files) into OpenTrail. By default it asks the running server
 * to run the import (the server owns the event log) through the import API, then follows it with a
 * progress bar and prints a summary. With --data-dir and no live server owning that directory, it
 * runs the import in-process on the data directory instead. Ctrl-C stops the import; running the
 * same command again resumes it.
 */
import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { collect, parseCount, parseTime } from '../args.js'
import { connect, resolveDataDir, resolveEndpoint } from '../connection.js'
import { CliError, run } from '../output.js'

interface ImportOptions {
  startTime?: Date
  endTime?: Date
  account?: string[]
  region?: string[]
  validateDigests?: boolean
  olderThanRetention?: 'refuse' | 'import' | 'skip'
  s3EndpointUrl?: string
  s3Region?: string
  concurrency?: number
  progress: boolean
  json?: boolean
  detach?: boolean
  endpointUrl?: string
  profile?: string
  dataDir?: string
  config?: string
}

/** The calls both modes need, in the API's wire shapes. */
interface Runner {
  mode: string
  start(input: Record<string, unknown>): Promise<import('../../import/client.js').WireImport>
  get(id: string): Promise<import('../../import/client.js').WireImport>
  stop(id: string): Promise<unknown>
  failures(id: string): Promise<import('../../import/client.js').WireFailure[]>
  finish(): Promise<void>
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'STOPPED'])

const parseMode = (v: string): 'refuse' | 'import' | 'skip' => {
  if (v !== 'refuse' && v !== 'import' && v !== 'skip')
    throw new InvalidArgumentError('expected refuse, import or skip')
  return v
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'Import CloudTrail log files (a directory, s3://bucket/prefix, .json, .json.gz or JSON Lines)',
    )
    .argument('<source>', 'a local file or directory, or s3://bucket/prefix')
    .option('--start-time <time>', 'only events at or after this time', (v: string) => parseTime(v))
    .option('--end-time <time>', 'only events at or before this time', (v: string) => parseTime(v))
    .option('--account <id>', 'only events of this account (repeatable)', collect(String))
    .option('--region <region>', 'only events of this awsRegion (repeatable)', collect(String))
    .option(
      '--validate-digests',
      'import only files whose SHA-256 matches a digest file in the source',
    )
    .option(
      '--older-than-retention <mode>',
      "events older than Event History's retention: refuse (default), import or skip",
      parseMode,
    )
    .option('--s3-endpoint-url <url>', 'S3-compatible endpoint for an s3:// source')
    .option('--s3-region <region>', 'region of the s3:// source bucket')
    .option('--concurrency <n>', 'files read at once (default 4)', parseCount(1, 64))
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the final import description and failures as JSON on stdout')
    .option('--detach', 'start the import on the server and print its ID without waiting')
    .option(
      '--endpoint-url <url>',
      'server URL (default http://127.0.0.1:7310, env OPENTRAIL_ENDPOINT_URL)',
    )
    .option(
      '--profile <name>',
      'AWS profile for the server API (default: AWS_PROFILE, then opentrail)',
    )
    .option(
      '-d, --data-dir <dir>',
      'data directory: credentials fallback, or the in-process import target when no server owns it',
    )
    .option('-c, --config <file>', 'config file for an in-process import (env OPENTRAIL_CONFIG)')
    .action(async (source: string, opts: ImportOptions) => {
      const endpoint = resolveEndpoint(opts.endpointUrl)
      await run(() => importCommand(source, opts), endpoint)
    })
}

async function importCommand(source: string, opts: ImportOptions): Promise<void> {
  if (opts.startTime && opts.endTime && opts.startTime > opts.endTime)
    throw new CliError('--start-time is after --end-time.', 2)
  const location = /^s3:\/\//i.test(source) ? source : resolve(source)
  const input: Record<string, unknown> = { Source: location }
  if (opts.startTime) input['StartEventTime'] = opts.startTime.getTime() / 1000
  if (opts.endTime) input['EndEventTime'] = opts.endTime.getTime() / 1000
  if (opts.account?.length) input['Accounts'] = opts.account
  if (opts.region?.length) input['Regions'] = opts.region
  if (opts.validateDigests) input['ValidateDigests'] = true
  if (opts.olderThanRetention) input['OlderThanRetention'] = opts.olderThanRetention
  if (opts.s3EndpointUrl) input['S3EndpointUrl'] = opts.s3EndpointUrl
  if (opts.s3Region) input['S3Region'] = opts.s3Region
  if (opts.concurrency) input['Concurrency'] = opts.concurrency

  const runner = await chooseRunner(opts)
  const { ProgressView, formatSummary } = await import('../../import/progress.js')
  const t0 = Date.now()
  let info = await runner.start(input)
  if (opts.detach) {
    await runner.finish()
    process.stdout.write(`${info.ImportId}\n`)
    return
  }
  if (!opts.json) process.stderr.write(`Import ${info.ImportId} (${runner.mode}): ${info.Source}\n`)
  const view = new ProgressView(process.stderr, opts.progress)
  let stopping = false
  let interrupted = false
  const onSigint = () => {
    if (stopping) process.exit(130)
    stopping = true
    interrupted = true
    view.done()
    process.stderr.write(
      'Stopping the import (Ctrl-C again to quit now; run the same command to resume)...\n',
    )
    runner.stop(info.ImportId).catch(() => undefined)
  }
  process.on('SIGINT', onSigint)
  try {
    while (!FINAL.has(info.ImportStatus)) {
      await new Promise((r) => setTimeout(r, 250))
      info = await runner.get(info.ImportId)
      view.update(info)
    }
  } finally {
    process.off('SIGINT', onSigint)
    view.done()
  }
  const failures = await runner.failures(info.ImportId)
  await runner.finish()
  if (opts.json) {
    process.stdout.write(JSON.stringify({ Import: info, Failures: failures }, null, 2) + '\n')
  } else process.stderr.write(formatSummary(info, failures, Date.now() - t0))
  const s = info.ImportStatistics
  if (info.ImportStatus === 'STOPPED') process.exitCode = interrupted ? 130 : 1
  else if (info.ImportStatus === 'FAILED') process.exitCode = 1
  else if ((s['FilesFailed'] ?? 0) > 0 || (s['RecordsRejected'] ?? 0) > 0) process.exitCode = 3
}

/** In-process when --data-dir names a directory no live server owns (and no endpoint is given). */
async function chooseRunner(opts: ImportOptions): Promise<Runner> {
  const { ImportClient } = await import('../../import/client.js')
  const { serverOwning } = await import('../../import/wiring.js')
  const dataDir = resolveDataDir(opts.dataDir)
  let endpoint = resolveEndpoint(opts.endpointUrl)
  if (opts.dataDir && !opts.endpointUrl) {
    const owner = serverOwning(dataDir)
    if (!owner) return inProcess(dataDir, opts)
    endpoint = owner.url
  }
  // --region here selects the events to import; the API's region comes from the profile.
  const client = new ImportClient(
    connect({ ...(opts.profile ? { profile: opts.profile } : {}), dataDir, endpointUrl: endpoint }),
  )
  return {
    mode: `via ${endpoint}`,
    start: (input) => client.start(input),
    get: (id) => client.get(id),
    stop: (id) => client.stop(id),
    failures: (id) => client.failures(id),
    finish: async () => undefined,
  }
}

async function inProcess(dataDir: string, opts: ImportOptions): Promise<Runner> {
  const { ConfigError, loadConfig } = await import('../../config/load.js')
  let config
  try {
    config = await loadConfig({ dataDir, ...(opts.config ? { config: opts.config } : {}) })
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2)
    throw err
  }
  const { startServer } = await import('../../main.js')
  const { createLogger } = await import('../../telemetry/logger.js')
  const { describe } = await import('../../import/api.js')
  const { serializeOutput } = await import('../../protocol/model.js')
  const server = await startServer(
    { ...config, port: 0, host: '127.0.0.1' },
    { logger: createLogger(process.env['OPENTRAIL_LOG_LEVEL'] ?? 'error') },
  )
  type Wire = import('../../import/client.js').WireImport
  const wire = (i: import('../../import/types.js').ImportInfo): Wire =>
    JSON.parse(serializeOutput(describe(i))) as Wire
  const svc = server.imports
  const fromTime = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000) : undefined)
  return {
    mode: `in-process on ${dataDir}`,
    async start(input) {
      try {
        const info = await svc.start({
          source: input['Source'] as string,
          ...(input['StartEventTime'] ? { startTime: fromTime(input['StartEventTime'])! } : {}),
          ...(input['EndEventTime'] ? { endTime: fromTime(input['EndEventTime'])! } : {}),
          ...(opts.account ? { accounts: opts.account } : {}),
          ...(opts.region ? { regions: opts.region } : {}),
          ...(opts.validateDigests ? { validateDigests: true } : {}),
          ...(opts.olderThanRetention ? { olderThanRetention: opts.olderThanRetention } : {}),
          ...(opts.s3EndpointUrl ? { s3EndpointUrl: opts.s3EndpointUrl } : {}),
          ...(opts.s3Region ? { s3Region: opts.s3Region } : {}),
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        })
        return wire(info)
      } catch (err) {
        await server.close()
        throw new CliError((err as Error).message, 2)
      }
    },
    async get(id) {
      return wire(svc.get(id)!)
    },
    stop: (id) => svc.stop(id),
    async failures(id) {
      return (await svc.failures(id)).map((f) => ({
        Location: f.location,
        Kind: f.kind === 'file' ? 'FILE' : 'RECORD',
        ErrorType: f.errorType,
        ErrorMessage: f.errorMessage,
        ...(f.eventID ? { EventId: f.eventID } : {}),
        LastUpdatedTime: Date.parse(f.time) / 1000,
      }))
    },
    async finish() {
      // The events are durable in the log already; let Event History and the other sinks index
      // them before the process exits, so a later lookup finds them at once.
      const lag = () => Math.max(0, ...server.pipeline.status().map((s) => s.lag))
      let last = 0
      let best = lag()
      let progressAt = Date.now()
      while (lag() > 0) {
        const now = Date.now()
        if (lag() < best) {
          best = lag()
          progressAt = now
        } else if (now - progressAt > 60_000) {
          process.stderr.write(
            'The sinks made no progress for a minute; they resume at the next start of the server.\n',
          )
          break
        }
        if (opts.progress && now - last > 2000) {
          last = now
          process.stderr.write(
            `Indexing: ${lag().toLocaleString('en-US')} events left for the sinks\n`,
          )
        }
        await new Promise((r) => setTimeout(r, 200))
      }
      await server.close()
    },
  }
}
