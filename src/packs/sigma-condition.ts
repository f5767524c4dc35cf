/**
 * @module packs/sigma-condition
 * The shared shapes of the Sigma converter (an `Atom` is one field constraint, an `Expr` a boolean
 * formula over atoms, `Unsupported` the reason a rule does not convert) and Sigma's condition
 * language: `and`, `or`, `not`, parentheses, `1 of` / `any of` / `all of` a name pattern or
 * `them`, parsed over the rule's selections and brought to disjunctive normal form (at most
 * `MAX_TERMS` terms).
 */

/** One field constraint: `field` matches any of `values` under `op`, or (neg) matches none. */
export interface Atom {
  field: string
  op: 'eq' | 'prefix' | 'suffix' | 'wildcard' | 'exists' | 'cidr' | 'null'
  values: (string | number | boolean)[]
  neg: boolean
}

export type Expr =
  | { t: 'atom'; atom: Atom }
  | { t: 'and'; xs: Expr[] }
  | { t: 'or'; xs: Expr[] }
  | { t: 'not'; x: Expr }
  | { t: 'true' }

export class Unsupported extends Error {}

export const MAX_TERMS = 64

export function parseCondition(text: string, selections: Map<string, Expr>): Expr {
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
export function dnf(e: Expr, neg = false): Atom[][] {
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
