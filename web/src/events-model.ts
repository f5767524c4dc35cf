/** Event History rows: LookupEvents results, loaded page by page. */
import { call } from './api'
import { csvCell, toDate } from './util'

export const ATTRIBUTES = [
  'EventName',
  'Username',
  'EventSource',
  'ResourceType',
  'ResourceName',
  'ReadOnly',
  'AccessKeyId',
  'EventId',
] as const
export type AttributeKey = (typeof ATTRIBUTES)[number]

export const ATTRIBUTE_LABELS: Record<AttributeKey, string> = {
  EventName: 'Event name',
  Username: 'User name',
  EventSource: 'Event source',
  ResourceType: 'Resource type',
  ResourceName: 'Resource name',
  ReadOnly: 'Read-only',
  AccessKeyId: 'AWS access key',
  EventId: 'Event ID',
}

export interface Filter {
  key: AttributeKey
  value: string
}

export interface EventRow {
  id: string
  time: number
  name: string
  user: string
  source: string
  resourceType: string
  resourceName: string
  accessKeyId: string
  readOnly: string
  errorCode: string
  region: string
  sourceIp: string
  raw: string
}

interface LookupPage {
  Events?: {
    EventId?: string
    EventName?: string
    ReadOnly?: string
    AccessKeyId?: string
    EventTime?: number
    EventSource?: string
    Username?: string
    Resources?: { ResourceType?: string; ResourceName?: string }[]
    CloudTrailEvent?: string
  }[]
  NextToken?: string
}

function toRow(e: NonNullable<LookupPage['Events']>[number]): EventRow {
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(e.CloudTrailEvent ?? '{}') as Record<string, unknown>
  } catch {
    /* keep the summary fields */
  }
  return {
    id: e.EventId ?? '',
    time: toDate(e.EventTime)?.getTime() ?? 0,
    name: e.EventName ?? '',
    user: e.Username ?? '',
    source: e.EventSource ?? '',
    resourceType: (e.Resources ?? []).map((r) => r.ResourceType ?? '').join(', '),
    resourceName: (e.Resources ?? []).map((r) => r.ResourceName ?? '').join(', '),
    accessKeyId: e.AccessKeyId ?? '',
    readOnly: e.ReadOnly ?? '',
    errorCode: typeof parsed['errorCode'] === 'string' ? parsed['errorCode'] : '',
    region: typeof parsed['awsRegion'] === 'string' ? parsed['awsRegion'] : '',
    sourceIp: typeof parsed['sourceIPAddress'] === 'string' ? parsed['sourceIPAddress'] : '',
    raw: e.CloudTrailEvent ?? '{}',
  }
}

/**
 * Loads events newest first, 50 per LookupEvents call, calling `onPage` after each page, until
 * `max` rows, the end, or `cancelled()`.
 */
export async function loadEvents(
  query: { filters: Filter[]; start: Date; end: Date },
  max: number,
  onPage: (rows: EventRow[], done: boolean) => void,
  cancelled: () => boolean,
): Promise<void> {
  const rows: EventRow[] = []
  let token: string | undefined
  do {
    const page = await call<LookupPage>('LookupEvents', {
      LookupAttributes: query.filters
        .filter((f) => f.value.trim() !== '')
        .map((f) => ({ AttributeKey: f.key, AttributeValue: f.value.trim() })),
      StartTime: query.start.getTime() / 1000,
      EndTime: query.end.getTime() / 1000,
      MaxResults: 50,
      ...(token ? { NextToken: token } : {}),
    })
    if (cancelled()) return
    for (const e of page.Events ?? []) rows.push(toRow(e))
    token = page.NextToken
    const done = !token || rows.length >= max
    onPage(rows, done)
    if (done) return
  } while (!cancelled())
}

export function toCsv(rows: EventRow[]): string {
  const header = [
    'Event ID',
    'Event time',
    'User name',
    'Event name',
    'Resource type',
    'Resource name',
    'AWS access key',
    'Event source',
    'AWS region',
    'Error code',
    'Source IP address',
    'Read-only',
  ]
  const lines = [header.join(',')]
  for (const r of rows)
    lines.push(
      [
        r.id,
        new Date(r.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        r.user,
        r.name,
        r.resourceType,
        r.resourceName,
        r.accessKeyId,
        r.source,
        r.region,
        r.errorCode,
        r.sourceIp,
        r.readOnly,
      ]
        .map(csvCell)
        .join(','),
    )
  return lines.join('\r\n') + '\r\n'
}

export function toJson(rows: EventRow[]): string {
  return `{"Records":[\n${rows.map((r) => r.raw).join(',\n')}\n]}\n`
}
