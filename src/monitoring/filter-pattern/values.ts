/**
 * @module monitoring/filter-pattern/values
 * Tests of one value node against a pattern value, shared by JSON and space-delimited patterns:
 * `*` wildcards at the start or end of strings, a lone `*` for any non-null value, numbers compared
 * numerically with numbers and numeric strings, `%re%` regular expressions (invalid ones are
 * InvalidParameterException).
 */
import type { Value } from './ast.js'
import { NUMBER } from './lex.js'
import { InvalidParameterException } from './parse.js'

export function toRegExp(source: string): RegExp {
  try {
    return new RegExp(source)
  } catch (e) {
    throw InvalidParameterException(
      `Invalid regular expression %${source}%: ${(e as Error).message}`,
    )
  }
}

// ---- values --------------------------------------------------------------------------------------

/** A predicate on a value node (never called with undefined, objects or arrays). */
export type Leaf = (v: string | number | boolean | null) => boolean

function wildcard(text: string): (s: string) => boolean {
  if (text === '*') return () => true
  const starts = text.startsWith('*')
  const ends = text.length > 1 && text.endsWith('*')
  const core = text.slice(starts ? 1 : 0, ends ? -1 : undefined)
  if (starts && ends) return (s) => s.includes(core)
  if (starts) return (s) => s.endsWith(core)
  if (ends) return (s) => s.startsWith(core)
  return (s) => s === core
}

function numericOf(v: string | number | boolean | null): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v)
  return undefined
}

export function leaf(op: string, value: Value): Leaf {
  let eq: Leaf
  switch (value.kind) {
    case 'any':
      eq = (v) => v !== null
      break
    case 'regex': {
      const re = toRegExp(value.source)
      eq = (v) => v !== null && re.test(String(v))
      break
    }
    case 'string': {
      const w = wildcard(value.text)
      eq = (v) => v !== null && w(typeof v === 'string' ? v : String(v))
      break
    }
    case 'number': {
      const n = value.value
      if (op === '=' || op === '!=') {
        eq = (v) => numericOf(v) === n
        break
      }
      switch (op) {
        case '<':
          return (v) => (numericOf(v) ?? NaN) < n
        case '<=':
          return (v) => (numericOf(v) ?? NaN) <= n
        case '>':
          return (v) => (numericOf(v) ?? NaN) > n
        default:
          return (v) => (numericOf(v) ?? NaN) >= n
      }
    }
  }
  if (op === '!=') return value.kind === 'any' ? () => false : (v) => !eq(v)
  return eq
}
