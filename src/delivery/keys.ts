/**
 * @module delivery/keys
 * Object keys in AWS CloudTrail's S3 layout, for log files and digest files. Pure functions of
 * their inputs, so a retried delivery writes the same key and overwrites rather than duplicates.
 */
import { createHash } from 'node:crypto'

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** `YYYY/MM/DD` of a UTC date. */
export function dayFolder(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`
}

/** `YYYYMMDDTHHmmZ`: the timestamp in a log file name. */
export function logFileStamp(d: Date): string {
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`
  )
}

/** `YYYYMMDDTHHmmssZ`: the timestamp in a digest file name (the digest's end time). */
export function digestFileStamp(d: Date): string {
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`
  )
}

/** CloudTrail's ISO-8601 form to the second: `2024-01-02T03:04:05Z`. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/**
 * The 16-character unique part of a log file name, derived from `seed` (the trail, region and batch
 * identity) so that the same batch always gets the same name.
 */
export function uniquePart(seed: string): string {
  const h = createHash('sha256').update(seed).digest()
  let out = ''
  for (let i = 0; i < 16; i++) out += ALNUM[h[i]! % ALNUM.length]
  return out
}

export interface KeyScope {
  /** The trail's S3 key prefix, without leading or trailing slash handling by the caller. */
  prefix?: string
  accountId: string
  /** Organization trails: `AWSLogs/<org-id>/<account>/...`. */
  organizationId?: string
  region: string
}

function base(scope: KeyScope): string {
  const p = scope.prefix ? `${scope.prefix.replace(/\/+$/, '')}/` : ''
  const org = scope.organizationId ? `${scope.organizationId}/` : ''
  return `${p}AWSLogs/${org}${scope.accountId}`
}

/**
 * `[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
 */
export function logFileKey(scope: KeyScope, deliveredAt: Date, unique: string): string {
  const a = scope.accountId
  return (
    `${base(scope)}/CloudTrail/${scope.region}/${dayFolder(deliveredAt)}/` +
    `${a}_CloudTrail_${scope.region}_${logFileStamp(deliveredAt)}_${unique}.json.gz`
  )
}

/**
 * `[prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHmmssZ>.json.gz`
 */
export function digestFileKey(
  scope: KeyScope,
  trailName: string,
  homeRegion: string,
  endTime: Date,
): string {
  const a = scope.accountId
  return (
    `${base(scope)}/CloudTrail-Digest/${scope.region}/${dayFolder(endTime)}/` +
    `${a}_CloudTrail-Digest_${scope.region}_${trailName}_${homeRegion}_${digestFileStamp(endTime)}.json.gz`
  )
}

/**
 * `[prefix/]AWSLogs/<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/<account>_CloudTrail-Insight_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
 */
export function insightFileKey(scope: KeyScope, deliveredAt: Date, unique: string): string {
  const a = scope.accountId
  return (
    `${base(scope)}/CloudTrail-Insight/${scope.region}/${dayFolder(deliveredAt)}/` +
    `${a}_CloudTrail-Insight_${scope.region}_${logFileStamp(deliveredAt)}_${unique}.json.gz`
  )
}

/** The folder (key prefix) holding a trail's digest files for one region. */
export function digestFolder(scope: KeyScope): string {
  return `${base(scope)}/CloudTrail-Digest/${scope.region}`
}

/** The folder (key prefix) holding a trail's log files for one region. */
export function logFolder(scope: KeyScope): string {
  return `${base(scope)}/CloudTrail/${scope.region}`
}
