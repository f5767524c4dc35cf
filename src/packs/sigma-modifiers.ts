/**
 * @module packs/sigma-modifiers
 * A Sigma selection to an expression: maps of fields (ANDed) and lists of maps (ORed), value lists
 * (ORed, or ANDed with `|all`), and each value under its modifier (`contains`, `startswith`,
 * `endswith`, `exists`, `cidr`, `re` when the regex is in effect a literal, prefix, suffix or
 * wildcard) or its `*` wildcards, as the narrowest atom. What has no atom is `Unsupported`.
 */
import { type Atom, type Expr, Unsupported } from './sigma-condition.js'

export function selectionExpr(name: string, body: unknown): Expr {
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
  if (parts.length === 2 && parts[1] === '' && parts[0] !== '') {
    return { field, op: 'prefix', values: [parts[0]!], neg: false }
  }
  if (parts.length === 2 && parts[0] === '' && parts[1] !== '') {
    return { field, op: 'suffix', values: [parts[1]!], neg: false }
  }
  if (parts.every((p) => p === '')) return { field, op: 'exists', values: [true], neg: false }
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
