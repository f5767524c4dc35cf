/**
 * @module rules/pattern
 * EventBridge event patterns: parse and validate a pattern (InvalidEventPatternException naming the
 * path), compile it to a matcher, and match events. Operators: exact values (strings, numbers,
 * booleans, null), prefix, suffix (both also with equals-ignore-case), equals-ignore-case, wildcard,
 * anything-but (values, or prefix / suffix / equals-ignore-case / wildcard), numeric ranges, cidr
 * (IPv4 and IPv6), exists, and `$or`. An array in the event matches when any element matches; a
 * nested pattern over an array of objects must be satisfied by one element as a whole.
 */
import { BlockList, isIP } from 'node:net'
import { ServiceError } from '../shared/errors.js'

export const InvalidEventPatternException = (reason: string) =>
  new ServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`)

type Leaf = string | number | boolean | null
type LeafTest = (v: Leaf) => boolean

/** One field's list of alternatives. `exists` tests are kept apart: they look at presence. */
interface FieldMatcher {
  tests: LeafTest[]
  /** `{"exists": true}` present; `{"exists": false}` present. */
  existsTrue: boolean
  existsFalse: boolean
  /** Literal strings, for the rule index. `undefined` when any alternative is not a literal string. */
  literals?: string[]
  /** Lower-cased strings when every alternative is a string or equals-ignore-case (for the index). */
  lowerLiterals?: string[]
}

interface ObjectMatcher {
  fields: { key: string; leaf?: FieldMatcher; nested?: ObjectMatcher }[]
  or: ObjectMatcher[][]
}

export interface CompiledPattern {
  readonly source: string
  matches(event: unknown): boolean
  /**
   * Paths (dot-joined) whose every alternative is a literal string, with those strings, for
   * indexing: an event can match only if its value at the path is one of them.
   */
  readonly exactKeys: { path: string; values: string[]; ignoreCase?: boolean }[]
}

const MAX_NUMERIC = 5e9
const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'cidr',
  'exists',
])

export function compilePattern(text: string): CompiledPattern {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw InvalidEventPatternException(`Filter is not valid JSON: ${(e as Error).message}`)
  }
  if (!isObject(parsed)) throw InvalidEventPatternException('Filter is not an object')
  const root = compileObject(parsed, '')
  const exactKeys: { path: string; values: string[]; ignoreCase?: boolean }[] = []
  collectExact(root, '', exactKeys)
  return {
    source: text,
    matches: (event) => matchObject(root, event),
    exactKeys,
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key
}

function compileObject(obj: Record<string, unknown>, path: string): ObjectMatcher {
  const m: ObjectMatcher = { fields: [], or: [] }
  const keys = Object.keys(obj)
  if (keys.length === 0 && path)
    throw InvalidEventPatternException(`Empty objects are not allowed at ${path}`)
  for (const key of keys) {
    const v = obj[key]
    const at = join(path, key)
    if (key === '$or') {
      if (!Array.isArray(v) || v.length < 2 || !v.every(isObject)) {
        throw InvalidEventPatternException(
          `"$or" at ${at || 'the top level'} needs an array of at least 2 objects`,
        )
      }
      m.or.push(v.map((alt) => compileObject(alt, path)))
    } else if (Array.isArray(v)) {
      m.fields.push({ key, leaf: compileField(v, at) })
    } else if (isObject(v)) {
      m.fields.push({ key, nested: compileObject(v, at) })
    } else {
      throw InvalidEventPatternException(
        `Match value must be String, number, true, false, or null at ${at}; values go in an array`,
      )
    }
  }
  return m
}

function compileField(alts: unknown[], at: string): FieldMatcher {
  const fm: FieldMatcher = {
    tests: [],
    existsTrue: false,
    existsFalse: false,
    literals: [],
    lowerLiterals: [],
  }
  if (alts.length === 0) throw InvalidEventPatternException(`Empty arrays are not allowed at ${at}`)
  for (const alt of alts) {
    if (
      alt === null ||
      typeof alt === 'string' ||
      typeof alt === 'number' ||
      typeof alt === 'boolean'
    ) {
      fm.tests.push(exactTest(alt))
      if (typeof alt === 'string') {
        fm.literals?.push(alt)
        fm.lowerLiterals?.push(alt.toLowerCase())
      } else fm.literals = fm.lowerLiterals = undefined
      continue
    }
    fm.literals = undefined
    const eic = (alt as Record<string, unknown>)['equals-ignore-case']
    if (typeof eic === 'string' && Object.keys(alt as object).length === 1) {
      fm.lowerLiterals?.push(eic.toLowerCase())
    } else fm.lowerLiterals = undefined
    if (Array.isArray(alt))
      throw InvalidEventPatternException(`Nested arrays are not allowed at ${at}`)
    const obj = alt as Record<string, unknown>
    const ops = Object.keys(obj)
    if (ops.length !== 1) {
      throw InvalidEventPatternException(
        `A match expression must have exactly one operator at ${at}`,
      )
    }
    const op = ops[0]!
    if (!OPERATORS.has(op))
      throw InvalidEventPatternException(`Unrecognized match type ${op} at ${at}`)
    const arg = obj[op]
    if (op === 'exists') {
      if (typeof arg !== 'boolean')
        throw InvalidEventPatternException(
          `exists match pattern must be either true or false at ${at}`,
        )
      if (arg) fm.existsTrue = true
      else fm.existsFalse = true
      continue
    }
    fm.tests.push(compileOperator(op, arg, at))
  }
  return fm
}

function exactTest(lit: Leaf): LeafTest {
  if (typeof lit === 'number') return (v) => typeof v === 'number' && v === lit
  return (v) => v === lit
}

function needString(op: string, arg: unknown, at: string): string {
  if (typeof arg !== 'string')
    throw InvalidEventPatternException(`${op} match pattern must be a string at ${at}`)
  return arg
}

/** prefix / suffix / equals-ignore-case / wildcard, each as a string test. */
function stringOperator(op: string, arg: unknown, at: string): (s: string) => boolean {
  switch (op) {
    case 'prefix':
    case 'suffix': {
      let ignoreCase = false
      let s: string
      if (isObject(arg)) {
        const keys = Object.keys(arg)
        if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
          throw InvalidEventPatternException(`Unsupported ${op} pattern at ${at}`)
        }
        s = needString(op, arg['equals-ignore-case'], at)
        ignoreCase = true
      } else s = needString(op, arg, at)
      if (ignoreCase) {
        const low = s.toLowerCase()
        return op === 'prefix'
          ? (v) => v.toLowerCase().startsWith(low)
          : (v) => v.toLowerCase().endsWith(low)
      }
      return op === 'prefix' ? (v) => v.startsWith(s) : (v) => v.endsWith(s)
    }
    case 'equals-ignore-case': {
      const low = needString(op, arg, at).toLowerCase()
      return (v) => v.toLowerCase() === low
    }
    case 'wildcard': {
      const re = wildcardRegExp(needString(op, arg, at), at)
      return (v) => re.test(v)
    }
    default:
      throw InvalidEventPatternException(`Unsupported match type ${op} at ${at}`)
  }
}

/** `*` matches any run of characters; `\*` is a literal star, `\\` a backslash. `**` is refused. */
export function wildcardRegExp(p: string, at: string): RegExp {
  let re = '^'
  let prevStar = false
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c === '\\') {
      const n = p[i + 1]
      if (n !== '*' && n !== '\\') {
        throw InvalidEventPatternException(`Invalid escape in wildcard pattern at ${at}`)
      }
      re += '\\' + n
      i++
      prevStar = false
    } else if (c === '*') {
      if (prevStar) throw InvalidEventPatternException(`Consecutive wildcard characters at ${at}`)
      re += '[\\s\\S]*'
      prevStar = true
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
      prevStar = false
    }
  }
  return new RegExp(re + '$', 's')
}

function compileOperator(op: string, arg: unknown, at: string): LeafTest {
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
    case 'wildcard': {
      const t = stringOperator(op, arg, at)
      return (v) => typeof v === 'string' && t(v)
    }
    case 'anything-but':
      return anythingBut(arg, at)
    case 'numeric':
      return numeric(arg, at)
    case 'cidr':
      return cidr(arg, at)
    default:
      throw InvalidEventPatternException(`Unrecognized match type ${op} at ${at}`)
  }
}

function anythingBut(arg: unknown, at: string): LeafTest {
  if (typeof arg === 'string' || typeof arg === 'number') {
    return (v) => v !== null && typeof v !== 'boolean' && v !== arg
  }
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw InvalidEventPatternException(`anything-but list is empty at ${at}`)
    const allStrings = arg.every((x) => typeof x === 'string')
    const allNumbers = arg.every((x) => typeof x === 'number')
    if (!allStrings && !allNumbers) {
      throw InvalidEventPatternException(
        `Inside anything-but list, mixed types are not allowed at ${at}`,
      )
    }
    const set = new Set<unknown>(arg)
    return (v) => v !== null && typeof v !== 'boolean' && !set.has(v)
  }
  if (isObject(arg)) {
    const keys = Object.keys(arg)
    if (keys.length !== 1)
      throw InvalidEventPatternException(`anything-but takes one operator at ${at}`)
    const op = keys[0]!
    const inner = arg[op]
    if (op === 'equals-ignore-case' && Array.isArray(inner)) {
      if (inner.length === 0 || !inner.every((x) => typeof x === 'string')) {
        throw InvalidEventPatternException(
          `anything-but equals-ignore-case list must hold strings at ${at}`,
        )
      }
      const low = new Set(inner.map((s: string) => s.toLowerCase()))
      return (v) => typeof v === 'string' && !low.has(v.toLowerCase())
    }
    if (op === 'prefix' || op === 'suffix' || op === 'equals-ignore-case' || op === 'wildcard') {
      if (typeof inner !== 'string') {
        throw InvalidEventPatternException(`anything-but ${op} must be a string at ${at}`)
      }
      const t = stringOperator(op, inner, at)
      return (v) => typeof v === 'string' && !t(v)
    }
    throw InvalidEventPatternException(`Unsupported anything-but pattern: ${op} at ${at}`)
  }
  throw InvalidEventPatternException(
    `Value of anything-but must be an array or single string/number value at ${at}`,
  )
}

function numeric(arg: unknown, at: string): LeafTest {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw InvalidEventPatternException(`Value of numeric must be an array of 2 or 4 items at ${at}`)
  }
  const tests: ((n: number) => boolean)[] = []
  let lower = false
  let upper = false
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i] as unknown
    const n = arg[i + 1] as unknown
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw InvalidEventPatternException(`Value of ${String(op)} must be a number at ${at}`)
    }
    if (n < -MAX_NUMERIC || n > MAX_NUMERIC) {
      throw InvalidEventPatternException(`Value ${n} is out of range [-5.0E9, 5.0E9] at ${at}`)
    }
    switch (op) {
      case '=':
        if (arg.length !== 2) throw InvalidEventPatternException(`"=" cannot be combined at ${at}`)
        tests.push((x) => x === n)
        break
      case '>':
      case '>=':
        if (lower) throw InvalidEventPatternException(`Two lower bounds in numeric at ${at}`)
        lower = true
        tests.push(op === '>' ? (x) => x > n : (x) => x >= n)
        break
      case '<':
      case '<=':
        if (upper) throw InvalidEventPatternException(`Two upper bounds in numeric at ${at}`)
        upper = true
        tests.push(op === '<' ? (x) => x < n : (x) => x <= n)
        break
      default:
        throw InvalidEventPatternException(
          `Unrecognized numeric range operator: ${String(op)} at ${at}`,
        )
    }
  }
  if (tests.length === 2 && !(lower && upper)) {
    throw InvalidEventPatternException(`A numeric range needs a lower and an upper bound at ${at}`)
  }
  return (v) => typeof v === 'number' && tests.every((t) => t(v))
}

/** A dotted quad as an unsigned 32-bit number, or -1. */
function ipv4(s: string): number {
  let n = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return -1
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + part
      part = 0
      digits = 0
      dots++
    } else return -1
  }
  if (dots !== 3 || digits === 0) return -1
  return n * 256 + part
}

function cidr(arg: unknown, at: string): LeafTest {
  const s = needString('cidr', arg, at)
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s)
  const family = m ? isIP(m[1]!) : 0
  const bits = m ? Number(m[2]) : -1
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw InvalidEventPatternException(`Nonstandard IP address: ${s} at ${at}`)
  }
  if (family === 4) {
    const size = 2 ** (32 - bits)
    const base = Math.floor(ipv4(m[1]!) / size) * size
    return (v) => {
      if (typeof v !== 'string') return false
      const n = ipv4(v)
      return n >= base && n < base + size
    }
  }
  const list = new BlockList()
  list.addSubnet(m[1]!, bits, 'ipv6')
  return (v) => typeof v === 'string' && isIP(v) === 6 && list.check(v, 'ipv6')
}

// --- matching ---------------------------------------------------------------

// Hot path: no closures here. An arrow capturing a parameter makes V8 allocate a context on
// every call, which dominated matching time.
function matchObject(m: ObjectMatcher, value: unknown): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (matchObject(m, value[i])) return true
    return false
  }
  const obj = isObject(value) ? value : undefined
  const fields = m.fields
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!
    const v = obj ? obj[f.key] : undefined
    if (f.leaf) {
      if (!matchLeaf(f.leaf, v)) return false
    } else if (f.nested) {
      if (!matchNested(f.nested, v)) return false
    }
  }
  for (let i = 0; i < m.or.length; i++) if (!anyOf(m.or[i]!, value)) return false
  return true
}

function anyOf(alts: ObjectMatcher[], value: unknown): boolean {
  for (let i = 0; i < alts.length; i++) if (matchObject(alts[i]!, value)) return true
  return false
}

/** A nested pattern on a missing or leaf value matches only if it is satisfied by "absent" fields. */
function matchNested(m: ObjectMatcher, v: unknown): boolean {
  if (v === undefined || !(isObject(v) || Array.isArray(v))) return matchObject(m, undefined)
  return matchObject(m, v)
}

function isLeaf(v: unknown): v is Leaf {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
}

function anyTest(tests: LeafTest[], v: Leaf): boolean {
  for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true
  return false
}

function matchLeaf(f: FieldMatcher, v: unknown): boolean {
  if (v === undefined) return f.existsFalse
  if (Array.isArray(v)) {
    let leaves = 0
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i]
      if (!isLeaf(x)) continue
      leaves++
      if (f.existsTrue || anyTest(f.tests, x)) return true
    }
    return leaves === 0 ? f.existsFalse : false
  }
  if (!isLeaf(v)) return f.existsFalse // an object is no leaf: it "does not exist"
  if (f.existsTrue) return true
  return anyTest(f.tests, v)
}

function collectExact(
  m: ObjectMatcher,
  path: string,
  out: { path: string; values: string[]; ignoreCase?: boolean }[],
): void {
  for (const f of m.fields) {
    const at = join(path, f.key)
    const leaf = f.leaf
    if (leaf && !leaf.existsFalse && !leaf.existsTrue) {
      if (leaf.literals && leaf.literals.length > 0) out.push({ path: at, values: leaf.literals })
      else if (leaf.lowerLiterals && leaf.lowerLiterals.length > 0)
        out.push({ path: at, values: leaf.lowerLiterals, ignoreCase: true })
    } else if (f.nested) collectExact(f.nested, at, out)
  }
}

/** The value at a dot-joined path, following objects only (arrays stop an index lookup). */
export function valueAt(event: unknown, path: string): unknown {
  let v: unknown = event
  for (const k of path.split('.')) {
    if (!isObject(v)) return undefined
    v = v[k]
  }
  return v
}
