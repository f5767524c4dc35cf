/**
 * @module packs/sigma-pattern
 * One DNF term (atoms ANDed) to an EventBridge pattern object on `detail`: atoms are grouped by
 * field, positive exact sets narrow each other, negated sets become `anything-but` (or
 * `exists: false` for an absent field), dotted field names nest. A term that cannot match gives
 * null; combinations patterns cannot say are `Unsupported`.
 */
import { type Atom, Unsupported } from './sigma-condition.js'

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

export function termPattern(term: Atom[]): Record<string, unknown> | null {
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
