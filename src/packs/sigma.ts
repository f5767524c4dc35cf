/**
 * @module packs/sigma
 * Sigma rules (SigmaHQ YAML) for CloudTrail → EventBridge event patterns.
 *
 * Supported: `logsource` product aws / service cloudtrail; detection maps (fields ANDed) and lists
 * of maps (ORed); value lists (ORed, or ANDed with `|all`); modifiers `contains`, `startswith`,
 * `endswith`, `all`, `exists`, `cidr`, and `re` when the expression is a plain anchored literal,
 * `.*` runs, or a top-level alternation of such (anything else in a regex is reported); `*`
 * wildcards in values; `null`; conditions with `and`, `or`, `not`, parentheses, `1 of` / `any of`
 * / `all of` a name pattern or `them`, and condition lists.
 *
 * A condition is brought to disjunctive normal form; each term becomes one pattern object on
 * `detail` (several terms go under `$or`). A negated value set becomes `anything-but` (or
 * `exists: false` for an absent field, as Sigma counts it "not matching"). What patterns cannot
 * say (two different operators ANDed on one field, negated sets of prefixes, aggregations,
 * keyword searches, `?` wildcards, other modifiers) is reported per rule; that rule is not loaded.
 *
 * Matching is case-sensitive (Sigma's default is case-insensitive): exact for CloudTrail's
 * canonical names (eventSource, eventName, errorCode), which is what CloudTrail rules test.
 */
import { parse as parseYaml } from 'yaml'

export interface SigmaConversion {
  id: string
  title: string
  level?: string
  description?: string
  /** The event pattern (JSON text), when the rule converts. */
  pattern?: string
  /** Why it does not convert (empty when it does). */
  unsupported: string[]
}

/** One field constraint: `field` matches any of `values` under `op`, or (neg) matches none. */
interface Atom {
  field: string
  op: 'eq' | 'prefix' | 'suffix' | 'wildcard' | 'exists' | 'cidr' | 'null'
  values: (string | number | boolean)[]
  neg: boolean
}

type Expr =
  | { t: 'atom'; atom: Atom }
  | { t: 'and'; xs: Expr[] }
  | { t: 'or'; xs: Expr[] }
  | { t: 'not'; x: Expr }
  | { t: 'true' }

class Unsupported extends Error {}

const MAX_TERMS = 64

export function convertSigma(text: string, fallbackId = 'sigma-rule'): SigmaConversion {
  let doc: Record<string, unknown>
  try {
    doc = parseYaml(text) as Record<string, unknown>
  } catch (e) {
    return { id: fallbackId, title: fallbackId, unsupported: [`YAML: ${(e as Error).message}`] }
  }
  if (!doc || typeof doc !== 'object') {
    return { id: fallbackId, title: fallbackId, unsupported: ['not a Sigma rule (no mapping)'] }
  }
  const id = typeof doc['id'] === 'string' ? doc['id'] : fallbackId
  const title = typeof doc['title'] === 'string' ? doc['title'] : id
  const out: SigmaConversion = {
    id,
    title,
    ...(typeof doc['level'] === 'string' ? { level: doc['level'] } : {}),
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    unsupported: [],
  }
  const logsource = (doc['logsource'] ?? {}) as Record<string, unknown>
  if (logsource['product'] !== 'aws' || (logsource['service'] ?? 'cloudtrail') !== 'cloudtrail') {
    out.unsupported.push(
      `logsource ${JSON.stringify(logsource)} is not product: aws, service: cloudtrail`,
    )
    return out
  }
  const detection = doc['detection'] as Record<string, unknown> | undefined
  if (!detection || typeof detection !== 'object') {
    out.unsupported.push('no detection')
    return out
  }
  try {
    if (detection['timeframe'] !== undefined) throw new Unsupported('timeframe (aggregation)')
    const selections = new Map<string, Expr>()
    for (const [name, body] of Object.entries(detection)) {
      if (name === 'condition' || name === 'timeframe') continue
      selections.set(name, selectionExpr(name, body))
    }
    const cond = detection['condition']
    const conditions = Array.isArray(cond) ? cond : [cond]
    if (conditions.length === 0 || !conditions.every((c) => typeof c === 'string')) {
      throw new Unsupported('condition must be a string or a list of strings')
    }
    const expr: Expr = {
      t: 'or',
      xs: conditions.map((c) => parseCondition(c, selections)),
    }
    const terms = dnf(expr)
    const patterns = terms.map(termPattern).filter((p): p is Record<string, unknown> => p !== null)
    if (patterns.length === 0) throw new Unsupported('the condition can never match')
    const pattern =
      patterns.length === 1
        ? { detail: patterns[0] }
        : { $or: patterns.map((p) => ({ detail: p })) }
    out.pattern = JSON.stringify(pattern)
  } catch (e) {
    if (e instanceof Unsupported) out.unsupported.push(e.message)
    else throw e
  }
  return out
}

// --- selections --------------------------------------------------------------

function selectionExpr(name: string, body: unknown): Expr {
  if (Array.isArray(body)) {
    if (body.every((b) => b !== null && typeof b === 'object' && !Array.isArray(b))) {
      return { t: 'or', xs: body.map((b) => mapExpr(name, b as Record<string, unknown>)) }
    }
    throw new Unsupported(
      `selection ${name}: keyword lists (values without a field) are not supported`,
    )
  }
  if (body !== null && typeof body === 'object')
    return mapExpr(name, body as Record<string, unknown>)
  throw new Unsupported(`selection ${name}: keyword search is not supported`)
}

function mapExpr(name: string, map: Record<string, unknown>): Expr {
  const xs: Expr[] = []
  for (const [key, raw] of Object.entries(map)) {
    const [field, ...mods] = key.split('|')
    if (!field) throw new Unsupported(`selection ${name}: empty field name`)
    const all = mods.includes('all')
    const ops = mods.filter((m) => m !== 'all')
    if (ops.length > 1) throw new Unsupported(`selection ${name}: modifier chain ${mods.join('|')}`)
    const mod = ops[0]
    const values = Array.isArray(raw) ? raw : [raw]
    if (values.length === 0)
      throw new Unsupported(`selection ${name}: empty value list for ${field}`)
    const atoms: Atom[] = values.map((v) => valueAtom(name, field, mod, v))
    if (all) xs.push({ t: 'and', xs: atoms.map((atom) => ({ t: 'atom', atom })) })
    else xs.push({ t: 'or', xs: mergeAlternatives(atoms).map((atom) => ({ t: 'atom', atom })) })
  }
  return xs.length === 1 ? xs[0]! : { t: 'and', xs }
}

/** ORed atoms of one field with the same operator become one atom with several values. */
function mergeAlternatives(atoms: Atom[]): Atom[] {
  const out: Atom[] = []
  for (const a of atoms) {
    const same = out.find((o) => o.op === a.op && o.op !== 'exists' && o.op !== 'null')
    if (same) same.values = [...same.values, ...a.values]
    else out.push({ ...a, values: [...a.values] })
  }
  return out
}

const escapeWildcard = (s: string) => s.replace(/\\/g, '\\\\').replace(/\*/g, '\\*')

/** A Sigma value with `*` wildcards (`\*` literal) → the narrowest operator. */
function plainValueAtom(field: string, s: string): Atom {
  if (/(^|[^\\])\?/.test(s)) throw new Unsupported(`value ${JSON.stringify(s)}: '?' wildcards`)
  const unescaped = s.replace(/\\\?/g, '?')
  // Split on unescaped stars.
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < unescaped.length; i++) {
    const c = unescaped[i]!
    if (c === '\\' && (unescaped[i + 1] === '*' || unescaped[i + 1] === '\\')) {
      cur += unescaped[i + 1]
      i++
    } else if (c === '*') {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  parts.push(cur)
  if (parts.length === 1) return { field, op: 'eq', values: [parts[0]!], neg: false }
  const inner = parts.slice(1, -1)
  if (parts.length === 2 && parts[1] === '' && parts[0] !== '') {
    return { field, op: 'prefix', values: [parts[0]!], neg: false }
  }
  if (parts.length === 2 && parts[0] === '' && parts[1] !== '') {
    return { field, op: 'suffix', values: [parts[1]!], neg: false }
  }
  if (parts.every((p) => p === '')) return { field, op: 'exists', values: [true], neg: false }
  void inner
  // Collapse empty middle parts (consecutive stars) into one wildcard.
  const wildcard = parts
    .map(escapeWildcard)
    .join('*')
    .replace(/\*{2,}/g, '*')
  return { field, op: 'wildcard', values: [wildcard], neg: false }
}

function valueAtom(sel: string, field: string, mod: string | undefined, v: unknown): Atom {
  if (v === null) {
    if (mod) throw new Unsupported(`selection ${sel}: null with modifier ${mod}`)
    return { field, op: 'null', values: [], neg: false }
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    if (mod === 'exists' && typeof v === 'boolean')
      return { field, op: 'exists', values: [v], neg: false }
    if (mod) throw new Unsupported(`selection ${sel}: modifier ${mod} on a non-string value`)
    return { field, op: 'eq', values: [v], neg: false }
  }
  if (typeof v !== 'string')
    throw new Unsupported(`selection ${sel}: value of ${field} is not a scalar`)
  switch (mod) {
    case undefined:
      return plainValueAtom(field, v)
    case 'contains':
      return { field, op: 'wildcard', values: [`*${escapeWildcard(v)}*`], neg: false }
    case 'startswith':
      return { field, op: 'prefix', values: [v], neg: false }
    case 'endswith':
      return { field, op: 'suffix', values: [v], neg: false }
    case 'cidr':
      return { field, op: 'cidr', values: [v], neg: false }
    case 're':
      return regexAtom(sel, field, v)
    default:
      throw new Unsupported(`selection ${sel}: modifier ${mod} is not supported`)
  }
}

/**
 * `|re` when the regex is, in effect, a literal, prefix, suffix or wildcard: `^lit$`, `^lit`,
 * `lit$`, `lit` (a substring search), `.*` runs, escaped metacharacters, and a top-level `a|b`.
 */
function regexAtom(sel: string, field: string, re: string): Atom {
  const flags = /^\(\?i\)/.test(re)
  if (flags) throw new Unsupported(`selection ${sel}: regex flags (?i) are not supported`)
  const alts = splitTopLevel(re)
  const atoms = alts.map((a) => regexAltAtom(sel, field, a))
  const op = atoms[0]!.op
  if (!atoms.every((a) => a.op === op)) {
    throw new Unsupported(`selection ${sel}: regex ${re} mixes match kinds across alternatives`)
  }
  return { field, op, values: atoms.flatMap((a) => a.values), neg: false }
}

function splitTopLevel(re: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!
    if (c === '\\') {
      cur += c + (re[i + 1] ?? '')
      i++
    } else if (c === '|') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

function regexAltAtom(sel: string, field: string, alt: string): Atom {
  const start = alt.startsWith('^')
  const end = alt.endsWith('$') && !alt.endsWith('\\$')
  let body = alt.slice(start ? 1 : 0, end ? -1 : undefined)
  // Leading/trailing .* are the same as no anchor.
  let open0 = !start
  let open1 = !end
  if (body.startsWith('.*')) {
    body = body.slice(2)
    open0 = true
  }
  if (body.endsWith('.*') && !body.endsWith('\\.*')) {
    body = body.slice(0, -2)
    open1 = true
  }
  const parts: string[] = ['']
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (c === '\\') {
      const n = body[i + 1]
      if (n === undefined || /[A-Za-z0-9]/.test(n)) {
        throw new Unsupported(`selection ${sel}: regex class \\${n ?? ''} is not supported`)
      }
      parts[parts.length - 1] += n
      i++
    } else if (c === '.' && body[i + 1] === '*') {
      parts.push('')
      i++
    } else if ('.[](){}?+*|^$'.includes(c)) {
      throw new Unsupported(
        `selection ${sel}: regex /${alt}/ uses ${c}, which patterns cannot express`,
      )
    } else parts[parts.length - 1] += c
  }
  if (parts.length === 1 && !open0 && !open1)
    return { field, op: 'eq', values: [parts[0]!], neg: false }
  if (parts.length === 1 && !open0 && open1)
    return { field, op: 'prefix', values: [parts[0]!], neg: false }
  if (parts.length === 1 && open0 && !open1)
    return { field, op: 'suffix', values: [parts[0]!], neg: false }
  const w = (open0 ? '*' : '') + parts.map(escapeWildcard).join('*') + (open1 ? '*' : '')
  return { field, op: 'wildcard', values: [w.replace(/\*{2,}/g, '*')], neg: false }
}

// --- condition ---------------------------------------------------------------

function parseCondition(text: string, selections: Map<string, Expr>): Expr {
  if (/\|/.test(text))
    throw new Unsupported(`condition "${text}": aggregations (| count() ...) are not supported`)
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? []
  let i = 0
  const peek = () => tokens[i]?.toLowerCase()
  const expectName = () => {
    const t = tokens[i++]
    if (t === undefined) throw new Unsupported(`condition "${text}": unexpected end`)
    return t
  }
  const named = (pat: string): Expr[] => {
    const names =
      pat === 'them'
        ? [...selections.keys()].filter((n) => !n.startsWith('_'))
        : [...selections.keys()].filter((n) =>
            new RegExp(
              '^' + pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$',
            ).test(n),
          )
    if (names.length === 0) throw new Unsupported(`condition "${text}": nothing matches ${pat}`)
    return names.map((n) => selections.get(n)!)
  }
  const factor = (): Expr => {
    const t = peek()
    if (t === 'not') {
      i++
      return { t: 'not', x: factor() }
    }
    if (t === '(') {
      i++
      const e = orExpr()
      if (tokens[i++] !== ')') throw new Unsupported(`condition "${text}": missing )`)
      return e
    }
    if (t === '1' || t === 'any' || t === 'all') {
      i++
      if (peek() !== 'of') throw new Unsupported(`condition "${text}": expected "of" after ${t}`)
      i++
      const xs = named(expectName())
      return t === 'all' ? { t: 'and', xs } : { t: 'or', xs }
    }
    const name = expectName()
    const sel = selections.get(name)
    if (!sel) throw new Unsupported(`condition "${text}": unknown selection ${name}`)
    return sel
  }
  const andExpr = (): Expr => {
    const xs = [factor()]
    while (peek() === 'and') {
      i++
      xs.push(factor())
    }
    return xs.length === 1 ? xs[0]! : { t: 'and', xs }
  }
  const orExpr = (): Expr => {
    const xs = [andExpr()]
    while (peek() === 'or') {
      i++
      xs.push(andExpr())
    }
    return xs.length === 1 ? xs[0]! : { t: 'or', xs }
  }
  const e = orExpr()
  if (i < tokens.length) throw new Unsupported(`condition "${text}": unexpected ${tokens[i]}`)
  return e
}

/** Negation pushed to atoms, then distributed: a list of terms, each a list of atoms. */
function dnf(e: Expr, neg = false): Atom[][] {
  switch (e.t) {
    case 'true':
      return neg ? [] : [[]]
    case 'atom':
      return [[neg ? { ...e.atom, neg: !e.atom.neg } : e.atom]]
    case 'not':
      return dnf(e.x, !neg)
    case 'and':
    case 'or': {
      const isAnd = (e.t === 'and') !== neg
      const parts = e.xs.map((x) => dnf(x, neg))
      if (!isAnd) return parts.flat()
      let acc: Atom[][] = [[]]
      for (const p of parts) {
        const next: Atom[][] = []
        for (const a of acc) for (const b of p) next.push([...a, ...b])
        if (next.length > MAX_TERMS)
          throw new Unsupported(`condition expands to more than ${MAX_TERMS} alternatives`)
        acc = next
      }
      return acc
    }
  }
}

// --- term → pattern ----------------------------------------------------------

function staticTest(a: Atom, v: string | number | boolean): boolean {
  const s = String(v)
  switch (a.op) {
    case 'eq':
      return a.values.some((x) => x === v)
    case 'prefix':
      return a.values.some((x) => s.startsWith(String(x)))
    case 'suffix':
      return a.values.some((x) => s.endsWith(String(x)))
    case 'wildcard':
      return a.values.some((x) => wildcardToRegExp(String(x)).test(s))
    case 'exists':
      return a.values[0] === true
    default:
      throw new Unsupported(`cannot combine ${a.op} with a value list on ${a.field}`)
  }
}

function wildcardToRegExp(w: string): RegExp {
  let re = '^'
  for (let i = 0; i < w.length; i++) {
    const c = w[i]!
    if (c === '\\') {
      re += '\\' + (w[i + 1] ?? '\\')
      i++
    } else if (c === '*') re += '[\\s\\S]*'
    else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
  }
  return new RegExp(re + '$')
}

/** The matcher list for one field from its atoms (ANDed), or null when the term cannot match. */
function fieldMatchers(field: string, atoms: Atom[]): unknown[] | null {
  let pos = atoms.filter((a) => !a.neg)
  const neg = atoms.filter((a) => a.neg)
  // "exists" adds nothing next to another positive test of the same field.
  if (pos.length > 1) pos = pos.filter((a) => !(a.op === 'exists' && a.values[0] === true))
  if (pos.some((a) => a.op === 'exists' && a.values[0] === false) && pos.length > 1) return null
  // Positive exact sets narrow each other and drop values the other atoms exclude.
  const eqs = pos.filter((a) => a.op === 'eq')
  if (eqs.length > 0) {
    let values = eqs[0]!.values
    for (const a of eqs.slice(1)) values = values.filter((v) => a.values.includes(v))
    for (const a of pos.filter((x) => x.op !== 'eq'))
      values = values.filter((v) => staticTest(a, v))
    for (const a of neg) values = values.filter((v) => !staticTest(a, v))
    return values.length === 0 ? null : values
  }
  if (pos.length > 1) {
    throw new Unsupported(
      `field ${field}: ${pos.map((a) => a.op).join(' and ')} together cannot be expressed`,
    )
  }
  if (pos.length === 1) {
    if (neg.length > 0) {
      throw new Unsupported(
        `field ${field}: ${pos[0]!.op} and a negation together cannot be expressed`,
      )
    }
    return positive(pos[0]!)
  }
  // Only negations.
  if (neg.length > 1) {
    const allEq = neg.every((a) => a.op === 'eq')
    if (!allEq) throw new Unsupported(`field ${field}: several negations cannot be expressed`)
    return [{ 'anything-but': neg.flatMap((a) => a.values) }, { exists: false }]
  }
  return negative(neg[0]!)
}

function positive(a: Atom): unknown[] {
  switch (a.op) {
    case 'eq':
      return a.values
    case 'prefix':
      return a.values.map((v) => ({ prefix: v }))
    case 'suffix':
      return a.values.map((v) => ({ suffix: v }))
    case 'wildcard':
      return a.values.map((v) => ({ wildcard: v }))
    case 'cidr':
      return a.values.map((v) => ({ cidr: v }))
    case 'exists':
      return [{ exists: a.values[0] === true }]
    case 'null':
      return [null, { exists: false }]
  }
}

function negative(a: Atom): unknown[] {
  const absent = { exists: false }
  switch (a.op) {
    case 'eq': {
      const strings = a.values.every((v) => typeof v === 'string')
      const numbers = a.values.every((v) => typeof v === 'number')
      if (!strings && !numbers) throw new Unsupported(`field ${a.field}: negated mixed-type values`)
      return [{ 'anything-but': a.values }, absent]
    }
    case 'exists':
      return [{ exists: a.values[0] !== true }]
    case 'null':
      return [{ exists: true }]
    case 'prefix':
    case 'suffix':
    case 'wildcard':
      if (a.values.length !== 1) {
        throw new Unsupported(
          `field ${a.field}: negated list of ${a.op} values cannot be expressed`,
        )
      }
      return [{ 'anything-but': { [a.op]: a.values[0] } }, absent]
    case 'cidr':
      throw new Unsupported(`field ${a.field}: negated cidr cannot be expressed`)
  }
}

function termPattern(term: Atom[]): Record<string, unknown> | null {
  if (term.length === 0) throw new Unsupported('the condition matches every event')
  const byField = new Map<string, Atom[]>()
  for (const a of term) {
    let l = byField.get(a.field)
    if (!l) byField.set(a.field, (l = []))
    l.push(a)
  }
  const root: Record<string, unknown> = {}
  for (const [field, atoms] of byField) {
    const m = fieldMatchers(field, atoms)
    if (m === null) return null
    let node = root
    const path = field.split('.')
    for (const k of path.slice(0, -1)) {
      const next = node[k]
      if (next !== undefined && (typeof next !== 'object' || Array.isArray(next))) {
        throw new Unsupported(`field ${field} is both a value and an object`)
      }
      if (next === undefined) node[k] = {}
      node = node[k] as Record<string, unknown>
    }
    const leaf = path[path.length - 1]!
    if (node[leaf] !== undefined)
      throw new Unsupported(`field ${field} is both a value and an object`)
    node[leaf] = m
  }
  return root
}

/** A rule name for EventBridge (≤ 64 of `[.\-_A-Za-z0-9]`) from the rule's file name. */
export function sigmaRuleName(file: string): string {
  const base = file.replace(/^.*\//, '').replace(/\.ya?ml$/i, '')
  return ('sigma-' + base).replace(/[^.\-_A-Za-z0-9]/g, '_').slice(0, 64)
}
