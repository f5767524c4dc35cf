/**
 * @module objectstore/local-keys
 * Where buckets and keys live on disk in the local store: S3's bucket naming rules, the escaping
 * of key segments into file names, S3 key order, the reserved file-name suffixes (sidecars, bucket
 * files, objects parked beside a directory of the same name), and the directory chain of a key:
 * made on put, found on read, pruned on delete.
 */
import { mkdir, rename, rmdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fsyncDir, statOrUndefined } from './local-files.js'

/** A bucket name that breaks S3's naming rules. */
export class InvalidBucketNameError extends Error {
  override name = 'InvalidBucketName'
}
/** A key that this store cannot hold (empty, over 1024 bytes, or a segment over 240 bytes). */
export class InvalidObjectKeyError extends Error {
  override name = 'InvalidObjectKey'
}

export const META_SUFFIX = '%meta.json'
export const OBJ_SUFFIX = '%obj'
export const BUCKET_FILE = '%bucket.json'
const MAX_SEGMENT_BYTES = 240

/** S3's bucket naming rules (general purpose buckets). */
export function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  )
}

export function encodeSegment(seg: string): string {
  if (seg === '') return '%'
  let out = ''
  for (const ch of seg) {
    const c = ch.codePointAt(0)!
    out +=
      ch === '%' || c < 0x20 || c === 0x7f
        ? '%' + c.toString(16).toUpperCase().padStart(2, '0')
        : ch
  }
  if (out === '.' || out === '..') out = out.replace(/\./g, '%2E')
  return out
}

export function decodeSegment(name: string): string {
  if (name === '%') return ''
  return name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
}

/** S3 orders keys by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The bucket's directory under the store's root; throws InvalidBucketNameError. */
export function bucketPath(root: string, bucket: string): string {
  if (!validBucketName(bucket))
    throw new InvalidBucketNameError(`The specified bucket is not valid: ${bucket}`)
  return join(root, bucket)
}

function segments(key: string): string[] {
  if (key === '') throw new InvalidObjectKeyError('Object keys cannot be empty.')
  if (Buffer.byteLength(key) > 1024)
    throw new InvalidObjectKeyError('Your key is too long (over 1024 bytes).')
  const segs = key.split('/').map(encodeSegment)
  for (const s of segs) {
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES)
      throw new InvalidObjectKeyError(
        `Key segments longer than ${MAX_SEGMENT_BYTES} bytes are not supported by the local store.`,
      )
  }
  return segs
}

/** Directory and escaped file name of a key inside a bucket directory. */
export function locate(bucketDir: string, key: string): { dir: string; name: string } {
  const segs = segments(key)
  const name = segs.pop()!
  return { dir: join(bucketDir, ...segs), name }
}

/** Where the object's bytes are, or undefined when there is no such object. */
export async function dataPath(dir: string, name: string): Promise<string | undefined> {
  const plain = join(dir, name)
  const st = await statOrUndefined(plain)
  if (st?.isFile()) return plain
  const alt = plain + OBJ_SUFFIX
  const st2 = await statOrUndefined(alt)
  return st2?.isFile() ? alt : undefined
}

/**
 * Makes `dir` (inside `bucketDir`) a directory chain. A file in the way is an object whose key is
 * also a prefix of another: it moves aside to `<name>%obj`.
 */
export async function ensureDirs(bucketDir: string, dir: string): Promise<void> {
  const rel = dir.slice(bucketDir.length).split('/').filter(Boolean)
  let cur = bucketDir
  for (const seg of rel) {
    const next = join(cur, seg)
    try {
      await mkdir(next)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const st = await stat(next)
      if (!st.isDirectory()) {
        await rename(next, next + OBJ_SUFFIX)
        await mkdir(next)
        await fsyncDir(cur)
      }
    }
    cur = next
  }
}

/**
 * S3 has no directories: drops the ones below `bucketDir` that a delete in `dir` emptied. An
 * object `a` parked as `a%obj` goes back to `a` once the directory `a` is gone.
 */
export async function pruneEmptyDirs(bucketDir: string, dir: string): Promise<void> {
  let cur = dir
  while (cur.length > bucketDir.length) {
    try {
      await rmdir(cur)
    } catch {
      break
    }
    const parent = join(cur, '..')
    const base = cur.slice(parent.length + 1)
    const parked = join(parent, base + OBJ_SUFFIX)
    if ((await statOrUndefined(parked))?.isFile()) await rename(parked, join(parent, base))
    cur = parent
  }
}
