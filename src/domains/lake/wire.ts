/**
 * @module domains/lake/wire
 * Wire helpers shared by the Lake's operation tables (event data stores, queries, channels,
 * imports): the caller's scope, timestamps, and AWS-style pagination of a list.
 */
import type { EventResource } from '../../events/record.js'
import type { Input, RequestContext } from '../../protocol/operation.js'
import { decodeToken, encodeToken, fingerprint } from '../trails/pagination.js'
import { str } from '../trails/wire.js'
import { InvalidMaxResultsException, InvalidNextTokenException, type Scope } from './service.js'

export type Wire = Record<string, unknown>
export const scope = (ctx: RequestContext): Scope => ({
  accountId: ctx.accountId,
  region: ctx.region,
})
export const toDate = (iso: string) => new Date(iso)

export const storeResources = (ctx: RequestContext, arns: string[]): EventResource[] =>
  arns.map((ARN) => ({ accountId: ctx.accountId, type: 'AWS::CloudTrail::EventDataStore', ARN }))

/**
 * The page of a list of `total` items that `input` asks for: its `MaxResults`-like limit (1 to
 * `max`, InvalidMaxResultsException otherwise) and its `NextToken` (bound to the operation and the
 * fingerprint `fp`; InvalidNextTokenException otherwise).
 */
export function pageBounds(
  total: number,
  op: string,
  fp: unknown,
  input: Input,
  tokenKey = 'NextToken',
  maxKey = 'MaxResults',
  max = 1000,
  dflt = max,
): { start: number; limit: number; end: number; next?: string } {
  const limit = input[maxKey] === undefined ? dflt : Number(input[maxKey])
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw InvalidMaxResultsException(`${maxKey} must be between 1 and ${max}.`)
  }
  const f = fingerprint(fp)
  let start = 0
  const token = str(input[tokenKey])
  if (token !== undefined) {
    const pos = decodeToken(token, op, f)
    if (typeof pos !== 'number' || pos < 0 || pos > total) {
      throw InvalidNextTokenException('The NextToken is not valid.')
    }
    start = pos
  }
  const end = Math.min(total, start + limit)
  return { start, limit, end, ...(end < total ? { next: encodeToken(op, f, end) } : {}) }
}

/** One page of `items` (see pageBounds). */
export function page<T>(
  items: T[],
  op: string,
  fp: unknown,
  input: Input,
  tokenKey = 'NextToken',
  maxKey = 'MaxResults',
  max = 1000,
  dflt = max,
): { items: T[]; next?: string } {
  const b = pageBounds(items.length, op, fp, input, tokenKey, maxKey, max, dflt)
  return { items: items.slice(b.start, b.end), ...(b.next ? { next: b.next } : {}) }
}
