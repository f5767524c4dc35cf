/** @module cli/args  Parsing of CLI option values: times, lookup attributes, counts. */
import { InvalidArgumentError } from 'commander'

export const LOOKUP_ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number]

export interface LookupAttribute {
  AttributeKey: LookupAttributeKey
  AttributeValue: string
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
}

/**
 * A point in time: ISO 8601 (`2024-05-01T12:00:00Z`, `2024-05-01`), epoch seconds, `now`, or a
 * time relative to now (`30s`, `30m`, `2h`, `1d`, `1w`: that long ago).
 */
export function parseTime(value: string, now = new Date()): Date {
  const v = value.trim()
  if (v === 'now') return now
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(v)
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!)
  if (/^\d{9,11}$/.test(v)) return new Date(Number(v) * 1000)
  const t = Date.parse(v)
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(t)) return new Date(t)
  throw new InvalidArgumentError(
    `'${value}' is not a time: use ISO 8601 (2024-05-01T12:00:00Z), epoch seconds, or a time ago like 30m, 2h, 1d.`,
  )
}

/**
 * `Key=Value` with one of the eight lookup attribute keys (any case), or the AWS CLI shorthand
 * `AttributeKey=Key,AttributeValue=Value`.
 */
export function parseLookupAttribute(value: string): LookupAttribute {
  let key: string
  let attrValue: string
  const shorthand = /^AttributeKey=([^,]*),AttributeValue=(.*)$/i.exec(value)
  if (shorthand) {
    key = shorthand[1]!
    attrValue = shorthand[2]!
  } else {
    const eq = value.indexOf('=')
    if (eq < 0)
      throw new InvalidArgumentError(
        `expected Key=Value, e.g. EventName=CreateTrail (got '${value}')`,
      )
    key = value.slice(0, eq)
    attrValue = value.slice(eq + 1)
  }
  const canonical = LOOKUP_ATTRIBUTE_KEYS.find((k) => k.toLowerCase() === key.trim().toLowerCase())
  if (!canonical)
    throw new InvalidArgumentError(
      `unknown attribute '${key}'; the keys are ${LOOKUP_ATTRIBUTE_KEYS.join(', ')}`,
    )
  if (attrValue === '') throw new InvalidArgumentError(`the value for ${canonical} is empty`)
  return { AttributeKey: canonical, AttributeValue: attrValue }
}

export const collect =
  <T>(parse: (v: string) => T) =>
  (value: string, previous: T[] = []) => [...previous, parse(value)]

export function parseCount(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer of at least ${min}`
          : `expected an integer from ${min} to ${max}`,
      )
    return n
  }
}

export function parseOutput(value: string): 'table' | 'json' {
  if (value !== 'table' && value !== 'json')
    throw new InvalidArgumentError(`expected table or json (got '${value}')`)
  return value
}
