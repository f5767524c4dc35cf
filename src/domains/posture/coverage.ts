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
