/**
 * Property tests: random JSON patterns (rendered to text) against random events, compiled closures vs
 * a small, independent evaluator written from the semantics in compile.ts's module comment.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { compilePattern, MessageInput, ObjectInput } from './compile.js'

type Leafish = string | number | boolean | null
type Path = (string | number)[]
type Ref =
  | { k: 'and' | 'or'; l: Ref; r: Ref }
  | { k: 'cmp'; path: Path; op: string; v: RefValue }
  | { k: 'null' | 'true' | 'false' | 'missing'; path: Path }
type RefValue =
  { t: 'str'; s: string; quoted: boolean } | { t: 'num'; n: number; text: string } | { t: 'any' }

const STRINGS = ['x', 'xy', 'yx', 'abc', '1', '2.5', '-3', 'a b', 'x*y']
const leafArb: fc.Arbitrary<Leafish> = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.constantFrom(-3, 0, 1, 2.5, 10),
  fc.boolean(),
  fc.constant(null),
)
const nodeArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: leafArb },
  { weight: 1, arbitrary: fc.record({ a: leafArb, b: leafArb }, { requiredKeys: ['a'] }) },
  { weight: 1, arbitrary: fc.array(leafArb, { maxLength: 3 }) },
)
const eventArb = fc.record({ a: nodeArb, b: nodeArb, c: nodeArb }, { requiredKeys: [] })

const pathArb: fc.Arbitrary<Path> = fc.constantFrom<Path>(
  ['a'],
  ['b'],
  ['c'],
  ['a', 'a'],
  ['b', 'b'],
  ['c', 0],
  ['a', 1],
)
const valueArb: fc.Arbitrary<RefValue> = fc.oneof(
  fc.record({
    t: fc.constant('str' as const),
    s: fc.constantFrom('x', 'xy', 'abc', 'x*', '*y', '*b*', 'a b', 'x*y', 'true'),
    quoted: fc.boolean(),
  }),
  fc.constantFrom<RefValue>(
    { t: 'num', n: 1, text: '1' },
    { t: 'num', n: 2.5, text: '2.5' },
    { t: 'num', n: -3, text: '-3' },
    { t: 'num', n: 0, text: '0e0' },
    { t: 'num', n: 10, text: '+10' },
  ),
  fc.constant<RefValue>({ t: 'any' }),
)
const cmpArb: fc.Arbitrary<Ref> = fc
  .tuple(pathArb, fc.constantFrom('=', '!=', '<', '<=', '>', '>='), valueArb)
  .map(([path, op, v]): Ref => {
    if (op !== '=' && op !== '!=' && v.t !== 'num') return { k: 'cmp', path, op: '=', v }
    return { k: 'cmp', path, op, v }
  })
const unaryArb: fc.Arbitrary<Ref> = fc.oneof(
  { weight: 4, arbitrary: cmpArb },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('null', 'true', 'false', 'missing') as fc.Arbitrary<'null'>, pathArb)
      .map(([k, path]): Ref => ({ k, path })),
  },
)
const exprArb: fc.Arbitrary<Ref> = fc.letrec<{ e: Ref }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    unaryArb,
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('e'), r: tie('e') }),
  ),
})).e

function renderPath(p: Path): string {
  return '$' + p.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('')
}

function render(e: Ref): string {
  switch (e.k) {
    case 'and':
      return `(${render(e.l)}) && (${render(e.r)})`
    case 'or':
      return `(${render(e.l)}) || (${render(e.r)})`
    case 'null':
      return `${renderPath(e.path)} IS NULL`
    case 'true':
      return `${renderPath(e.path)} IS TRUE`
    case 'false':
      return `${renderPath(e.path)} IS FALSE`
    case 'missing':
      return `${renderPath(e.path)} NOT EXISTS`
    case 'cmp': {
      const v = e.v
      const text =
        v.t === 'any'
          ? '*'
          : v.t === 'num'
            ? v.text
            : v.quoted || /[^A-Za-z0-9*]/.test(v.s) || v.s === '*'
              ? JSON.stringify(v.s)
              : v.s
      return `${renderPath(e.path)} ${e.op} ${text}`
    }
  }
}

// ---- the reference evaluator (independent of compile.ts) -----------------------------------

function lookup(root: unknown, path: Path): { found: boolean; v?: unknown } {
  let cur: unknown = root
  for (const p of path) {
    if (typeof p === 'number') {
      if (!Array.isArray(cur) || p >= cur.length) return { found: false }
      cur = cur[p]
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return { found: false }
      if (!(p in (cur as object))) return { found: false }
      cur = (cur as Record<string, unknown>)[p]
    }
  }
  return { found: true, v: cur }
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v.trim() !== '' && /^[+-]?[\d.]+(e[+-]?\d+)?$/i.test(v)) {
    const n = Number(v)
    return Number.isNaN(n) ? undefined : n
  }
  return undefined
}

function strEq(actual: string, pattern: string): boolean {
  if (pattern === '*') return true
  const lead = pattern[0] === '*'
  const trail = pattern.length > 1 && pattern[pattern.length - 1] === '*'
  let core = pattern
  if (lead) core = core.substring(1)
  if (trail) core = core.substring(0, core.length - 1)
  if (lead && trail) return actual.indexOf(core) !== -1
  if (lead)
    return actual.length >= core.length && actual.substring(actual.length - core.length) === core
  if (trail) return actual.substring(0, core.length) === core
  return actual === core
}

function refEval(e: Ref, root: unknown): boolean {
  switch (e.k) {
    case 'and':
      return refEval(e.l, root) && refEval(e.r, root)
    case 'or':
      return refEval(e.l, root) || refEval(e.r, root)
    case 'missing':
      return !lookup(root, e.path).found
    case 'null': {
      const r = lookup(root, e.path)
      return r.found && r.v === null
    }
    case 'true':
    case 'false': {
      const r = lookup(root, e.path)
      return r.found && r.v === (e.k === 'true')
    }
    case 'cmp': {
      const r = lookup(root, e.path)
      if (!r.found) return false
      const v = r.v
      if (v !== null && typeof v === 'object') return false
      let eq: boolean
      if (e.v.t === 'any') {
        if (e.op === '!=') return false
        return v !== null
      }
      if (e.v.t === 'num') {
        const n = asNumber(v)
        if (e.op === '<') return n !== undefined && n < e.v.n
        if (e.op === '<=') return n !== undefined && n <= e.v.n
        if (e.op === '>') return n !== undefined && n > e.v.n
        if (e.op === '>=') return n !== undefined && n >= e.v.n
        eq = n !== undefined && n === e.v.n
      } else {
        eq = v !== null && strEq(String(v as Leafish), e.v.s)
      }
      return e.op === '!=' ? !eq : eq
    }
  }
}

describe('JSON filter patterns: compiled closures agree with the reference evaluator', () => {
  it('on random patterns and events', () => {
    fc.assert(
      fc.property(exprArb, eventArb, (expr, event) => {
        const text = `{ ${render(expr)} }`
        const p = compilePattern(text)
        const want = refEval(expr, event)
        assert.equal(p.test(new ObjectInput(event)), want, text)
        assert.equal(p.test(new MessageInput(JSON.stringify(event))), want, text)
      }),
      { numRuns: 3000 },
    )
  })

  it('chains of equalities on one selector (compiled to a set lookup)', () => {
    const eqArb = fc
      .tuple(
        pathArb,
        fc.array(fc.constantFrom('x', 'xy', 'abc', '1', '2.5', 'true', 'null', 'a b'), {
          minLength: 2,
          maxLength: 5,
        }),
      )
      .map(([path, vals]): Ref => {
        let e: Ref = { k: 'cmp', path, op: '=', v: { t: 'str', s: vals[0]!, quoted: true } }
        for (const v of vals.slice(1))
          e = { k: 'or', l: e, r: { k: 'cmp', path, op: '=', v: { t: 'str', s: v, quoted: true } } }
        return e
      })
    fc.assert(
      fc.property(eqArb, eventArb, (expr, ev) => {
        const text = `{ ${render(expr)} }`
        assert.equal(compilePattern(text).test(new ObjectInput(ev)), refEval(expr, ev), text)
      }),
      { numRuns: 1000 },
    )
  })

  it('parenthesis-free rendering keeps && above ||', () => {
    fc.assert(
      fc.property(fc.array(cmpArb, { minLength: 3, maxLength: 3 }), eventArb, ([a, b, c], ev) => {
        const text = `{ ${render(a!)} || ${render(b!)} && ${render(c!)} }`
        const want = refEval(a!, ev) || (refEval(b!, ev) && refEval(c!, ev))
        assert.equal(compilePattern(text).test(new ObjectInput(ev)), want, text)
      }),
      { numRuns: 1000 },
    )
  })
})
