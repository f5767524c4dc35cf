/**
 * @module domains/posture/coverage
 * What a trail's event selectors make it log, as far as the posture controls ask: read and write
 * management events (CloudTrail.1, CIS 3.1). Basic selectors: IncludeManagementEvents (default
 * true) with ReadWriteType (default All); no selectors configured at all is CloudTrail's default,
 * all management events; an empty list logs none. Advanced selectors: a selector whose
 * `eventCategory` equals `Management` logs reads and writes unless its `readOnly` field narrows it.
 */
import type { PostureAdvancedSelector, PostureTrail } from './model.js'

export interface ManagementCoverage {
  read: boolean
  write: boolean
  /** Management event sources left out (ExcludeManagementEventSources, eventSource NotEquals). */
  excludedSources: string[]
}

export function managementCoverage(t: PostureTrail): ManagementCoverage {
  const out: ManagementCoverage = { read: false, write: false, excludedSources: [] }
  if (t.advancedEventSelectors && t.advancedEventSelectors.length > 0) {
    for (const s of t.advancedEventSelectors) addAdvanced(s, out)
    return out
  }
  if (t.eventSelectors === undefined) return { read: true, write: true, excludedSources: [] }
  for (const s of t.eventSelectors) {
    if (s.includeManagementEvents === false) continue
    const rw = s.readWriteType ?? 'All'
    if (rw !== 'WriteOnly') out.read = true
    if (rw !== 'ReadOnly') out.write = true
    out.excludedSources.push(...(s.excludeManagementEventSources ?? []))
  }
  return out
}

function addAdvanced(s: PostureAdvancedSelector, out: ManagementCoverage): void {
  const field = (name: string) => s.fieldSelectors.find((f) => f.field === name)
  const category = field('eventCategory')
  if (!category?.equals?.includes('Management')) return
  const ro = field('readOnly')
  let read = true
  let write = true
  if (ro?.equals?.length === 1) {
    read = ro.equals[0] === 'true'
    write = !read
  } else if (ro?.notEquals?.length === 1) {
    read = ro.notEquals[0] !== 'true'
    write = !read
  }
  out.read ||= read
  out.write ||= write
  out.excludedSources.push(...(field('eventSource')?.notEquals ?? []))
}

/** All S3 buckets' object-level events: basic `arn:aws:s3` (or `arn:aws:s3:::`) values. */
const ALL_S3 = new Set(['arn:aws:s3', 'arn:aws:s3:::'])

/**
 * Whether the trail logs object-level read and write events of every S3 bucket (CIS 3.8 and 3.9):
 * a basic selector with an `AWS::S3::Object` data resource for all buckets, or an advanced
 * selector for `eventCategory` Data and `resources.type` AWS::S3::Object with no ARN narrowing.
 */
export function s3DataCoverage(t: PostureTrail): { read: boolean; write: boolean } {
  const out = { read: false, write: false }
  if (t.advancedEventSelectors && t.advancedEventSelectors.length > 0) {
    for (const s of t.advancedEventSelectors) {
      const field = (name: string) => s.fieldSelectors.find((f) => f.field === name)
      if (!field('eventCategory')?.equals?.includes('Data')) continue
      if (!field('resources.type')?.equals?.includes('AWS::S3::Object')) continue
      // Any condition on the ARN, event name or source (even an exclusion) narrows the selector.
      if (field('resources.ARN') || field('eventName') || field('eventSource')) continue
      const ro = field('readOnly')
      const only = ro?.equals?.length === 1 ? ro.equals[0] : undefined
      if (only !== 'false') out.read = true
      if (only !== 'true') out.write = true
    }
    return out
  }
  for (const s of t.eventSelectors ?? []) {
    const all = (s.dataResources ?? []).some(
      (d) => d.type === 'AWS::S3::Object' && d.values.some((v) => ALL_S3.has(v)),
    )
    if (!all) continue
    const rw = s.readWriteType ?? 'All'
    if (rw !== 'WriteOnly') out.read = true
    if (rw !== 'ReadOnly') out.write = true
  }
  return out
}
