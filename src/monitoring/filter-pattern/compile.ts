/**
 * @module monitoring/filter-pattern/compile
 * Turns a parsed filter pattern into closures. An event is seen through `MatchInput`, whose message
 * and parsed JSON are both lazy: a pipeline record is matched as an object without serialising it,
 * a stored log line is parsed only when a JSON pattern needs it.
 *
 * Semantics (decision record 0016):
 * - Terms are case-sensitive substrings; every plain term must occur, no `-` term may occur, and when
 *   `?` terms are present at least one must occur. `%re%` terms are regular expressions.
 * - A JSON selector must reach a value node (string, number, boolean or null); on a missing field, an
 *   object or an array, `=` and `!=` are both false. `NOT EXISTS` is true only for a missing field.
 * - `*` at the start or end of a string value is a wildcard; elsewhere it is literal. A lone `*`
 *   matches any non-null value. Number values compare numerically with numbers and numeric strings.
 * - Space-delimited: the message is split on spaces, text in "…" or […] is one field (enclosing
 *   characters removed), `...` skips any number of fields; the field count must otherwise match.
 *
 * Value tests are in values.ts, space-delimited matching in delimited.ts.
 */
import type { JsonExpr, PathPart, Pattern, Term } from './ast.js'
import { compileDelimited } from './delimited.js'
import { parsePattern } from './parse.js'
import { leaf, toRegExp } from './values.js'

export interface MatchInput {
  /** The log event message. */
  readonly message: string
  /** The message parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown
}

/** A MatchInput over a stored log message: JSON parsed once, on first use. */
export class MessageInput implements MatchInput {
  private parsed: unknown
  private done = false
  constructor(readonly message: string) {}
  get json(): unknown {
    if (!this.done) {
      this.done = true
      const c = this.message.charCodeAt(0)
      if (c === 123 || c === 91) {
        try {
          this.parsed = JSON.parse(this.message)
        } catch {
          this.parsed = undefined
        }
      }
    }
    return this.parsed
  }
}

/** A MatchInput over an object (a CloudTrail record): serialised only if a term pattern needs text. */
export class ObjectInput implements MatchInput {
  private text: string | undefined
  constructor(readonly json: unknown) {}
  get message(): string {
    return (this.text ??= JSON.stringify(this.json))
  }
}

export interface CompiledPattern {
  readonly source: string
  readonly pattern: Pattern
  test(ev: MatchInput): boolean
  /** `$.a.b[0]` (JSON), `$name` or `$3` (space-delimited) → a value reader; undefined if it can't apply. */
  extractor(selector: string): ((ev: MatchInput) => unknown) | undefined
  /** Selectors whose value every match must have in a known set (used to dispatch filters). */
  readonly pins: ReadonlyMap<string, ReadonlySet<string>>
}

/** Parses and compiles; InvalidParameterException on a bad pattern. */
export function compilePattern(source: string): CompiledPattern {
  const pattern = parsePattern(source)
  switch (pattern.kind) {
    case 'all':
      return { source, pattern, test: () => true, extractor: () => undefined, pins: new Map() }
    case 'terms':
      return {
        source,
        pattern,
        test: compileTerms(pattern.terms),
        extractor: () => undefined,
        pins: new Map(),
      }
    case 'json': {
      const fn = compileJson(pattern.expr)
      const pins = pinsOf(pattern.expr)
      return {
        source,
        pattern,
        test: (ev) => {
          const j = ev.json
          return j !== null && typeof j === 'object' && fn(j)
        },
        extractor: (sel) => {
          const path = parseSelector(sel)
          if (!path) return undefined
          const get = getter(path)
          return (ev) => {
            const j = ev.json
            return j !== null && typeof j === 'object' ? get(j) : undefined
          }
        },
        pins,
      }
    }
    case 'delimited': {
      const match = compileDelimited(pattern.fields)
      const positions = pattern.fields.filter((f) => !f.ellipsis).map((f) => f.name!)
      return {
        source,
        pattern,
        pins: new Map(),
        test: (ev) => match(ev.message) !== undefined,
        extractor: (sel) => {
          const m = /^\$(\d+|[A-Za-z_][\w-]*)$/.exec(sel)
          if (!m) return undefined
          const name = /^\d+$/.test(m[1]!) ? positions[Number(m[1]) - 1] : m[1]
          if (name === undefined || !positions.includes(name)) return undefined
          return (ev) => match(ev.message)?.get(name)
        },
      }
    }
  }
}

/** `$.a.b[0]` → ['a', 'b', 0]; undefined when it is not a selector. */
export function parseSelector(text: string): PathPart[] | undefined {
  if (!/^\$((\.[^.[\]\s]+)|(\[\d+\]))+$/.test(text)) return undefined
  const parts: PathPart[] = []
  const re = /\.([^.[\]\s]+)|\[(\d+)\]/g
  let m: RegExpExecArray | null
  while ((m = re.exec(text))) parts.push(m[1] !== undefined ? m[1] : Number(m[2]))
  return parts
}

// ---- terms -------------------------------------------------------------------------------------

function compileTerms(terms: Term[]): (ev: MatchInput) => boolean {
  const tests = terms.map((t) => {
    if (t.kind === 'regex') {
      const re = toRegExp(t.source)
      return { mode: t.mode, fn: (s: string) => re.test(s) }
    }
    const text = t.text
    return { mode: t.mode, fn: (s: string) => s.includes(text) }
  })
  const and = tests.filter((t) => t.mode === 'and').map((t) => t.fn)
  const or = tests.filter((t) => t.mode === 'or').map((t) => t.fn)
  const not = tests.filter((t) => t.mode === 'not').map((t) => t.fn)
  return (ev) => {
    const s = ev.message
    for (const f of and) if (!f(s)) return false
    for (const f of not) if (f(s)) return false
    if (or.length === 0) return true
    for (const f of or) if (f(s)) return true
    return false
  }
}

// ---- JSON ----------------------------------------------------------------------------------------

type Obj = object
type Getter = (root: Obj) => unknown

/**
 * One step of a selector. Parsed JSON has no prototype-inherited data, so a plain property read is
 * enough, except for names that Object.prototype itself has (`constructor`, `__proto__`, …), which
 * must be own properties; functions never occur in JSON and count as missing.
 */
function stepFor(k: PathPart): (o: unknown) => unknown {
  if (typeof k === 'number') return (o) => (Array.isArray(o) ? (o as unknown[])[k] : undefined)
  if (k in Object.prototype)
    return (o) =>
      o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, k)
        ? (o as Record<string, unknown>)[k]
        : undefined
  return (o) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined
    const v = (o as Record<string, unknown>)[k]
    return typeof v === 'function' ? undefined : v
  }
}

function getter(path: PathPart[]): Getter {
  const steps = path.map(stepFor)
  if (steps.length === 1) return steps[0]!
  if (steps.length === 2) {
    const [a, b] = steps as [(o: unknown) => unknown, (o: unknown) => unknown]
    return (r) => {
      const x = a(r)
      return x === undefined ? undefined : b(x)
    }
  }
  return (r) => {
    let o: unknown = r
    for (const st of steps) {
      o = st(o)
      if (o === undefined) return undefined
    }
    return o
  }
}

/** `$.p = "a" || $.p = "b" || …` (exact strings, same selector): flattened to one set lookup. */
function orOfEqualities(e: JsonExpr): { path: PathPart[]; values: Set<string> } | undefined {
  const leaves: JsonExpr[] = []
  const flatten = (x: JsonExpr): void => {
    if (x.kind === 'or') {
      flatten(x.left)
      flatten(x.right)
    } else leaves.push(x)
  }
  flatten(e)
  let path: PathPart[] | undefined
  const values = new Set<string>()
  for (const l of leaves) {
    if (l.kind !== 'cmp' || l.op !== '=' || l.value.kind !== 'string') return undefined
    const t = l.value.text
    if (t.startsWith('*') || t.endsWith('*')) return undefined
    if (path && selectorText(path) !== selectorText(l.path)) return undefined
    path = l.path
    values.add(t)
  }
  return path && leaves.length > 1 ? { path, values } : undefined
}

const isValueNode = (v: unknown): v is string | number | boolean | null =>
  v === null || (v !== undefined && typeof v !== 'object')

function compileJson(e: JsonExpr): (root: Obj) => boolean {
  switch (e.kind) {
    case 'and': {
      const l = compileJson(e.left)
      const r = compileJson(e.right)
      return (o) => l(o) && r(o)
    }
    case 'or': {
      const set = orOfEqualities(e)
      if (set) {
        const get = getter(set.path)
        const values = set.values
        return (o) => {
          const v = get(o)
          if (typeof v === 'string') return values.has(v)
          return (typeof v === 'number' || typeof v === 'boolean') && values.has(String(v))
        }
      }
      const l = compileJson(e.left)
      const r = compileJson(e.right)
      return (o) => l(o) || r(o)
    }
    case 'notExists': {
      const get = getter(e.path)
      return (o) => get(o) === undefined
    }
    case 'isNull': {
      const get = getter(e.path)
      return (o) => get(o) === null
    }
    case 'isBool': {
      const get = getter(e.path)
      const want = e.value
      return (o) => get(o) === want
    }
    case 'cmp': {
      const get = getter(e.path)
      const test = leaf(e.op, e.value)
      return (o) => {
        const v = get(o)
        return isValueNode(v) && test(v)
      }
    }
  }
}

/**
 * Exact string values that a matching event must have at some selectors: for each selector text
 * (`$.eventName`), the allowed values. `a && b` keeps the pins of both sides (intersecting values
 * on a common selector); `a || b` keeps the selectors pinned on both sides (uniting values).
 */
export function pinsOf(e: JsonExpr): Map<string, Set<string>> {
  switch (e.kind) {
    case 'cmp': {
      if (e.op !== '=' || e.value.kind !== 'string') return new Map()
      const t = e.value.text
      if (t.startsWith('*') || t.endsWith('*')) return new Map()
      return new Map([[selectorText(e.path), new Set([t])]])
    }
    case 'and': {
      const l = pinsOf(e.left)
      for (const [k, v] of pinsOf(e.right)) {
        const cur = l.get(k)
        l.set(k, cur ? new Set([...cur].filter((x) => v.has(x))) : v)
      }
      return l
    }
    case 'or': {
      const l = pinsOf(e.left)
      const r = pinsOf(e.right)
      const out = new Map<string, Set<string>>()
      for (const [k, v] of l) {
        const w = r.get(k)
        if (w) out.set(k, new Set([...v, ...w]))
      }
      return out
    }
    default:
      return new Map()
  }
}

export function selectorText(path: PathPart[]): string {
  return '$' + path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('')
}
