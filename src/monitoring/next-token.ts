/**
 * @module monitoring/next-token
 * The opaque NextToken of the CloudWatch list operations (metric filters, metrics, alarms, alarm
 * history): a position string, JSON-encoded in base64url. A token that does not decode to a string
 * is refused with InvalidNextTokenException.
 */
import { InvalidNextTokenException } from '../shared/errors.js'

export const token = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export function untoken(t: string): string {
  try {
    const v = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as unknown
    if (typeof v === 'string') return v
  } catch {
    /* fall through */
  }
  throw InvalidNextTokenException('The specified nextToken is invalid.')
}
