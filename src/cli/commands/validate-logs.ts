/**
 * @module cli/commands/validate-logs
 * `opentrail validate-logs`: validates a trail's log files through its digest chain, as the AWS
 * CLI's `aws cloudtrail validate-logs` does and with the same output lines (valid lines on stdout
 * with --verbose, INVALID lines and gaps on stderr, the same summary), plus what the AWS CLI
 * misses: consecutive deleted digests, deleted newest digests and inserted log files. Talks to CloudTrail
 * (DescribeTrails, GetTrailStatus, ListPublicKeys) through the AWS SDK and to S3 (GetBucketLocation,
 * ListObjectsV2, GetObject) through a lean SigV4 reader on keep-alive connections (digest/s3-source).
 * Digests are fetched ahead of the chain walk and log files in parallel (--concurrency), while the
 * output keeps the AWS CLI's order. Exit status 1 when anything is invalid, 255 when validation
 * could not run.
 */
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail'
import { Command, InvalidArgumentError } from 'commander'
import { DigestTraverser } from '../../digest/validate.js'
import {
  ValidationError,
  type LogResult,
  type ValidationEvent,
  type ValidationSource,
} from '../../digest/validation-events.js'
import { S3Reader } from '../../digest/s3-source.js'
import { listPublicKeys } from '../../shared/public-keys.js'
import { parseTime } from '../args.js'
import {
  addConnectionOptions,
  CLI_USER_AGENT,
  credentialProvider,
  resolveDataDir,
  resolveEndpoint,
} from '../connection.js'

interface Options {
  trailArn: string
  startTime: Date
  endTime?: Date
  s3Bucket?: string
  s3Prefix?: string
  accountId?: string
  verbose?: boolean
  endpointUrl?: string
  s3EndpointUrl?: string
  region?: string
  profile?: string
  dataDir?: string
  concurrency: number
  progress: boolean
}

/** A time as the AWS CLI reads it: ISO 8601 without a zone is UTC. */
function parseUtcTime(value: string): Date {
  const v = value.trim()
  const naive = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(v)
  return parseTime(naive ? (v.includes('T') ? `${v}Z` : `${v}T00:00:00Z`) : v)
}

function parseCount(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new InvalidArgumentError('must be an integer from 1 to 256')
  }
  return n
}

export function registerValidateLogs(program: Command): void {
  addConnectionOptions(
    program
      .command('validate-logs')
      .description(
        "Validate a trail's log files and digest files (as `aws cloudtrail validate-logs`)",
      )
      .requiredOption('--trail-arn <arn>', 'ARN of the trail to validate')
      .requiredOption(
        '--start-time <time>',
        'validate log files delivered on or after this UTC time',
        parseUtcTime,
      )
      .option(
        '--end-time <time>',
        'validate log files delivered on or before this UTC time (default now)',
        parseUtcTime,
      )
      .option('--s3-bucket <bucket>', 'bucket holding the digests (default: the trail bucket)')
      .option('--s3-prefix <prefix>', 'key prefix of the digests (default: the trail prefix)')
      .option('--account-id <id>', 'account whose files are validated (default: the ARN account)')
      .option('--verbose', 'print every valid digest and log file too')
      .option(
        '--s3-endpoint-url <url>',
        'S3 endpoint (default AWS_ENDPOINT_URL_S3, else the OpenTrail endpoint)',
      )
      .option('--concurrency <n>', 'log files fetched in parallel', parseCount, 32)
      .option('--no-progress', 'no progress bar on stderr'),
  ).action(async (opts: Options) => {
    process.exitCode = await validateLogs(opts)
  })
}

/**
 * `opentrail validate-logs …` without loading the other commands (bin/opentrail.js comes here
 * directly): the command is timed against the AWS CLI's, and most of a CLI start is module loading.
 */
export async function runStandalone(argv: string[]): Promise<void> {
  const program = new Command('opentrail')
  registerValidateLogs(program)
  await program.parseAsync(argv)
}

/** Runs the validation; returns the exit status. */
export async function validateLogs(opts: Options): Promise<number> {
  const out = new Output(Boolean(opts.verbose), opts.progress && Boolean(process.stderr.isTTY))
  try {
    return await run(opts, out)
  } catch (err) {
    out.clearProgress()
    const e = err as Error
    const message =
      err instanceof ValidationError || err instanceof InvalidArgumentError
        ? e.message
        : `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`
    process.stderr.write(`\n${message}\n`)
    return 255
  }
}

async function run(opts: Options, out: Output): Promise<number> {
  const closers: (() => void)[] = []
  try {
    return await validateWith(opts, out, closers)
  } finally {
    for (const close of closers) close()
  }
}

async function validateWith(opts: Options, out: Output, closers: (() => void)[]): Promise<number> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true'
  const arn = opts.trailArn
  if (!/^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/.test(arn)) {
    throw new ValidationError(`Invalid trail ARN provided: ${arn}`)
  }
  const start = opts.startTime
  const end = opts.endTime ?? new Date()
  if (start.getTime() > end.getTime()) {
    throw new ValidationError('Invalid time range specified: start-time must occur before end-time')
  }
  const homeRegion = arn.split(':')[3]!
  const trailName = arn.split('/').slice(1).join('/')
  const region = opts.region ?? homeRegion
  const dataDir = resolveDataDir(opts.dataDir)
  const credentials = credentialProvider({ profile: opts.profile, dataDir })
  const endpoint = opts.endpointUrl ?? process.env['AWS_ENDPOINT_URL_CLOUDTRAIL']
  const cloudtrail = new CloudTrailClient({
    endpoint: endpoint ?? resolveEndpoint(undefined),
    region,
    credentials,
    customUserAgent: CLI_USER_AGENT,
    maxAttempts: 3,
  })
  const s3Endpoint =
    opts.s3EndpointUrl ??
    process.env['AWS_ENDPOINT_URL_S3'] ??
    process.env['AWS_ENDPOINT_URL'] ??
    endpoint ??
    resolveEndpoint(undefined)

  let bucket = opts.s3Bucket
  let prefix = opts.s3Prefix
  // Read before listing, so that a digest delivered meanwhile is in the listing.
  const status = cloudtrail
    .send(new GetTrailStatusCommand({ Name: arn }))
    .then((s) => s.LatestDigestDeliveryTime)
    .catch(() => undefined)
  if (!bucket) {
    const trails = await cloudtrail.send(new DescribeTrailsCommand({}))
    const trail = trails.trailList?.find((t) => t.TrailARN === arn)
    if (!trail) throw new ValidationError(`A trail could not be found for ${arn}`)
    if (trail.IsOrganizationTrail) {
      throw new ValidationError('Organization trails are not supported by this command yet.')
    }
    bucket = trail.S3BucketName!
    prefix = trail.S3KeyPrefix
  }
  const latestDigestDelivery = await status

  const s3 = new S3Reader({
    endpoint: s3Endpoint,
    region,
    credentials,
    maxSockets: opts.concurrency + 8,
    userAgent: CLI_USER_AGENT,
  })
  closers.push(() => s3.close())
  const source: ValidationSource = {
    async *listKeys(b, p, startAfter) {
      for await (const o of s3.list(b, p, startAfter)) yield o.key
    },
    getObject: (b, k) => s3.getObject(b, k),
    listObjects: (b, p) => s3.list(b, p),
    publicKeys: (from, to) => listPublicKeys(cloudtrail, from, to),
  }

  const traverser = new DigestTraverser(
    source,
    {
      accountId: opts.accountId ?? arn.split(':')[4]!,
      trailName,
      homeRegion,
      sourceRegion: region,
      bucket,
      ...(prefix ? { prefix } : {}),
      start,
      end,
      ...(latestDigestDelivery ? { latestDigestDelivery } : {}),
    },
    { concurrency: opts.concurrency },
  )
  process.stdout.write(
    `Validating log files for trail ${arn} between ${display(start)} and ${display(end)}\n\n`,
  )
  const counts = new Counts(start, end)

  // The traversal runs ahead (log files are fetched concurrently); output keeps its order.
  const queue: ValidationEvent[] = []
  let finished = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const producer = (async () => {
    try {
      for await (const e of traverser.validate()) {
        queue.push(e)
        if (e.type === 'listed') out.addTotal('digests', e.digests)
        if (e.type === 'log') out.addTotal('logs', 1)
        wake?.()
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(JSON.stringify(err))
    } finally {
      finished = true
      wake?.()
    }
  })()
  for (;;) {
    const e = queue.shift()
    if (!e) {
      if (finished) break
      await new Promise<void>((r) => (wake = r))
      wake = undefined
      continue
    }
    await report(e, counts, out)
  }
  await producer
  if (failure) throw failure
  out.clearProgress()
  counts.writeSummary(out)
  return counts.invalidDigests > 0 || counts.invalidLogs > 0 ? 1 : 0
}

async function report(e: ValidationEvent, c: Counts, out: Output): Promise<void> {
  const bf = (backfill: boolean) => (backfill ? '(backfill) ' : '')
  switch (e.type) {
    case 'listed':
      return
    case 'digest-valid':
      c.digestValid(e.backfill, e.digest.digestStartTime, e.digest.digestEndTime)
      out.tick('digests')
      out.status(`${bf(e.backfill)}Digest file\ts3://${e.bucket}/${e.key}\tvalid`)
      return
    case 'digest-invalid':
      c.digestInvalid(e.backfill, 1)
      out.tick('digests')
      out.status(`${bf(e.backfill)}${e.message}`, true)
      return
    case 'digest-missing':
      c.digestInvalid(e.backfill, 1)
      out.tick('digests')
      out.status(
        `${bf(e.backfill)}Digest file\ts3://${e.bucket}/${e.key}\tINVALID: not found`,
        true,
      )
      return
    case 'digests-missing-inferred':
      c.digestInvalid(false, e.count)
      out.status(
        `Digest file\ts3://${e.bucket}/${e.folder}/\tINVALID: not found: ${e.count} more digest ` +
          `file(s) between ${display(e.from)} and ${display(e.to)} were deleted ` +
          `(inferred from the time the missing digest would cover)`,
        true,
      )
      return
    case 'newest-missing':
      c.digestInvalid(false, e.count)
      out.status(
        `Digest file\ts3://${e.bucket}/${e.folder}/\tINVALID: not found: ${e.count} newest ` +
          `digest file(s) after ${display(e.newestEnd)} were deleted (the trail last delivered ` +
          `a digest at ${display(e.latestDelivery)})`,
        true,
      )
      return
    case 'gap':
      out.status(
        `${bf(e.backfill)}No log files were delivered by CloudTrail between ` +
          `${display(e.nextEnd)} and ${display(e.lastStart)}`,
        true,
      )
      return
    case 'key-change':
      out.status(
        `Public key\t${e.olderFingerprint} -> ${e.newerFingerprint}\tchanged between ` +
          `s3://${e.bucket}/${e.olderKey} and s3://${e.bucket}/${e.newerKey}`,
      )
      return
    case 'log-unlisted':
      c.invalidLogs++
      out.status(
        `Log file\ts3://${e.bucket}/${e.key}\tINVALID: not listed in any digest ` +
          `(inserted: it falls in the time that valid digests cover)`,
        true,
      )
      return
    case 'log': {
      const r: LogResult = await e.result
      out.tick('logs')
      const line = `Log file\ts3://${e.bucket}/${e.key}\t`
      if (r.status === 'valid') {
        c.validLogs++
        out.status(`${line}valid`)
        return
      }
      c.invalidLogs++
      const why =
        r.status === 'hash-mismatch'
          ? "hash value doesn't match"
          : r.status === 'not-found'
            ? 'not found'
            : r.status === 'invalid-format'
              ? 'invalid format'
              : r.message
      out.status(`${line}INVALID: ${why}`, true)
      return
    }
  }
}

const display = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

class Counts {
  validDigests = 0
  invalidDigests = 0
  validBackfill = 0
  invalidBackfill = 0
  validLogs = 0
  invalidLogs = 0
  private foundStart: Date | undefined
  private foundEnd: Date | undefined

  constructor(
    private readonly start: Date,
    private readonly end: Date,
  ) {}

  digestValid(backfill: boolean, startTime: string, endTime: string): void {
    if (backfill) this.validBackfill++
    else this.validDigests++
    const s = new Date(Math.max(Date.parse(startTime), this.start.getTime()))
    if (!this.foundStart || s < this.foundStart) this.foundStart = s
    const e = new Date(Math.min(Date.parse(endTime), this.end.getTime()))
    if (!this.foundEnd || e > this.foundEnd) this.foundEnd = e
  }

  digestInvalid(backfill: boolean, n: number): void {
    if (backfill) this.invalidBackfill += n
    else this.invalidDigests += n
  }

  writeSummary(out: Output): void {
    let text = out.lastWasDoubleSpace ? '' : '\n'
    text += `Results requested for ${display(this.start)} to ${display(this.end)}\n`
    const valid = this.validDigests + this.validBackfill
    const invalid = this.invalidDigests + this.invalidBackfill
    if (valid === 0 && invalid === 0) {
      process.stdout.write(`${text}No digests found\n`)
      return
    }
    if (!this.foundStart || !this.foundEnd) text += 'No valid digests found in range\n'
    else text += `Results found for ${display(this.foundStart)} to ${display(this.foundEnd)}:\n`
    const ratio = (v: number, i: number, name: string) => {
      const total = v + i
      if (total === 0) return ''
      return (
        `\n${v}/${total} ${name} files valid` +
        (i > 0 ? `, ${i}/${total} ${name} files INVALID` : '')
      )
    }
    text += ratio(this.validDigests, this.invalidDigests, 'digest')
    text += ratio(this.validBackfill, this.invalidBackfill, 'backfill digest')
    text += ratio(this.validLogs, this.invalidLogs, 'log')
    process.stdout.write(`${text}\n`)
  }
}

/** The AWS CLI's output discipline, plus a progress bar on a terminal's stderr. */
class Output {
  lastWasDoubleSpace = true
  private readonly totals = { digests: 0, logs: 0 }
  private readonly done = { digests: 0, logs: 0 }
  private drawn = false
  private lastDraw = 0

  constructor(
    private readonly verbose: boolean,
    private readonly progress: boolean,
  ) {}

  status(message: string, isError = false): void {
    if (isError) {
      this.clearProgress()
      process.stderr.write(this.lastWasDoubleSpace ? `${message}\n\n` : `\n${message}\n\n`)
      this.lastWasDoubleSpace = true
    } else if (this.verbose) {
      this.clearProgress()
      this.lastWasDoubleSpace = false
      process.stdout.write(`${message}\n`)
    }
    this.draw()
  }

  addTotal(kind: 'digests' | 'logs', n: number): void {
    this.totals[kind] += n
    this.draw()
  }

  tick(kind: 'digests' | 'logs'): void {
    this.done[kind] += 1
    this.draw()
  }

  clearProgress(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K')
    this.drawn = false
  }

  private draw(): void {
    if (!this.progress) return
    const now = Date.now()
    if (this.drawn && now - this.lastDraw < 100) return
    this.lastDraw = now
    const total = this.totals.digests + this.totals.logs
    const done = Math.min(total, this.done.digests + this.done.logs)
    const width = 30
    const filled = total > 0 ? Math.round((done / total) * width) : 0
    const bar = '='.repeat(filled) + ' '.repeat(width - filled)
    process.stderr.write(
      `\r[${bar}] digests ${this.done.digests}/${this.totals.digests}, ` +
        `log files ${this.done.logs}/${this.totals.logs}\x1b[K`,
    )
    this.drawn = true
  }
}
