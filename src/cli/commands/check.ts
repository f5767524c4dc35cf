/**
 * @module cli/commands/check
 * `opentrail check`: the security posture report (Security Hub's CloudTrail controls and the CIS
 * AWS Foundations logging checks) for a running server. Trails are read through the CloudTrail API
 * (DescribeTrails, GetTrailStatus, GetEventSelectors, ListTags) and their buckets' settings through
 * the S3 API (GetBucketPolicy, GetPublicAccessBlock, GetBucketAcl, GetBucketLogging), so it works
 * whether trails deliver to the embedded store or to an external S3. The evaluation is the pure
 * code of domains/posture, shared with the server's API and the console (see decision 0006).
 * Exit status: 0 all passed, 1 a control failed, 2 none failed but some settings could not be read.
 */
import { InvalidArgumentError, type Command } from 'commander'
import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import type { S3Client } from '@aws-sdk/client-s3'
import { collect } from '../args.js'
import {
  addConnectionOptions,
  cloudTrailClient,
  connect,
  resolveEndpoint,
  sdkConfig,
  type ConnectionOptions,
} from '../connection.js'
import { CliError, run } from '../output.js'
import { evaluatePosture } from '../../domains/posture/evaluate.js'
import type { PostureBucket, PostureReport, PostureTrail } from '../../domains/posture/model.js'
import { bucketFromWire, reportToWire, trailFromWire } from '../../domains/posture/wire.js'

interface CheckOptions extends ConnectionOptions {
  s3EndpointUrl?: string
  control?: string[]
  requiredTag?: string[]
  output: 'text' | 'json'
}

type Wire = Record<string, unknown>
/** An SDK output as the plain object it is. */
const w = (x: object): Wire => x as Wire

export function registerCheck(program: Command): void {
  const cmd = program
    .command('check')
    .description(
      'Security posture: Security Hub CloudTrail controls and CIS logging checks, with remediation',
    )
    .option(
      '--s3-endpoint-url <url>',
      'S3 endpoint for the trail buckets (default AWS_ENDPOINT_URL_S3, else the OpenTrail endpoint)',
    )
    .option('--control <id>', 'only this control, e.g. CloudTrail.6 (repeatable)', collect(String))
    .option(
      '--required-tag <key>',
      'CloudTrail.9: a tag key every trail must have (repeatable)',
      collect(String),
    )
    .option(
      '-o, --output <format>',
      'text or json',
      (v: string) => {
        if (v !== 'text' && v !== 'json')
          throw new InvalidArgumentError(`expected text or json (got '${v}')`)
        return v
      },
      'text',
    )
  addConnectionOptions(cmd).action(async (opts: CheckOptions) =>
    run(async () => {
      const endpoint = resolveEndpoint(opts.endpointUrl)
      const s3Endpoint =
        opts.s3EndpointUrl ??
        process.env['AWS_ENDPOINT_URL_S3'] ??
        process.env['AWS_ENDPOINT_URL'] ??
        endpoint
      const trails = await readTrails(opts)
      const buckets = await readBuckets(opts, s3Endpoint, trails)
      let report: PostureReport
      try {
        report = evaluatePosture(
          { trails, buckets },
          {
            ...(opts.control ? { controls: opts.control } : {}),
            ...(opts.requiredTag ? { requiredTagKeys: opts.requiredTag } : {}),
            endpointUrl: endpoint,
            s3EndpointUrl: s3Endpoint,
          },
        )
      } catch (err) {
        if (err instanceof RangeError) throw new CliError(err.message, 2)
        throw err
      }
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify(reportToWire(report), null, 2) + '\n')
      } else process.stdout.write(formatReport(report))
      process.exitCode = report.summary.failed > 0 ? 1 : report.summary.unknown > 0 ? 2 : 0
    }, resolveEndpoint(opts.endpointUrl)),
  )
}

/** Every trail visible from the region, once, with its status, selectors and tags. */
async function readTrails(opts: CheckOptions): Promise<PostureTrail[]> {
  const clients = new Map<string, CloudTrailClient>()
  const clientFor = (region: string) => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = cloudTrailClient({ ...opts, region })))
    return c
  }
  const home = cloudTrailClient(opts)
  const described = await home.send(new DescribeTrailsCommand({ includeShadowTrails: true }))
  const seen = new Set<string>()
  const list = (described.trailList ?? []).filter(
    (t) => t.TrailARN && !seen.has(t.TrailARN) && seen.add(t.TrailARN),
  )
  return Promise.all(
    list.map(async (t) => {
      // Status, selectors and tags are asked of the trail's home region, as AWS requires.
      const c = t.HomeRegion ? clientFor(t.HomeRegion) : home
      const arn = t.TrailARN!
      const [status, selectors, tags] = await Promise.all([
        c.send(new GetTrailStatusCommand({ Name: arn })),
        c.send(new GetEventSelectorsCommand({ TrailName: arn })),
        c.send(new ListTagsCommand({ ResourceIdList: [arn] })),
      ])
      const tagList = tags.ResourceTagList?.find((r) => r.ResourceId === arn)?.TagsList ?? []
      return trailFromWire(w(t), w(status), w(selectors), tagList.map(w))
    }),
  )
}

/** The settings of every trail bucket; a bucket that cannot be read gets `error`. */
async function readBuckets(
  opts: CheckOptions,
  endpoint: string,
  trails: PostureTrail[],
): Promise<Record<string, PostureBucket>> {
  const names = [...new Set(trails.map((t) => t.s3BucketName).filter(Boolean))]
  if (names.length === 0) return {}
  // Loaded here: the S3 SDK is heavy, and other commands must not pay for it at startup.
  const S3 = await import('@aws-sdk/client-s3')
  const config = sdkConfig(connect({ ...opts, endpointUrl: endpoint }))
  const region = config.region
  const clients = new Map<string, S3Client>()
  const client = (r: string) => {
    let c = clients.get(r)
    if (!c) {
      c = new S3.S3Client({ ...config, region: r, forcePathStyle: true })
      clients.set(r, c)
    }
    return c
  }
  /** The answer, or undefined when S3 says the setting is not configured. */
  const optional = async <T>(p: Promise<T>, notConfigured: string): Promise<T | undefined> => {
    try {
      return await p
    } catch (err) {
      if ((err as Error).name === notConfigured) return undefined
      throw err
    }
  }
  const out: Record<string, PostureBucket> = {}
  await Promise.all(
    names.map(async (name) => {
      try {
        const location = await client(region).send(
          new S3.GetBucketLocationCommand({ Bucket: name }),
        )
        const s3 = client(location.LocationConstraint || 'us-east-1')
        const [policy, pab, acl, logging] = await Promise.all([
          optional(s3.send(new S3.GetBucketPolicyCommand({ Bucket: name })), 'NoSuchBucketPolicy'),
          optional(
            s3.send(new S3.GetPublicAccessBlockCommand({ Bucket: name })),
            'NoSuchPublicAccessBlockConfiguration',
          ),
          s3.send(new S3.GetBucketAclCommand({ Bucket: name })),
          s3.send(new S3.GetBucketLoggingCommand({ Bucket: name })),
        ])
        out[name] = bucketFromWire(name, {
          ...(policy?.Policy ? { policy: policy.Policy } : {}),
          ...(pab?.PublicAccessBlockConfiguration
            ? { publicAccessBlock: w(pab.PublicAccessBlockConfiguration) }
            : {}),
          acl: w(acl),
          logging: w(logging),
        })
      } catch (err) {
        const e = err as Error & { $metadata?: unknown }
        out[name] = { name, error: e.$metadata ? `${e.name}: ${e.message}` : e.message }
      }
    }),
  )
  return out
}

export function formatReport(r: PostureReport): string {
  const lines: string[] = []
  for (const c of r.controls) {
    const cis = c.cis.length ? `  [${c.cis.join(', ')}]` : ''
    lines.push(`${c.status.padEnd(14)} ${c.id.padEnd(13)} ${c.severity.padEnd(8)} ${c.title}${cis}`)
    for (const f of c.findings) {
      lines.push(`    ${f.status === c.status ? '' : `${f.status}: `}${f.resource}: ${f.reason}`)
    }
    if (c.remediation.length > 0) {
      lines.push('    Remediation:')
      for (const step of c.remediation) lines.push(`      ${step}`)
    }
  }
  const s = r.summary
  lines.push(
    '',
    `${s.passed} passed, ${s.failed} failed, ${s.unknown} unknown, ${s.notApplicable} not applicable.`,
  )
  return lines.join('\n') + '\n'
}
