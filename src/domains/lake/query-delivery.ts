/**
 * @module domains/lake/query-delivery
 * StartQuery's DeliveryS3Uri: a finished query's rows written to S3 in AWS's layout,
 * `<prefix>/AWSLogs/<account>/CloudTrail-Lake/Query/<yyyy>/<mm>/<dd>/<query-id>/` (the UTC day the
 * query completed) holding `result_1.csv.gz`, `result_2.csv.gz`, ... (gzipped CSV, a header line
 * in each file, a new file every `maxFileBytes` of CSV) and `result_sign.json`, the sign file:
 * `{version, region, files: [{fileHashValue, fileName}], hashAlgorithm, signatureAlgorithm,
 * queryCompleteTime, hashSignature, publicKeyFingerprint}`. `fileHashValue` is the SHA-256 of each
 * stored (gzipped) object; `hashSignature` is SHA256withRSA over the hashes joined by spaces,
 * signed with the region's digest signing key (digest/keystore), so ListPublicKeys returns the key
 * that `aws cloudtrail verify-query-results` (AWS CLI v2) checks it with.
 *
 * Bucket policies: for a bucket of the query's own account OpenTrail does not require the Allow
 * statements AWS documents for the CloudTrail service principal (trail delivery does not either);
 * a bucket that the store records as another account's needs one (`policyAllowsCloudTrail`). An
 * unconditional Deny of s3:PutObject to `cloudtrail.amazonaws.com` or `*` always stops delivery.
 * Refusals are InsufficientS3BucketPolicyException at StartQuery, DeliveryStatus ACCESS_DENIED (or
 * ACCESS_DENIED_SIGNING_FILE) when the policy changes later.
 */
import { promisify } from 'node:util'
import { gzip as gzipCb } from 'node:zlib'
import {
  HASH_ALGORITHM,
  SIGNATURE_ALGORITHM,
  sha256Hex,
  signHex,
} from '../../digest/digest-file.js'
import type { SigningKeyStore } from '../../digest/keystore.js'
import { dayFolder, isoSeconds } from '../../delivery/keys.js'
import { errorCode } from '../../delivery/trail-delivery.js'
import { evaluate, wildcard } from '../../iam/policy.js'
import { hasBucketAdmin, hasBucketSettings, type ObjectStore } from '../../objectstore/port.js'
import { parseBucketPolicy } from '../../s3api/bucket-policy.js'
import { ValidationException, awsError } from '../../shared/errors.js'
import { validateBucketName, validateS3Prefix } from '../trails/validation.js'

const gzip = promisify(gzipCb)

export const S3BucketDoesNotExistException = awsError('S3BucketDoesNotExistException')
export const InsufficientS3BucketPolicyException = awsError('InsufficientS3BucketPolicyException')

export type DeliveryStatus =
  | 'SUCCESS'
  | 'FAILED'
  | 'FAILED_SIGNING_FILE'
  | 'PENDING'
  | 'RESOURCE_NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'ACCESS_DENIED_SIGNING_FILE'
  | 'CANCELLED'
  | 'UNKNOWN'

export const SIGN_FILE_NAME = 'result_sign.json'
/** CSV bytes (uncompressed) per result file before the next one starts. */
export const DEFAULT_MAX_FILE_BYTES = 100_000_000

export interface DeliveryTarget {
  bucket: string
  /** The key prefix without leading or trailing slashes ('' for the bucket's root). */
  prefix: string
}

export interface SignFile {
  version: '1.0'
  region: string
  files: { fileHashValue: string; fileName: string }[]
  hashAlgorithm: typeof HASH_ALGORITHM
  signatureAlgorithm: typeof SIGNATURE_ALGORITHM
  queryCompleteTime: string
  hashSignature: string
  publicKeyFingerprint: string
}

/** What a delivery writes: the query and its result. */
export interface DeliveryRequest {
  target: DeliveryTarget
  accountId: string
  region: string
  queryId: string
  completedAt: Date
  columns: string[]
  rows: (string | null)[][]
}

/** The model's pattern of DeliveryS3Uri (the protocol layer checks lengths, not patterns). */
const URI_PATTERN = 's3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?'

/**
 * `s3://bucket[/prefix]` → bucket and prefix: ValidationException when the URI does not match
 * the model's pattern, then S3's bucket naming rules (InvalidS3BucketNameException) and the
 * prefix length (InvalidS3PrefixException).
 */
export function parseDeliveryUri(uri: string): DeliveryTarget {
  if (!new RegExp(`^(?:${URI_PATTERN})$`).test(uri)) {
    throw ValidationException(
      `1 validation error detected: Value '${uri}' at 'deliveryS3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: ${URI_PATTERN}`,
    )
  }
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(uri)!
  validateBucketName(m[1]!)
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
  validateS3Prefix(prefix)
  return { bucket: m[1]!, prefix }
}

/** The folder (ending in `/`) a query's result files go to. */
export function resultFolder(
  t: DeliveryTarget,
  accountId: string,
  queryId: string,
  completedAt: Date,
): string {
  const base = `AWSLogs/${accountId}/CloudTrail-Lake/Query/${dayFolder(completedAt)}/${queryId}/`
  return t.prefix ? `${t.prefix}/${base}` : base
}

/** One CSV field: quoted when it holds a comma, a quote or a line break; null is empty. */
export function csvField(v: string | null): string {
  if (v === null) return ''
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

export const csvLine = (cells: (string | null)[]): string => cells.map(csvField).join(',') + '\n'

/** The CSV texts of a result: a header line then rows, split every `maxBytes` (at least one row). */
export function csvFiles(
  columns: string[],
  rows: (string | null)[][],
  maxBytes = DEFAULT_MAX_FILE_BYTES,
): string[] {
  const header = csvLine(columns)
  const headerBytes = Buffer.byteLength(header)
  const files: string[] = []
  let parts = [header]
  let size = headerBytes
  for (const row of rows) {
    const line = csvLine(row)
    const bytes = Buffer.byteLength(line)
    if (parts.length > 1 && size + bytes > maxBytes) {
      files.push(parts.join(''))
      parts = [header]
      size = headerBytes
    }
    parts.push(line)
    size += bytes
  }
  files.push(parts.join(''))
  return files
}

/** The data a sign file's signature covers: the files' hashes joined by single spaces. */
export const signedString = (files: SignFile['files']): string =>
  files.map((f) => f.fileHashValue).join(' ')

/** Writes query results to S3 with their sign file. */
export class QueryResultDelivery {
  constructor(
    private readonly store: ObjectStore,
    private readonly keys: SigningKeyStore,
    private readonly maxFileBytes = DEFAULT_MAX_FILE_BYTES,
  ) {}

  /**
   * StartQuery's checks: the bucket exists, and CloudTrail may write to it for `accountId` (its
   * policy does not deny it; another account's bucket must allow it).
   */
  async check(t: DeliveryTarget, probeKey: string, accountId: string): Promise<void> {
    if (!(await this.store.bucketExists(t.bucket))) {
      throw S3BucketDoesNotExistException(`S3 bucket ${t.bucket} does not exist.`)
    }
    if (await this.denied(t.bucket, probeKey, accountId)) {
      throw InsufficientS3BucketPolicyException(
        `The bucket policy of ${t.bucket} does not allow CloudTrail to write query results.`,
      )
    }
  }

  /** Writes the result files, then the sign file; returns the delivery status. */
  async deliver(r: DeliveryRequest): Promise<DeliveryStatus> {
    const folder = resultFolder(r.target, r.accountId, r.queryId, r.completedAt)
    const { bucket } = r.target
    if (!(await this.store.bucketExists(bucket))) return 'RESOURCE_NOT_FOUND'
    const files: SignFile['files'] = []
    const texts = csvFiles(r.columns, r.rows, this.maxFileBytes)
    for (const [i, text] of texts.entries()) {
      const fileName = `result_${i + 1}.csv.gz`
      if (await this.denied(bucket, folder + fileName, r.accountId)) return 'ACCESS_DENIED'
      const body = await gzip(Buffer.from(text, 'utf8'))
      try {
        await this.store.putObject(bucket, folder + fileName, body, {
          contentType: 'application/x-gzip',
        })
      } catch (err) {
        return statusOf(errorCode(err), 'RESOURCE_NOT_FOUND', 'ACCESS_DENIED', 'FAILED')
      }
      files.push({ fileHashValue: sha256Hex(body), fileName })
    }
    let sign: SignFile
    try {
      const key = await this.keys.current(r.region)
      sign = {
        version: '1.0',
        region: r.region,
        files,
        hashAlgorithm: HASH_ALGORITHM,
        signatureAlgorithm: SIGNATURE_ALGORITHM,
        queryCompleteTime: isoSeconds(r.completedAt),
        hashSignature: signHex(key.privateKey, Buffer.from(signedString(files), 'utf8')),
        publicKeyFingerprint: key.info.fingerprint,
      }
    } catch {
      return 'FAILED_SIGNING_FILE'
    }
    if (await this.denied(bucket, folder + SIGN_FILE_NAME, r.accountId)) {
      return 'ACCESS_DENIED_SIGNING_FILE'
    }
    try {
      await this.store.putObject(
        bucket,
        folder + SIGN_FILE_NAME,
        Buffer.from(JSON.stringify(sign), 'utf8'),
        { contentType: 'application/json' },
      )
    } catch (err) {
      return statusOf(
        errorCode(err),
        'FAILED_SIGNING_FILE',
        'ACCESS_DENIED_SIGNING_FILE',
        'FAILED_SIGNING_FILE',
      )
    }
    return 'SUCCESS'
  }

  /**
   * Whether CloudTrail may not write `key` for `accountId`: the bucket's policy denies it, or the
   * bucket belongs to another account and its policy does not allow it.
   */
  private async denied(bucket: string, key: string, accountId: string): Promise<boolean> {
    let text: string | undefined
    if (hasBucketSettings(this.store)) {
      try {
        text = (await this.store.getBucketSettings(bucket)).policy
      } catch {
        text = undefined
      }
    }
    const arn = `arn:aws:s3:::${bucket}/${key}`
    if (policyDeniesCloudTrail(text, arn)) return true
    const owner = await this.owner(bucket)
    return (
      owner !== undefined && owner !== accountId && !policyAllowsCloudTrail(text, arn, accountId)
    )
  }

  /** The account that owns a bucket, where the store records one (the embedded store does). */
  private async owner(bucket: string): Promise<string | undefined> {
    if (!hasBucketAdmin(this.store)) return undefined
    try {
      return (await this.store.listBuckets()).find((b) => b.name === bucket)?.ownerAccountId
    } catch {
      return undefined
    }
  }
}

function statusOf(
  code: string,
  missing: DeliveryStatus,
  denied: DeliveryStatus,
  other: DeliveryStatus,
): DeliveryStatus {
  if (code === 'NoSuchBucket') return missing
  if (code === 'AccessDenied' || code === 'AllAccessDisabled') return denied
  return other
}

/**
 * An unconditional Deny statement for s3:PutObject on `objectArn` whose Principal covers the
 * CloudTrail service (`*`, AWS `*`, or Service `cloudtrail.amazonaws.com`).
 */
export function policyDeniesCloudTrail(text: string | undefined, objectArn: string): boolean {
  const statements = statementsOf(text)
  const denies = statements.filter(
    (s) =>
      s.Effect === 'Deny' &&
      s.Condition === undefined &&
      s.NotPrincipal === undefined &&
      coversCloudTrail(s.Principal),
  )
  if (denies.length === 0) return false
  return evaluate([{ Statement: denies }], 's3:PutObject', objectArn) === 'ExplicitDeny'
}

type PolicyStatement = ReturnType<typeof parseBucketPolicy>['Statement'][number]

function statementsOf(text: string | undefined): PolicyStatement[] {
  if (!text) return []
  try {
    return parseBucketPolicy(text).Statement
  } catch {
    return []
  }
}

const listOf = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String)

/** A Principal that covers the CloudTrail service: `*`, AWS `*`, or Service `cloudtrail...`. */
function coversCloudTrail(p: unknown): boolean {
  if (p === '*') return true
  if (!p || typeof p !== 'object') return false
  const o = p as { AWS?: unknown; Service?: unknown }
  return listOf(o.AWS).includes('*') || listOf(o.Service).includes('cloudtrail.amazonaws.com')
}

/**
 * Whether the policy allows CloudTrail's s3:PutObject on `objectArn` for `accountId` (what a
 * bucket of another account needs; AWS's documented statement). Conditions are read for
 * `aws:SourceAccount` (must match the account) and `aws:SourceArn` (must name the account); a
 * statement with any other condition key does not count.
 */
export function policyAllowsCloudTrail(
  text: string | undefined,
  objectArn: string,
  accountId: string,
): boolean {
  const fits = (s: PolicyStatement): boolean => {
    if (s.Condition === undefined) return true
    if (!s.Condition || typeof s.Condition !== 'object') return false
    for (const [op, block] of Object.entries(s.Condition as Record<string, unknown>)) {
      // Positive string and ARN matches only (StringEquals, StringLike, ArnLike, ...).
      if (!/^(String|Arn)/.test(op) || /Not/.test(op)) return false
      if (!block || typeof block !== 'object') return false
      for (const [k, v] of Object.entries(block as Record<string, unknown>)) {
        const key = k.toLowerCase()
        const values = listOf(v)
        if (key === 'aws:sourceaccount') {
          if (!values.some((x) => wildcard(x, false).test(accountId))) return false
        } else if (key === 'aws:sourcearn') {
          const arn = `arn:aws:cloudtrail:region:${accountId}:eventdatastore/id`
          if (!values.some((x) => x.split(':')[4] === accountId || wildcard(x, false).test(arn))) {
            return false
          }
        } else return false
      }
    }
    return true
  }
  const allows = statementsOf(text).filter(
    (s) =>
      s.Effect === 'Allow' &&
      s.NotPrincipal === undefined &&
      coversCloudTrail(s.Principal) &&
      fits(s),
  )
  if (allows.length === 0) return false
  return evaluate([{ Statement: allows }], 's3:PutObject', objectArn) === 'Allow'
}
