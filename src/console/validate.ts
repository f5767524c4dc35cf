/**
 * @module console/validate
 * "Validate log files" on a trail's page: the digest walker of `digest/validate.ts` run for a
 * time range with the console session's credentials, through OpenTrail's public APIs
 * (DescribeTrails, GetTrailStatus, ListPublicKeys, and S3 ListObjectsV2/GetObject), so each read
 * is authorized and recorded as the signed-in user. Returns counts and the walker's findings.
 */
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { DigestTraverser } from '../digest/validate.js'
import type { LogResult, ValidationSource } from '../digest/validation-events.js'
import { listPublicKeys } from '../shared/public-keys.js'

export interface ValidateContext {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

export interface ValidateFinding {
  level: 'valid' | 'invalid' | 'info'
  text: string
}

export interface ValidateResult {
  trailArn: string
  start: string
  end: string
  digests: { valid: number; invalid: number }
  logs: { valid: number; invalid: number }
  /** Up to 1,000 findings, in the AWS CLI's order; invalid ones first when cut. */
  findings: ValidateFinding[]
  truncated: boolean
}

const MAX_FINDINGS = 1000
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

function parseTime(v: unknown, name: string): Date {
  const d = typeof v === 'string' || typeof v === 'number' ? new Date(v) : undefined
  if (!d || Number.isNaN(d.getTime())) throw new Error(`${name} is not a valid time.`)
  return d
}

export async function validateTrail(
  input: Record<string, unknown>,
  ctx: ValidateContext,
): Promise<ValidateResult> {
  const arn = typeof input['trailArn'] === 'string' ? input['trailArn'] : ''
  if (!/^arn:[^:]+:cloudtrail:[^:]+:\d{12}:trail\/.+/.test(arn))
    throw new Error(`Invalid trail ARN provided: ${arn}`)
  const start = parseTime(input['startTime'], 'startTime')
  const end = input['endTime'] === undefined ? new Date() : parseTime(input['endTime'], 'endTime')
  if (start > end) throw new Error('Invalid time range: the start must be before the end.')
  const homeRegion = arn.split(':')[3]!
  const common = {
    endpoint: ctx.endpoint,
    region: homeRegion,
    credentials: ctx.credentials,
    maxAttempts: 2,
  }
  const cloudtrail = new CloudTrailClient(common)
  const s3 = new S3Client({ ...common, forcePathStyle: true })
  try {
    const trails = await cloudtrail.send(new DescribeTrailsCommand({ trailNameList: [arn] }))
    const trail = trails.trailList?.find((t) => t.TrailARN === arn)
    if (!trail?.S3BucketName) throw new Error(`A trail could not be found for ${arn}`)
    const latest = await cloudtrail
      .send(new GetTrailStatusCommand({ Name: arn }))
      .then((s) => s.LatestDigestDeliveryTime)
      .catch(() => undefined)
    const source: ValidationSource = {
      async *listKeys(bucket, prefix, startAfter) {
        let token: string | undefined
        do {
          const r = await s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ...(token ? { ContinuationToken: token } : { StartAfter: startAfter }),
            }),
          )
          for (const o of r.Contents ?? []) if (o.Key) yield o.Key
          token = r.IsTruncated ? r.NextContinuationToken : undefined
        } while (token)
      },
      async getObject(bucket, key) {
        const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        return {
          body: Buffer.from((await r.Body?.transformToByteArray()) ?? []),
          metadata: r.Metadata ?? {},
        }
      },
      publicKeys: (from, to) => listPublicKeys(cloudtrail, from, to),
    }
    const traverser = new DigestTraverser(
      source,
      {
        accountId: arn.split(':')[4]!,
        trailName: arn.split('/').slice(1).join('/'),
        homeRegion,
        sourceRegion: homeRegion,
        bucket: trail.S3BucketName,
        ...(trail.S3KeyPrefix ? { prefix: trail.S3KeyPrefix } : {}),
        start,
        end,
        ...(latest ? { latestDigestDelivery: latest } : {}),
      },
      { concurrency: 8 },
    )
    const result: ValidateResult = {
      trailArn: arn,
      start: iso(start),
      end: iso(end),
      digests: { valid: 0, invalid: 0 },
      logs: { valid: 0, invalid: 0 },
      findings: [],
      truncated: false,
    }
    const add = (level: ValidateFinding['level'], text: string) => {
      if (result.findings.length < MAX_FINDINGS) result.findings.push({ level, text })
      else result.truncated = true
    }
    for await (const e of traverser.validate()) {
      const bf = 'backfill' in e && e.backfill ? '(backfill) ' : ''
      switch (e.type) {
        case 'listed':
          break
        case 'digest-valid':
          result.digests.valid++
          add('valid', `${bf}Digest file s3://${e.bucket}/${e.key} valid`)
          break
        case 'digest-invalid':
          result.digests.invalid++
          add('invalid', `${bf}${e.message}`)
          break
        case 'digest-missing':
          result.digests.invalid++
          add('invalid', `${bf}Digest file s3://${e.bucket}/${e.key} INVALID: not found`)
          break
        case 'digests-missing-inferred':
          result.digests.invalid += e.count
          add(
            'invalid',
            `${e.count} more digest file(s) between ${iso(e.from)} and ${iso(e.to)} were deleted`,
          )
          break
        case 'newest-missing':
          result.digests.invalid += e.count
          add('invalid', `${e.count} newest digest file(s) after ${iso(e.newestEnd)} were deleted`)
          break
        case 'gap':
          add(
            'info',
            `${bf}No log files were delivered between ${iso(e.nextEnd)} and ${iso(e.lastStart)}`,
          )
          break
        case 'key-change':
          add('info', `Public key changed: ${e.olderFingerprint} -> ${e.newerFingerprint}`)
          break
        case 'log': {
          const r: LogResult = await e.result
          const name = `Log file s3://${e.bucket}/${e.key}`
          if (r.status === 'valid') {
            result.logs.valid++
            add('valid', `${name} valid`)
          } else {
            result.logs.invalid++
            const why =
              r.status === 'hash-mismatch'
                ? "hash value doesn't match"
                : r.status === 'not-found'
                  ? 'not found'
                  : r.status === 'invalid-format'
                    ? 'invalid format'
                    : r.message
            add('invalid', `${name} INVALID: ${why}`)
          }
          break
        }
      }
    }
    return result
  } finally {
    cloudtrail.destroy()
    s3.destroy()
  }
}
