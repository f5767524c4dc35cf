/**
 * @module objectstore/local-listing
 * Listing a local bucket: walks the bucket's directory tree in S3 order (UTF-8 byte order of whole
 * keys) and stops as soon as the caller stops iterating; prefixes, `startAfter` and a `/`
 * delimiter prune whole directories, and a delimiter rolls keys up into common prefixes.
 */
import type { Dirent } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isNotFound } from './local-files.js'
import { BUCKET_FILE, compareKeys, decodeSegment, META_SUFFIX, OBJ_SUFFIX } from './local-keys.js'

export type ListEntry = { key: string } | { commonPrefix: string }

interface ListQuery {
  prefix: string
  startAfter: string
  delimiter?: string
}

/** Keys and common prefixes under a bucket directory, in S3 order. */
export async function* walk(bucketDir: string, q: ListQuery): AsyncGenerator<ListEntry> {
  let lastPrefix: string | undefined
  for await (const key of keysUnder(bucketDir, '', q)) {
    if ('commonPrefix' in key) {
      if (key.commonPrefix !== lastPrefix) yield key
      lastPrefix = key.commonPrefix
      continue
    }
    if (q.delimiter) {
      const i = key.key.indexOf(q.delimiter, q.prefix.length)
      if (i >= 0) {
        const cp = key.key.slice(0, i + q.delimiter.length)
        // A common prefix given back as startAfter (a continuation) is not repeated.
        if (cp !== lastPrefix && cp !== q.startAfter) yield { commonPrefix: cp }
        lastPrefix = cp
        continue
      }
    }
    yield key
  }
}

/** Sorted entries of one directory: escaped name, decoded key segment, kind. */
async function sortedEntries(
  dir: string,
): Promise<{ name: string; seg: string; isDir: boolean }[]> {
  let entries: Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    if (isNotFound(err)) return []
    throw err
  }
  const out: { name: string; seg: string; isDir: boolean; sortKey: Buffer }[] = []
  for (const e of entries) {
    if (e.name === BUCKET_FILE || e.name.endsWith(META_SUFFIX)) continue
    if (e.isDirectory()) {
      const seg = decodeSegment(e.name)
      out.push({ name: e.name, seg, isDir: true, sortKey: Buffer.from(seg + '/') })
    } else if (e.isFile()) {
      const base = e.name.endsWith(OBJ_SUFFIX) ? e.name.slice(0, -OBJ_SUFFIX.length) : e.name
      const seg = decodeSegment(base)
      out.push({ name: e.name, seg, isDir: false, sortKey: Buffer.from(seg) })
    }
  }
  out.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey))
  return out
}

async function* keysUnder(dir: string, path: string, q: ListQuery): AsyncGenerator<ListEntry> {
  for (const e of await sortedEntries(dir)) {
    if (!e.isDir) {
      const key = path + e.seg
      if (key.startsWith(q.prefix) && compareKeys(key, q.startAfter) > 0) yield { key }
      continue
    }
    const p = path + e.seg + '/'
    // Only directories that can hold keys with the prefix.
    if (!p.startsWith(q.prefix) && !q.prefix.startsWith(p)) continue
    // Every key below starts with `p`: all of them sort before startAfter in this case.
    if (compareKeys(p, q.startAfter) <= 0 && !q.startAfter.startsWith(p)) continue
    const sub = join(dir, e.name)
    if (q.delimiter === '/' && p.length > q.prefix.length && p.startsWith(q.prefix)) {
      // The whole directory rolls up into one common prefix: no need to walk it.
      const cp = p.slice(0, p.indexOf('/', q.prefix.length) + 1)
      if (cp === q.startAfter) continue
      if (compareKeys(cp, q.startAfter) > 0) {
        if (await hasAnyKey(sub)) yield { commonPrefix: cp }
        continue
      }
    }
    yield* keysUnder(sub, p, q)
  }
}

/** Whether a directory holds any object, at any depth. */
export async function hasAnyKey(dir: string): Promise<boolean> {
  for (const e of await sortedEntries(dir)) {
    if (!e.isDir) return true
    if (await hasAnyKey(join(dir, e.name))) return true
  }
  return false
}
