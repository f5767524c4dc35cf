/**
 * @module import/validate
 * What makes an imported record acceptable: a JSON object of at most 256 KB with a non-empty string
 * eventID, an ISO-8601 eventTime, string eventSource and eventName, and the fields sinks index
 * (awsRegion, recipientAccountId, eventType, eventCategory, userIdentity, resources) of the right
 * JSON type when present. Values are never checked beyond their type: anonymized regions, invalid IP
 * addresses and unknown event names are real-world shapes and are kept exactly as they are.
 */
import type { CloudTrailRecord } from '../events/record.js'

/** CloudTrail's own limit for one event. */
export const MAX_RECORD_BYTES = 256 * 1024

export type RejectReason =
  | 'InvalidJson'
  | 'NotAnObject'
  | 'RecordTooLarge'
  | 'MissingEventId'
  | 'MissingEventTime'
  | 'InvalidEventTime'
  | 'MissingEventSource'
  | 'MissingEventName'
  | 'InvalidFieldType'

export interface Reject {
  reason: RejectReason
  message: string
  eventID?: string
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/

const OPTIONAL_STRINGS = [
  'awsRegion',
  'recipientAccountId',
  'eventType',
  'eventCategory',
  'eventVersion',
] as const

/**
 * Parses and checks one record's text. Returns the record and its eventTime in epoch ms, or why it
 * was rejected.
 */
export function parseRecord(text: string): { record: CloudTrailRecord; timeMs: number } | Reject {
  // Characters never outnumber UTF-8 bytes; count bytes only when it could matter.
  if (text.length > MAX_RECORD_BYTES / 3 && Buffer.byteLength(text) > MAX_RECORD_BYTES) {
    return tooLarge(Buffer.byteLength(text))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    // V8's message quotes the text; only the position is kept (the file may be anything).
    const at = /position (\d+)/.exec((err as Error).message)?.[1]
    return {
      reason: 'InvalidJson',
      message: `The record is not valid JSON${at ? ` (at character ${at})` : ''}.`,
    }
  }
  return checkRecord(value)
}

export function tooLarge(bytes: number): Reject {
  return {
    reason: 'RecordTooLarge',
    message: `The record is ${bytes} bytes; the limit is ${MAX_RECORD_BYTES} bytes (256 KB).`,
  }
}

export function checkRecord(value: unknown): { record: CloudTrailRecord; timeMs: number } | Reject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { reason: 'NotAnObject', message: 'The record is not a JSON object.' }
  }
  const r = value as Record<string, unknown>
  const id = r['eventID']
  if (typeof id !== 'string' || id.length === 0) {
    return { reason: 'MissingEventId', message: 'The record has no eventID (a non-empty string).' }
  }
  const time = r['eventTime']
  if (typeof time !== 'string' || time.length === 0) {
    return { reason: 'MissingEventTime', message: 'The record has no eventTime.', eventID: id }
  }
  const t = ISO_TIME.test(time) ? Date.parse(time) : NaN
  if (Number.isNaN(t)) {
    return {
      reason: 'InvalidEventTime',
      message: `eventTime ${JSON.stringify(time.slice(0, 64))} is not an ISO-8601 time.`,
      eventID: id,
    }
  }
  if (typeof r['eventSource'] !== 'string') {
    return { reason: 'MissingEventSource', message: 'The record has no eventSource.', eventID: id }
  }
  if (typeof r['eventName'] !== 'string') {
    return { reason: 'MissingEventName', message: 'The record has no eventName.', eventID: id }
  }
  for (const f of OPTIONAL_STRINGS) {
    const v = r[f]
    if (v !== undefined && v !== null && typeof v !== 'string') return badType(f, 'a string', id)
  }
  const u = r['userIdentity']
  if (u !== undefined && u !== null && (typeof u !== 'object' || Array.isArray(u))) {
    return badType('userIdentity', 'an object', id)
  }
  const res = r['resources']
  if (res !== undefined && res !== null) {
    if (!Array.isArray(res) || res.some((x) => x === null || typeof x !== 'object')) {
      return badType('resources', 'an array of objects', id)
    }
  }
  return { record: r as CloudTrailRecord, timeMs: t }
}

function badType(field: string, want: string, id: string): Reject {
  return { reason: 'InvalidFieldType', message: `${field} is not ${want}.`, eventID: id }
}

export function isReject(x: { record: CloudTrailRecord; timeMs: number } | Reject): x is Reject {
  return (x as Reject).reason !== undefined
}
