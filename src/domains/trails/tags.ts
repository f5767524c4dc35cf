/**
 * @module domains/trails/tags
 * Tag rules for trails: at most 50 tags per resource, keys of 1–128 and values of 0–256 Unicode
 * characters drawn from AWS's tag character set, no `aws:` keys, no duplicate keys in one request.
 */
import * as E from './errors.js'
import type { Tag } from './model.js'

export const MAX_TAGS_PER_RESOURCE = 50
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

/** Checks the tags of one request (CreateTrail's TagsList, AddTags, RemoveTags). */
export function validateTags(tags: Tag[], opts: { checkValues: boolean }): void {
  const seen = new Set<string>()
  for (const t of tags) {
    const keyLength = [...t.key].length
    if (keyLength < 1 || keyLength > 128) {
      throw E.InvalidTagParameterException(
        `Tag key must be between 1 and 128 characters long: ${JSON.stringify(t.key)}.`,
      )
    }
    if (!TAG_CHARS.test(t.key)) {
      throw E.InvalidTagParameterException(
        `Tag key ${JSON.stringify(t.key)} contains characters that are not allowed. Use letters, numbers, spaces and _ . : / = + - @.`,
      )
    }
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw E.InvalidTagParameterException(
        `Tag key ${JSON.stringify(t.key)} uses the reserved prefix "aws:".`,
      )
    }
    if (seen.has(t.key)) {
      throw E.InvalidTagParameterException(
        `Duplicate tag key in the request: ${JSON.stringify(t.key)}.`,
      )
    }
    seen.add(t.key)
    if (opts.checkValues && t.value !== undefined) {
      if ([...t.value].length > 256) {
        throw E.InvalidTagParameterException(
          `Tag value for key ${JSON.stringify(t.key)} must be at most 256 characters long.`,
        )
      }
      if (!TAG_CHARS.test(t.value)) {
        throw E.InvalidTagParameterException(
          `Tag value for key ${JSON.stringify(t.key)} contains characters that are not allowed. Use letters, numbers, spaces and _ . : / = + - @.`,
        )
      }
    }
  }
}

function checkLimit(count: number, resourceId: string): void {
  if (count > MAX_TAGS_PER_RESOURCE) {
    throw E.TagsLimitExceededException(
      `The number of tags on resource ${resourceId} would be ${count}, which exceeds the limit of ${MAX_TAGS_PER_RESOURCE} tags per resource.`,
    )
  }
}

/** Tags of a new trail. */
export function initialTags(tags: Tag[], resourceId: string): Tag[] {
  validateTags(tags, { checkValues: true })
  checkLimit(tags.length, resourceId)
  return tags.map(copyTag)
}

/** AddTags: new keys are appended, existing keys get the new value. */
export function mergeTags(current: Tag[], added: Tag[], resourceId: string): Tag[] {
  validateTags(added, { checkValues: true })
  const next = current.map(copyTag)
  for (const t of added) {
    const i = next.findIndex((x) => x.key === t.key)
    if (i >= 0) next[i] = copyTag(t)
    else next.push(copyTag(t))
  }
  checkLimit(next.length, resourceId)
  return next
}

/** RemoveTags: removes each key; a tag given with a value is removed only if the value matches. */
export function removeTags(current: Tag[], removed: Tag[]): Tag[] {
  validateTags(removed, { checkValues: false })
  return current.filter(
    (t) => !removed.some((r) => r.key === t.key && (r.value === undefined || r.value === t.value)),
  )
}

const copyTag = (t: Tag): Tag =>
  t.value !== undefined ? { key: t.key, value: t.value } : { key: t.key }
