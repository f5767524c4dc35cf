/**
 * @module domains/posture/controls
 * The Security Hub controls for CloudTrail (CloudTrail.1 to .7 and .9) with the CIS AWS
 * Foundations Benchmark requirements they map to, each as a pure function from the trails and
 * their buckets' settings to findings, and remediation steps built from the failing resources.
 */
import { publicReasons } from './bucket.js'
import { managementCoverage, s3DataCoverage } from './coverage.js'
import type {
  PostureBucket,
  PostureInput,
  PostureOptions,
  PostureTrail,
  ResourceFinding,
  Severity,
} from './model.js'

export interface Control {
  id: string
  title: string
  severity: Severity
  cis: string[]
  evaluate(input: PostureInput, o: PostureOptions): ResourceFinding[]
  remediate(failed: ResourceFinding[], input: PostureInput, o: PostureOptions): string[]
}

const pass = (resource: string, reason: string): ResourceFinding => ({
  resource,
  status: 'PASSED',
  reason,
})
const fail = (resource: string, reason: string): ResourceFinding => ({
  resource,
  status: 'FAILED',
  reason,
})

/** `aws <service> ...` with --endpoint-url when one is known. */
function aws(service: 'cloudtrail' | 's3api', o: PostureOptions, args: string): string {
  const url = service === 's3api' ? (o.s3EndpointUrl ?? o.endpointUrl) : o.endpointUrl
  return `aws ${service}${url ? ` --endpoint-url ${url}` : ''} ${args}`
}

const trailOf = (input: PostureInput, arn: string) => input.trails.find((t) => t.arn === arn)
const accountOf = (arn: string) => arn.split(':')[4] ?? '111122223333'
const bucketArn = (name: string) => `arn:aws:s3:::${name}`

/** One finding per trail. */
function perTrail(
  input: PostureInput,
  check: (t: PostureTrail) => { ok: boolean; reason: string },
): ResourceFinding[] {
  return input.trails.map((t) => {
    const r = check(t)
    return r.ok ? pass(t.arn, r.reason) : fail(t.arn, r.reason)
  })
}

/** One finding per distinct trail bucket; UNKNOWN when its settings could not be read. */
function perBucket(
  input: PostureInput,
  check: (b: PostureBucket) => { ok: boolean; reason: string },
): ResourceFinding[] {
  const names = [...new Set(input.trails.map((t) => t.s3BucketName))].sort()
  return names.map((name) => {
    const b = input.buckets[name]
    const users = input.trails.filter((t) => t.s3BucketName === name).map((t) => t.name)
    const of = `bucket ${name} (trail ${users.join(', ')})`
    if (!b || b.error) {
      return {
        resource: bucketArn(name),
        status: 'UNKNOWN',
        reason: `The settings of ${of} could not be read: ${b?.error ?? 'not looked up'}.`,
      }
    }
    try {
      const r = check(b)
      return r.ok ? pass(bucketArn(name), r.reason) : fail(bucketArn(name), r.reason)
    } catch (err) {
      return {
        resource: bucketArn(name),
        status: 'UNKNOWN',
        reason: `${of}: ${(err as Error).message}`,
      }
    }
  })
}

function failedTrails(failed: ResourceFinding[], input: PostureInput): PostureTrail[] {
  return failed.map((f) => trailOf(input, f.resource)).filter((t): t is PostureTrail => !!t)
}

const failedBuckets = (failed: ResourceFinding[]) =>
  failed.map((f) => f.resource.slice('arn:aws:s3:::'.length))

function whyNotCloudTrail1(t: PostureTrail): string[] {
  const why: string[] = []
  if (!t.isMultiRegionTrail) why.push('is not multi-Region')
  if (!t.isLogging) why.push('is not logging')
  const c = managementCoverage(t)
  if (!c.read && !c.write) why.push('logs no management events')
  else if (!c.read) why.push('logs only write management events')
  else if (!c.write) why.push('logs only read management events')
  return why
}

const cloudTrail1: Control = {
  id: 'CloudTrail.1',
  title:
    'CloudTrail should be enabled and configured with at least one multi-Region trail that ' +
    'includes read and write management events',
  severity: 'HIGH',
  cis: ['CIS 1.2.0 2.1', 'CIS 1.4.0 3.1', 'CIS 3.0.0 3.1', 'CIS 5.0.0 3.1'],
  evaluate(input) {
    if (input.trails.length === 0) return [fail('account', 'There are no trails.')]
    const good = input.trails.filter((t) => whyNotCloudTrail1(t).length === 0)
    if (good.length > 0) {
      const excluded = managementCoverage(good[0]!).excludedSources
      return [
        pass(
          'account',
          `Trail ${good.map((t) => t.name).join(', ')} is multi-Region, logging, and logs read ` +
            `and write management events` +
            (excluded.length ? ` (except from ${excluded.join(', ')})` : '') +
            '.',
        ),
      ]
    }
    const why = input.trails.map((t) => `${t.name} ${whyNotCloudTrail1(t).join(' and ')}`)
    return [fail('account', `No trail qualifies: ${why.join('; ')}.`)]
  },
  remediate(_failed, input, o) {
    const t = input.trails.find((x) => x.isMultiRegionTrail) ?? input.trails[0]
    if (!t) {
      return [
        'Create a bucket and a multi-Region trail, then start it:',
        aws('s3api', o, 'create-bucket --bucket my-cloudtrail-logs'),
        aws(
          'cloudtrail',
          o,
          'create-trail --name management-events --s3-bucket-name my-cloudtrail-logs --is-multi-region-trail',
        ),
        aws('cloudtrail', o, 'start-logging --name management-events'),
      ]
    }
    return [
      `Make trail ${t.name} multi-Region, log read and write management events, and start it:`,
      aws('cloudtrail', o, `update-trail --name ${t.name} --is-multi-region-trail`),
      aws(
        'cloudtrail',
        o,
        `put-event-selectors --trail-name ${t.name} --event-selectors ` +
          `'[{"ReadWriteType":"All","IncludeManagementEvents":true}]'`,
      ),
      aws('cloudtrail', o, `start-logging --name ${t.name}`),
    ]
  },
}

const cloudTrail2: Control = {
  id: 'CloudTrail.2',
  title: 'CloudTrail should have encryption at-rest enabled',
  severity: 'MEDIUM',
  cis: ['CIS 1.2.0 2.7', 'CIS 1.4.0 3.7', 'CIS 3.0.0 3.5'],
  evaluate: (input) =>
    perTrail(input, (t) =>
      t.kmsKeyId
        ? { ok: true, reason: `Log files are encrypted with SSE-KMS key ${t.kmsKeyId}.` }
        : {
            ok: false,
            reason: `Trail ${t.name} has no KmsKeyId: log files are not SSE-KMS encrypted.`,
          },
    ),
  remediate: (failed, input, o) => [
    'Encrypt log files with a KMS key (customer managed; the key policy must allow CloudTrail to use it):',
    ...failedTrails(failed, input).map((t) =>
      aws('cloudtrail', o, `update-trail --name ${t.name} --kms-key-id alias/cloudtrail-logs`),
    ),
  ],
}

const cloudTrail3: Control = {
  id: 'CloudTrail.3',
  title: 'At least one CloudTrail trail should be enabled',
  severity: 'HIGH',
  cis: [],
  evaluate(input) {
    const logging = input.trails.filter((t) => t.isLogging)
    if (logging.length > 0)
      return [pass('account', `Trail ${logging.map((t) => t.name).join(', ')} is logging.`)]
    return [
      fail(
        'account',
        input.trails.length === 0
          ? 'There are no trails.'
          : `No trail is logging (${input.trails.map((t) => t.name).join(', ')} stopped).`,
      ),
    ]
  },
  remediate(_failed, input, o) {
    const t = input.trails[0]
    if (!t) return ['Create a trail and start it (see CloudTrail.1).']
    return ['Start logging on a trail:', aws('cloudtrail', o, `start-logging --name ${t.name}`)]
  },
}

const cloudTrail4: Control = {
  id: 'CloudTrail.4',
  title: 'CloudTrail log file validation should be enabled',
  severity: 'LOW',
  cis: ['CIS 1.2.0 2.2', 'CIS 1.4.0 3.2', 'CIS 3.0.0 3.2'],
  evaluate: (input) =>
    perTrail(input, (t) =>
      t.logFileValidationEnabled
        ? { ok: true, reason: 'Log file validation is enabled (signed digest files).' }
        : { ok: false, reason: `Trail ${t.name} does not write signed digest files.` },
    ),
  remediate: (failed, input, o) => [
    'Enable log file validation (then check the chain with `opentrail validate-logs`):',
    ...failedTrails(failed, input).map((t) =>
      aws('cloudtrail', o, `update-trail --name ${t.name} --enable-log-file-validation`),
    ),
  ],
}

const cloudTrail5: Control = {
  id: 'CloudTrail.5',
  title: 'CloudTrail trails should be integrated with Amazon CloudWatch Logs',
  severity: 'LOW',
  cis: ['CIS 1.2.0 2.4', 'CIS 1.4.0 3.4'],
  evaluate: (input) =>
    perTrail(input, (t) =>
      t.cloudWatchLogsLogGroupArn
        ? { ok: true, reason: `Events are sent to log group ${t.cloudWatchLogsLogGroupArn}.` }
        : { ok: false, reason: `Trail ${t.name} has no CloudWatchLogsLogGroupArn.` },
    ),
  remediate: (failed, input, o) => [
    'Send the trail to a CloudWatch Logs log group:',
    ...failedTrails(failed, input).map((t) => {
      const acct = accountOf(t.arn)
      return aws(
        'cloudtrail',
        o,
        `update-trail --name ${t.name} --cloud-watch-logs-log-group-arn ` +
          `arn:aws:logs:${t.homeRegion}:${acct}:log-group:CloudTrail/${t.name}:* ` +
          `--cloud-watch-logs-role-arn arn:aws:iam::${acct}:role/CloudTrail_CloudWatchLogs_Role`,
      )
    }),
  ],
}

const cloudTrail6: Control = {
  id: 'CloudTrail.6',
  title: 'Ensure the S3 bucket used to store CloudTrail logs is not publicly accessible',
  severity: 'CRITICAL',
  cis: ['CIS 1.2.0 2.3', 'CIS 1.4.0 3.3'],
  evaluate: (input) =>
    perBucket(input, (b) => {
      const reasons = publicReasons(b)
      if (reasons.length > 0)
        return { ok: false, reason: `Bucket ${b.name} is public: ${reasons.join('; ')}.` }
      const pab = b.publicAccessBlock
      const blocked =
        pab && pab.blockPublicAcls && pab.ignorePublicAcls && pab.blockPublicPolicy
          ? pab.restrictPublicBuckets
          : false
      return {
        ok: true,
        reason: blocked
          ? `Bucket ${b.name} blocks all public access.`
          : `Bucket ${b.name} has no public policy statement or ACL grant.`,
      }
    }),
  remediate: (failed, _input, o) =>
    failedBuckets(failed).flatMap((b) => [
      `Block public access to ${b} (and remove public statements from its policy and public ACL grants):`,
      aws(
        's3api',
        o,
        `put-public-access-block --bucket ${b} --public-access-block-configuration ` +
          'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
      ),
      aws('s3api', o, `get-bucket-policy --bucket ${b}`) +
        '   # then put-bucket-policy without the Principal "*" statements',
    ]),
}

const cloudTrail7: Control = {
  id: 'CloudTrail.7',
  title: 'Ensure S3 bucket access logging is enabled on the CloudTrail S3 bucket',
  severity: 'LOW',
  cis: ['CIS 1.2.0 2.6', 'CIS 1.4.0 3.6', 'CIS 3.0.0 3.4'],
  evaluate: (input) =>
    perBucket(input, (b) =>
      b.logging?.targetBucket
        ? {
            ok: true,
            reason: `Bucket ${b.name} logs access to s3://${b.logging.targetBucket}/${b.logging.targetPrefix ?? ''}.`,
          }
        : { ok: false, reason: `Bucket ${b.name} has no server access logging.` },
    ),
  remediate: (failed, _input, o) =>
    failedBuckets(failed).flatMap((b) => [
      `Log access to ${b} into another bucket:`,
      aws('s3api', o, `create-bucket --bucket ${b}-access-logs`),
      aws(
        's3api',
        o,
        `put-bucket-logging --bucket ${b} --bucket-logging-status ` +
          `'{"LoggingEnabled":{"TargetBucket":"${b}-access-logs","TargetPrefix":"${b}/"}}'`,
      ),
    ]),
}

const cloudTrail9: Control = {
  id: 'CloudTrail.9',
  title: 'CloudTrail trails should be tagged',
  severity: 'LOW',
  cis: [],
  evaluate: (input, o) =>
    perTrail(input, (t) => {
      const keys = t.tags.map((x) => x.key).filter((k) => !k.startsWith('aws:'))
      const required = o.requiredTagKeys ?? []
      if (required.length > 0) {
        const missing = required.filter((k) => !keys.includes(k))
        return missing.length === 0
          ? { ok: true, reason: `Trail ${t.name} has the tags ${required.join(', ')}.` }
          : { ok: false, reason: `Trail ${t.name} lacks the tag(s) ${missing.join(', ')}.` }
      }
      return keys.length > 0
        ? { ok: true, reason: `Trail ${t.name} is tagged (${keys.join(', ')}).` }
        : { ok: false, reason: `Trail ${t.name} has no tags (other than aws: system tags).` }
    }),
  remediate: (failed, input, o) => {
    const keys = o.requiredTagKeys?.length ? o.requiredTagKeys : ['owner']
    const list = keys.map((k) => `Key=${k},Value=...`).join(' ')
    return [
      'Tag the trails:',
      ...failedTrails(failed, input).map((t) =>
        aws('cloudtrail', o, `add-tags --resource-id ${t.arn} --tags-list ${list}`),
      ),
    ]
  },
}

/** S3.22 / S3.23 (CIS 3.0 3.8 / 3.9): a multi-Region trail logs every bucket's object writes / reads. */
function s3DataEvents(kind: 'write' | 'read'): Control {
  const write = kind === 'write'
  return {
    id: write ? 'S3.22' : 'S3.23',
    title: `S3 general purpose buckets should log object-level ${kind} events`,
    severity: 'MEDIUM',
    cis: [write ? 'CIS 3.0.0 3.8' : 'CIS 3.0.0 3.9'],
    evaluate(input) {
      const good = input.trails.filter(
        (t) => t.isMultiRegionTrail && t.isLogging && s3DataCoverage(t)[kind],
      )
      if (good.length > 0) {
        return [
          pass(
            'account',
            `Trail ${good.map((t) => t.name).join(', ')} logs object-level ${kind} events of all S3 buckets.`,
          ),
        ]
      }
      return [
        fail(
          'account',
          input.trails.length === 0
            ? 'There are no trails.'
            : `No logging multi-Region trail logs object-level ${kind} events of all S3 buckets.`,
        ),
      ]
    },
    remediate(_failed, input, o) {
      const t = input.trails.find((x) => x.isMultiRegionTrail) ?? input.trails[0]
      const name = t?.name ?? 'management-events'
      return [
        `Log S3 object-level ${kind} events of all buckets on a multi-Region trail (this replaces its ` +
          'basic selectors; keep management events in the list):',
        aws(
          'cloudtrail',
          o,
          `put-event-selectors --trail-name ${name} --event-selectors '[{"ReadWriteType":"All",` +
            `"IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]'`,
        ),
      ]
    },
  }
}

/** In Security Hub's order, then the CIS-only S3 data event checks. */
export const CONTROLS: readonly Control[] = [
  cloudTrail1,
  cloudTrail2,
  cloudTrail3,
  cloudTrail4,
  cloudTrail5,
  cloudTrail6,
  cloudTrail7,
  cloudTrail9,
  s3DataEvents('write'),
  s3DataEvents('read'),
]
