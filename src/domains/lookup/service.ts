/**
 * @module domains/lookup/service
 * Event History lookups: AWS's LookupEvents semantics (newest first, 90-day default window, stable
 * cursor tokens) plus OpenTrail's extension of several attributes ANDed together.
 */
import { createHash } from 'node:crypto'
import type { HistoryStore, LookupAttributeKey } from '../../storage/history-port.js'
import {
  InvalidLookupAttributesException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  ThrottlingException,
} from './errors.js'
import { RateLimiter } from './rate-limiter.js'

export interface LookupRequest {
  accountId: string
  region: string
  attributes: { key: LookupAttributeKey; value: string }[]
  start?: Date
  end?: Date
  category?: 'insight'
  maxResults?: number
  nextToken?: string
  now: Date
}

export interface LookupResult {
  events: Record<string, unknown>[]
  nextToken?: string
}

export const MAX_ATTRIBUTES = 8
const DAY_MS = 86_400_000

export class LookupService {
  private readonly limiter: RateLimiter | undefined

  constructor(
    private readonly store: HistoryStore,
    private readonly opts: { retentionDays: number; ratePerSecond: number },
  ) {
    this.limiter = opts.ratePerSecond > 0 ? new RateLimiter(opts.ratePerSecond) : undefined
  }

  async lookup(req: LookupRequest): Promise<LookupResult> {
    if (this.limiter && !this.limiter.take(`${req.accountId}/${req.region}`, req.now.getTime())) {
      throw ThrottlingException('Rate exceeded')
    }
    if (req.attributes.length > MAX_ATTRIBUTES) {
      throw InvalidLookupAttributesException(
        `At most ${MAX_ATTRIBUTES} lookup attributes can be combined.`,
      )
    }
    const seen = new Set<string>()
    for (const a of req.attributes) {
      if (seen.has(a.key))
        throw InvalidLookupAttributesException(`Lookup attribute ${a.key} is given more than once.`)
      seen.add(a.key)
    }
    if (req.category === 'insight') {
      const bad = req.attributes.find(
        (a) => !['EventId', 'EventName', 'EventSource'].includes(a.key),
      )
      if (bad) {
        throw InvalidLookupAttributesException(
          `Lookup attribute ${bad.key} is not supported for Insights events; use EventId, EventName or EventSource.`,
        )
      }
    }
    const end = req.end ?? req.now
    const start = req.start ?? new Date(req.now.getTime() - this.opts.retentionDays * DAY_MS)
    if (start.getTime() > end.getTime())
      throw InvalidTimeRangeException('Start time must be before end time.')
    const limit = req.maxResults ?? 50
    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify([
          req.accountId,
          req.region,
          req.attributes,
          req.start?.getTime(),
          req.end?.getTime(),
          req.category ?? '',
        ]),
      )
      .digest('base64url')
      .slice(0, 16)
    const after = req.nextToken ? decodeToken(req.nextToken, fingerprint) : undefined
    const rows = await this.store.lookup({
      accountId: req.accountId,
      region: req.region,
      category: req.category === 'insight' ? 'insight' : 'management',
      start,
      end,
      attributes: req.attributes,
      limit: limit + 1,
      after,
    })
    const page = rows.slice(0, limit)
    const events = page.map((row) => toEvent(row.body))
    const last = page[page.length - 1]
    return {
      events,
      ...(rows.length > limit && last
        ? { nextToken: encodeToken(last.timeMs, last.seq, fingerprint) }
        : {}),
    }
  }
}

function encodeToken(timeMs: number, seq: number, fp: string): string {
  return Buffer.from(JSON.stringify({ t: timeMs, s: seq, f: fp })).toString('base64')
}

function decodeToken(token: string, fp: string): { timeMs: number; seq: number } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString()) as {
      t: unknown
      s: unknown
      f: unknown
    }
    if (Number.isSafeInteger(v.t) && Number.isSafeInteger(v.s) && v.f === fp)
      return { timeMs: v.t as number, seq: v.s as number }
  } catch {
    // fall through to the AWS error
  }
  throw InvalidNextTokenException(
    'Invalid NextToken: it is malformed or was issued for different parameters.',
  )
}

interface StoredRecord {
  eventID?: string
  eventName?: string
  readOnly?: boolean
  eventTime?: string
  eventSource?: string
  userIdentity?: { type?: string; userName?: string; arn?: string; accessKeyId?: string }
  resources?: { type?: string; ARN?: string }[]
}

/** The LookupEvents `Event` shape from a stored CloudTrail record. */
export function toEvent(body: string): Record<string, unknown> {
  const r = JSON.parse(body) as StoredRecord
  const u = r.userIdentity ?? {}
  const username = u.userName ?? (u.type === 'Root' ? 'root' : (u.arn ?? '').split('/').pop())
  const resources = Array.isArray(r.resources)
    ? r.resources.map((x) => ({ ResourceType: x.type, ResourceName: x.ARN }))
    : []
  return {
    EventId: r.eventID,
    EventName: r.eventName,
    ...(r.readOnly === undefined ? {} : { ReadOnly: String(r.readOnly) }),
    ...(u.accessKeyId ? { AccessKeyId: u.accessKeyId } : {}),
    EventTime: new Date(r.eventTime ?? 0),
    EventSource: r.eventSource,
    ...(username ? { Username: username } : {}),
    Resources: resources,
    CloudTrailEvent: body,
  }
}
