/**
 * @module storage/duckdb/record-codec
 * A dictionary encoding of CloudTrail records for Event History. A record splits into
 * - the per-event values (eventID, requestID, eventTime, sourceIPAddress, userAgent, awsRegion,
 *   recipientAccountId), which are stored as their own columns, and
 * - two interned fragments: the `userIdentity` JSON and the "skeleton", the record's JSON with
 *   the per-event values replaced by holes. Both repeat heavily (the same caller, the same call
 *   shape) and are stored once each in a `parts` table and referenced by id.
 * Decoding fills the holes back in, giving the byte-identical JSON that JSON.stringify(record)
 * produced. A record whose text already contains the hole marker is stored whole (no holes).
 */
import type { CloudTrailRecord } from '../../events/record.js'
import { eventTimeString } from '../../events/record.js'

/** Hole markers: a NUL (escaped as \u0000 by JSON.stringify) and one letter. */
const HOLES = {
  eventID: 'i',
  requestID: 'q',
  eventTime: 't',
  sourceIPAddress: 'p',
  userAgent: 'a',
  awsRegion: 'r',
  recipientAccountId: 'c',
  userIdentity: 'u',
} as const
type HoleField = keyof typeof HOLES
const HOLE_BY_LETTER = Object.fromEntries(Object.entries(HOLES).map(([k, v]) => [v, k])) as Record<
  string,
  HoleField
>
const MARK = '\\u0000'
const HOLE_RE = /"\\u0000([a-z])"/g

let lastMs = NaN
let lastText = ''
/** eventTimeString for a time in ms, remembering the last one (events come in time order). */
function canonicalTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms
    lastText = eventTimeString(new Date(ms))
  }
  return lastText
}

export interface Encoded {
  skeleton: string
  /** JSON of userIdentity, or null when the skeleton holds it (no hole). */
  who: string | null
  eventId: string | null
  requestId: string | null
  /** null when the eventTime hole is filled from the row's time. */
  eventTime: string | null
  sourceIp: string | null
  userAgent: string | null
  /** Which holes the skeleton has, as their letters (so decoding knows what to fill). */
  holes: string
}

/** End (exclusive) of the JSON string starting at the quote at `i`. */
function skipString(text: string, i: number): number {
  let j = i + 1
  for (;;) {
    j = text.indexOf('"', j)
    if (j < 0) return text.length
    let b = j - 1
    while (text.charCodeAt(b) === 92) b--
    if ((j - 1 - b) % 2 === 0) return j + 1
    j++
  }
}

/** End (exclusive) of the compact JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (c === 34) return skipString(text, i)
  if (c === 123 || c === 91) {
    let depth = 0
    let j = i
    while (j < text.length) {
      const d = text.charCodeAt(j)
      if (d === 34) {
        j = skipString(text, j)
        continue
      }
      if (d === 123 || d === 91) depth++
      else if (d === 125 || d === 93) {
        depth--
        if (depth === 0) return j + 1
      }
      j++
    }
    return j
  }
  let j = i
  while (j < text.length) {
    const d = text.charCodeAt(j)
    if (d === 44 || d === 125) return j
    j++
  }
  return j
}

const LETTER = new Map<string, string>(Object.entries(HOLES))

/**
 * Splits `r`, whose compact JSON text (JSON.stringify) is `text` (the log's, so no second
 * serialization). `account` is the row's account column: recipientAccountId becomes a hole only
 * when equal to it. One pass over the top-level members finds the exact spans to cut.
 */
export function encodeRecord(
  r: CloudTrailRecord,
  text: string,
  timeMs: number,
  account: string,
): Encoded {
  const out: Encoded = {
    skeleton: text,
    who: null,
    eventId: null,
    requestId: null,
    eventTime: null,
    sourceIp: null,
    userAgent: null,
    holes: '',
  }
  if (text.charCodeAt(0) !== 123 || text.indexOf(MARK) >= 0) return out
  let skeleton = ''
  let pos = 0
  let holes = ''
  let i = 1
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 125) break
    if (c === 44) {
      i++
      continue
    }
    if (c !== 34) return out // not compact JSON: keep whole
    const keyEnd = skipString(text, i)
    const valStart = keyEnd + 1
    const valEnd = skipValue(text, valStart)
    const letter = valEnd - keyEnd < 2 ? undefined : LETTER.get(text.slice(i + 1, keyEnd - 1))
    i = valEnd
    if (letter === undefined) continue
    const f = HOLE_BY_LETTER[letter]!
    const v = r[f]
    if (f === 'userIdentity') {
      if (text.charCodeAt(valStart) !== 123) continue
      out.who = text.slice(valStart, valEnd)
    } else {
      if (typeof v !== 'string' || text.charCodeAt(valStart) !== 34) continue
      switch (f) {
        case 'eventID':
          out.eventId = v
          break
        case 'requestID':
          out.requestId = v
          break
        case 'eventTime':
          // Canonical CloudTrail form (YYYY-MM-DDTHH:MM:SSZ) that parsed to timeMs: rebuilt from it.
          if (!(
            v.length === 20 &&
            v.charCodeAt(10) === 84 &&
            v.charCodeAt(19) === 90 &&
            canonicalTime(timeMs) === v
          ))
            out.eventTime = v
          break
        case 'sourceIPAddress':
          out.sourceIp = v
          break
        case 'userAgent':
          out.userAgent = v
          break
        case 'recipientAccountId':
          if (v !== account) continue
          break
        default:
          break
      }
    }
    skeleton += text.slice(pos, valStart) + `"${MARK}${letter}"`
    pos = valEnd
    holes += letter
  }
  out.skeleton = skeleton + text.slice(pos)
  out.holes = holes
  return out
}

export interface DecodeValues {
  eventId: string | null
  requestId: string | null
  eventTime: string | null
  timeMs: number
  sourceIp: string | null
  userAgent: string | null
  region: string
  account: string
  who: string | null
}

/** The original JSON text from a skeleton and the row's values. */
export function decodeRecord(skeleton: string, v: DecodeValues): string {
  if (skeleton.indexOf(MARK) < 0) return skeleton
  return skeleton.replace(HOLE_RE, (_m, c: string) => {
    switch (c) {
      case 'i':
        return JSON.stringify(v.eventId ?? '')
      case 'q':
        return JSON.stringify(v.requestId ?? '')
      case 't':
        return JSON.stringify(v.eventTime ?? canonicalTime(v.timeMs))
      case 'p':
        return JSON.stringify(v.sourceIp ?? '')
      case 'a':
        return JSON.stringify(v.userAgent ?? '')
      case 'r':
        return JSON.stringify(v.region)
      case 'c':
        return JSON.stringify(v.account)
      case 'u':
        return v.who ?? 'null'
      default:
        return _m
    }
  })
}
