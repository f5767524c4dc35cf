/**
 * @module monitoring/filter-pattern/delimited
 * Space-delimited filter patterns (`[ip, user, ..., status = 4*]`): the message is split on
 * spaces, text in "…" or […] is one field (enclosing characters removed), `...` skips any number of
 * fields (the first assignment whose conditions hold wins); the field count must otherwise match.
 */
import type { DelimitedField, FieldExpr } from './ast.js'
import { leaf } from './values.js'

/** Splits a message into fields: spaces separate, "…" and […] enclose one field each. */
export function splitFields(message: string): string[] {
  const out: string[] = []
  const n = message.length
  let i = 0
  while (i < n) {
    const c = message[i]!
    if (c === ' ' || c === '\t') {
      i++
      continue
    }
    const close = c === '"' ? '"' : c === '[' ? ']' : undefined
    if (close) {
      const j = message.indexOf(close, i + 1)
      if (j >= 0) {
        out.push(message.slice(i + 1, j))
        i = j + 1
        continue
      }
    }
    let j = i
    while (j < n && message[j] !== ' ' && message[j] !== '\t') j++
    out.push(message.slice(i, j))
    i = j
  }
  return out
}

function compileField(e: FieldExpr, indexOf: Map<string, number>): (vals: string[]) => boolean {
  switch (e.kind) {
    case 'and': {
      const l = compileField(e.left, indexOf)
      const r = compileField(e.right, indexOf)
      return (v) => l(v) && r(v)
    }
    case 'or': {
      const l = compileField(e.left, indexOf)
      const r = compileField(e.right, indexOf)
      return (v) => l(v) || r(v)
    }
    case 'cmp': {
      const at = /^\$\d+$/.test(e.field) ? Number(e.field.slice(1)) - 1 : indexOf.get(e.field)!
      const test = leaf(e.op, e.value)
      return (v) => {
        const x = v[at]
        return x !== undefined && test(x)
      }
    }
  }
}

export function compileDelimited(
  fields: DelimitedField[],
): (message: string) => Map<string, string> | undefined {
  const named = fields.filter((f) => !f.ellipsis)
  const indexOf = new Map(named.map((f, i) => [f.name!, i]))
  const conditions = named
    .filter((f) => f.condition)
    .map((f) => compileField(f.condition!, indexOf))
  const hasEllipsis = fields.some((f) => f.ellipsis)
  return (message) => {
    const tokens = splitFields(message)
    const bound: string[] = []
    if (!hasEllipsis && tokens.length !== named.length) return undefined
    // Backtracking over ellipses: the first assignment whose conditions hold.
    let found: Map<string, string> | undefined
    const tryAll = (fi: number, ti: number): boolean => {
      if (fi === fields.length) {
        if (ti !== tokens.length) return false
        for (const c of conditions) if (!c(bound)) return false
        found = new Map(named.map((f, i) => [f.name!, bound[i]!]))
        return true
      }
      const f = fields[fi]!
      if (f.ellipsis) {
        for (let k = ti; k <= tokens.length; k++) if (tryAll(fi + 1, k)) return true
        return false
      }
      if (ti >= tokens.length) return false
      bound.push(tokens[ti]!)
      if (tryAll(fi + 1, ti + 1)) return true
      bound.pop()
      return false
    }
    tryAll(0, 0)
    return found
  }
}
