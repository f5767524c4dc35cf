/**
 * @module digest/digest-listing
 * Finding what validation checks: the trail's digest files in the time range (standard or
 * backfill, by the end time in their names, and other trails' digests in the same folder), the
 * trail's log files per day folder, and the timestamps embedded in CloudTrail key names.
 */
import {
  dayFolder,
  digestFileKey,
  digestFileStamp,
  digestFolder,
  logFolder,
  type KeyScope,
} from '../delivery/keys.js'
import type { ValidationSource, ValidationTarget } from './validation-events.js'

export const HOUR = 3_600_000

/** Any trail's digest file name (`…_CloudTrail-Digest_<region>_<trail>_<home>_<stamp>.json.gz`). */
const OTHER_DIGEST = /_CloudTrail-Digest_[^/]+_\d{8}T\d{6}Z\.json\.gz$/

export const isBackfillKey = (key: string) => key.endsWith('_backfill.json.gz')

/** The `YYYYMMDDTHHmmssZ` end time embedded in a digest key. */
export const digestKeyStamp = (key: string) =>
  isBackfillKey(key) ? key.slice(-33, -17) : key.slice(-24, -8)

export function parseStamp(stamp: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)
  if (!m) return undefined
  const n = (i: number) => Number(m[i])
  return new Date(Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)))
}

export const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** Log files (with LastModified) in the trail's log folder for the days of the range. */
export async function listLogFiles(
  source: ValidationSource,
  t: ValidationTarget,
  scope: KeyScope,
  run: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<{ key: string; lastModified: Date }[]> {
  const list = source.listObjects?.bind(source)
  if (!list) return []
  const { start, end } = t
  const folder = logFolder(scope)
  const days: string[] = []
  const first = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate())
  for (let day = first; day <= end.getTime(); day += 24 * HOUR)
    days.push(`${folder}/${dayFolder(new Date(day))}/`)
  const out: { key: string; lastModified: Date }[][] = await Promise.all(
    days.map((prefix) =>
      run(async () => {
        const got: { key: string; lastModified: Date }[] = []
        for await (const o of list(t.bucket, prefix)) got.push(o)
        return got
      }),
    ),
  )
  return out.flat()
}

/**
 * The trail's digest keys (standard or backfill) in `bucket` for the time range, oldest first. In
 * the trail's own bucket, while `otherDigests` is empty, other trails' digests in the same folder
 * and range are collected into it (they account for their own log files).
 */
export async function listDigests(
  source: ValidationSource,
  t: ValidationTarget,
  scope: KeyScope,
  bucket: string,
  backfill: boolean,
  otherDigests: string[],
): Promise<string[]> {
  const { start, end } = t
  const marker = digestFileKey(scope, t.trailName, t.homeRegion, new Date(start.getTime() - 60_000))
  const re = new RegExp(
    '^' +
      (t.prefix ? escapeRe(t.prefix) + '/' : '') +
      `AWSLogs/${t.organizationId ? escapeRe(t.organizationId) + '/' : ''}` +
      `${escapeRe(t.accountId)}/CloudTrail-Digest/${escapeRe(t.sourceRegion)}/` +
      `\\d+/\\d+/\\d+/${escapeRe(t.accountId)}_CloudTrail-Digest_` +
      `${escapeRe(t.sourceRegion)}_${escapeRe(t.trailName)}_` +
      `${escapeRe(t.homeRegion)}_.+(?:_backfill)?\\.json\\.gz$`,
  )
  const from = digestFileStamp(start)
  const to = digestFileStamp(new Date(end.getTime() + HOUR))
  const out: string[] = []
  const others = !backfill && bucket === t.bucket && otherDigests.length === 0
  const folder = digestFolder(scope)
  const lastDay = dayFolder(new Date(end.getTime() + HOUR))
  let past = false
  for await (const key of source.listKeys(bucket, folder, marker)) {
    // Past the range: only other trails' digests of the last day folder are still wanted.
    if (past && key.slice(folder.length + 1, folder.length + 11) > lastDay) break
    if (!re.test(key)) {
      // Other trails' digests in the same folder account for their own log files.
      if (others && OTHER_DIGEST.test(key)) {
        const stamp = digestKeyStamp(key)
        if (stamp >= from && stamp <= to) otherDigests.push(key)
      }
      continue
    }
    const stamp = digestKeyStamp(key)
    if (!parseStamp(stamp)) continue
    if (stamp > to) {
      if (!others) break
      past = true
      continue
    }
    if (stamp < from) continue
    if (isBackfillKey(key) === backfill) out.push(key)
  }
  return out
}
