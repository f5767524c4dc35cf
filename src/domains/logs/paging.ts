/**
 * @module domains/logs/paging
 * The opaque nextToken of the CloudWatch Logs list operations: a small JSON position (a name or an
 * offset `{ n }`, or a FilterLogEvents cursor `{ g, t, q, f }`) in base64url, checked for its shape
 * when it comes back (InvalidNextTokenException otherwise).
 */
import { InvalidNextTokenException } from '../../shared/errors.js'

export const token = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export function untoken<T>(t: string, check: (v: unknown) => v is T): T {
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(t, 'base64url').toString('utf8'))
  } catch {
    throw InvalidNextTokenException('The specified nextToken is invalid.')
  }
  if (!check(v)) throw InvalidNextTokenException('The specified nextToken is invalid.')
  return v
}

/** FilterLogEvents: group id, timestamp and seq to resume at, and the query's fingerprint. */
export const isCursor = (v: unknown): v is { g: number; t: number; q: number; f: string } =>
  !!v &&
  typeof v === 'object' &&
  typeof (v as { g: unknown }).g === 'number' &&
  typeof (v as { t: unknown }).t === 'number' &&
  typeof (v as { q: unknown }).q === 'number' &&
  typeof (v as { f: unknown }).f === 'string'

export const isName = (v: unknown): v is { n: string } =>
  !!v && typeof v === 'object' && typeof (v as { n: unknown }).n === 'string'
