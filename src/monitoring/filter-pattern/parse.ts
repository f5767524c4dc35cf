/**
 * @module monitoring/filter-pattern/parse
 * The one parser for CloudWatch Logs filter patterns (FilterLogEvents, metric filters, TestMetricFilter,
 * the CLI), over the tokens of lex.ts. Errors are InvalidParameterException naming the 1-based
 * character position.
 */
import { awsError } from '../../shared/errors.js'
import { Lexer, NUMBER, PatternError, type Tok } from './lex.js'
import type {
  ComparisonOp,
  DelimitedField,
  FieldExpr,
  JsonExpr,
  Pattern,
  Term,
  Value,
} from './ast.js'

export const InvalidParameterException = awsError('InvalidParameterException')

/** AWS limits a filter pattern to 1024 characters (and two regular expressions, lex.ts). */
export const MAX_PATTERN_LENGTH = 1024

class Parser {
  private tok: Tok
  private readonly lx: Lexer
  constructor(readonly src: string) {
    this.lx = new Lexer(src)
    this.tok = this.lx.next()
  }

  fail(pos: number, reason: string): never {
    throw new PatternError(pos + 1, reason)
  }

  private advance(): Tok {
    const t = this.tok
    this.tok = this.lx.next()
    return t
  }

  private describe(t: Tok): string {
    switch (t.t) {
      case 'end':
        return 'end of pattern'
      case 'punct':
      case 'word':
        return `'${t.v}'`
      case 'string':
        return `"${t.v}"`
      case 'regex':
        return `%${t.v}%`
      case 'selector':
        return `'${t.text}'`
    }
  }

  private expectPunct(v: string): void {
    if (this.tok.t !== 'punct' || this.tok.v !== v)
      this.fail(this.tok.pos, `expected '${v}' but found ${this.describe(this.tok)}`)
    this.advance()
  }

  private isPunct(v: string): boolean {
    return this.tok.t === 'punct' && this.tok.v === v
  }

  parseJson(): Pattern {
    this.expectPunct('{')
    const expr = this.orExpr()
    this.expectPunct('}')
    if (this.tok.t !== 'end')
      this.fail(this.tok.pos, `unexpected ${this.describe(this.tok)} after '}'`)
    return { kind: 'json', expr }
  }

  private orExpr(): JsonExpr {
    let left = this.andExpr()
    while (this.isPunct('||')) {
      this.advance()
      left = { kind: 'or', left, right: this.andExpr() }
    }
    return left
  }

  private andExpr(): JsonExpr {
    let left = this.unary()
    while (this.isPunct('&&')) {
      this.advance()
      left = { kind: 'and', left, right: this.unary() }
    }
    return left
  }

  private unary(): JsonExpr {
    if (this.isPunct('(')) {
      this.advance()
      const e = this.orExpr()
      this.expectPunct(')')
      return e
    }
    const sel = this.tok
    if (sel.t !== 'selector')
      this.fail(sel.pos, `expected a selector like $.field but found ${this.describe(sel)}`)
    if (sel.path.length === 0) this.fail(sel.pos, 'a selector needs a field after $ (like $.field)')
    this.advance()
    const path = sel.path
    const kw = this.keyword()
    if (kw === 'IS') {
      this.advance()
      const what = this.keyword()
      if (what === 'NULL' || what === 'TRUE' || what === 'FALSE') {
        this.advance()
        return what === 'NULL'
          ? { kind: 'isNull', path }
          : { kind: 'isBool', path, value: what === 'TRUE' }
      }
      this.fail(
        this.tok.pos,
        `expected NULL, TRUE or FALSE after IS but found ${this.describe(this.tok)}`,
      )
    }
    if (kw === 'NOT') {
      this.advance()
      if (this.keyword() !== 'EXISTS')
        this.fail(this.tok.pos, `expected EXISTS after NOT but found ${this.describe(this.tok)}`)
      this.advance()
      return { kind: 'notExists', path }
    }
    const op = this.operator()
    return { kind: 'cmp', path, op, value: this.value(op) }
  }

  private keyword(): string | undefined {
    return this.tok.t === 'word' ? this.tok.v.toUpperCase() : undefined
  }

  private operator(): ComparisonOp {
    const t = this.tok
    if (t.t === 'punct' && ['=', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      this.advance()
      return t.v as ComparisonOp
    }
    return this.fail(
      t.pos,
      `expected a comparison operator (=, !=, <, <=, >, >=), IS or NOT EXISTS but found ${this.describe(t)}`,
    )
  }

  private value(op: ComparisonOp): Value {
    const t = this.tok
    const numeric = op !== '=' && op !== '!='
    let v: Value
    if (t.t === 'string') v = { kind: 'string', text: t.v, quoted: true }
    else if (t.t === 'regex') v = { kind: 'regex', source: t.v }
    else if (t.t === 'word') {
      if (t.v === '*') v = { kind: 'any' }
      else if (NUMBER.test(t.v)) v = { kind: 'number', value: Number(t.v), text: t.v }
      else v = { kind: 'string', text: t.v, quoted: false }
    } else this.fail(t.pos, `expected a value but found ${this.describe(t)}`)
    if (numeric && v.kind !== 'number')
      this.fail(t.pos, `the operator ${op} needs a number but found ${this.describe(t)}`)
    this.advance()
    return v
  }

  parseDelimited(): Pattern {
    this.expectPunct('[')
    const fields: DelimitedField[] = []
    const names = new Set<string>()
    if (this.isPunct(']'))
      this.fail(this.tok.pos, 'a space-delimited pattern needs at least one field')
    for (;;) {
      fields.push(this.field(names))
      if (this.isPunct(',')) {
        this.advance()
        continue
      }
      this.expectPunct(']')
      break
    }
    if (this.tok.t !== 'end')
      this.fail(this.tok.pos, `unexpected ${this.describe(this.tok)} after ']'`)
    // Conditions may name any field of the pattern, or a position ($1…).
    const check = (e: FieldExpr | undefined): void => {
      if (!e) return
      if (e.kind === 'cmp') {
        if (!names.has(e.field) && !/^\$\d+$/.test(e.field))
          throw new PatternError(1, `the condition names an unknown field '${e.field}'`)
        return
      }
      check(e.left)
      check(e.right)
    }
    for (const f of fields) check(f.condition)
    return { kind: 'delimited', fields }
  }

  private field(names: Set<string>): DelimitedField {
    const t = this.tok
    if (t.t === 'word' && t.v === '...') {
      this.advance()
      return { ellipsis: true }
    }
    if (t.t !== 'word' || !/^[A-Za-z_][\w-]*$/.test(t.v))
      this.fail(t.pos, `expected a field name or ... but found ${this.describe(t)}`)
    const name = t.v
    // A field alone: `ip`. A field with conditions: `status = 4* && status != 403`.
    this.advance()
    if (this.isPunct(',') || this.isPunct(']')) {
      if (names.has(name)) this.fail(t.pos, `duplicate field name '${name}'`)
      names.add(name)
      return { ellipsis: false, name }
    }
    const first = this.fieldCmp(name)
    let cond = this.fieldRest(first)
    if (names.has(name)) this.fail(t.pos, `duplicate field name '${name}'`)
    names.add(name)
    cond = this.fieldOr(cond)
    return { ellipsis: false, name, condition: cond }
  }

  private fieldCmp(name: string): FieldExpr {
    const op = this.operator()
    return { kind: 'cmp', field: name, op, value: this.value(op) }
  }

  /** `a && b` inside one field, left to right; `||` handled by fieldOr for precedence. */
  private fieldRest(first: FieldExpr): FieldExpr {
    let left = first
    while (this.isPunct('&&')) {
      this.advance()
      left = { kind: 'and', left, right: this.fieldAtom() }
    }
    return left
  }

  private fieldOr(first: FieldExpr): FieldExpr {
    let left = first
    while (this.isPunct('||')) {
      this.advance()
      left = { kind: 'or', left, right: this.fieldRest(this.fieldAtom()) }
    }
    return left
  }

  private fieldAtom(): FieldExpr {
    if (this.isPunct('(')) {
      this.advance()
      const e = this.fieldOr(this.fieldRest(this.fieldAtom()))
      this.expectPunct(')')
      return e
    }
    const t = this.tok
    let name: string
    if (t.t === 'word' && /^[A-Za-z_][\w-]*$/.test(t.v)) name = t.v
    else if (t.t === 'word' && /^\$\d+$/.test(t.v)) name = t.v
    else this.fail(t.pos, `expected a field name but found ${this.describe(t)}`)
    this.advance()
    return this.fieldCmp(name)
  }

  parseTerms(): Pattern {
    const terms: Term[] = []
    for (;;) {
      const t = this.tok
      if (t.t === 'end') break
      let mode: Term['mode'] = 'and'
      let tok: Tok = t
      if (t.t === 'word' && (t.v.startsWith('?') || t.v.startsWith('-'))) {
        mode = t.v.startsWith('?') ? 'or' : 'not'
        const rest = t.v.slice(1)
        this.advance()
        if (rest !== '') {
          terms.push({ kind: 'text', text: rest, mode })
          continue
        }
        tok = this.tok
        if (tok.t !== 'word' && tok.t !== 'string' && tok.t !== 'regex')
          this.fail(tok.pos, `expected a term after '${t.v}' but found ${this.describe(tok)}`)
      }
      if (tok.t === 'string') terms.push({ kind: 'text', text: tok.v, mode })
      else if (tok.t === 'regex') terms.push({ kind: 'regex', source: tok.v, mode })
      else if (tok.t === 'word') terms.push({ kind: 'text', text: tok.v, mode })
      else
        this.fail(
          tok.pos,
          `unexpected ${this.describe(tok)} in a term pattern; quote terms that contain it`,
        )
      this.advance()
    }
    return { kind: 'terms', terms }
  }
}

/** Parses a filter pattern. Throws PatternError (use `parsePattern` for the AWS error). */
export function parsePatternOrThrow(source: string): Pattern {
  if (source.length > MAX_PATTERN_LENGTH)
    throw new PatternError(
      MAX_PATTERN_LENGTH + 1,
      `a filter pattern is at most ${MAX_PATTERN_LENGTH} characters`,
    )
  const trimmed = source.trim()
  if (trimmed === '' || trimmed === '""') return { kind: 'all' }
  const p = new Parser(source)
  if (trimmed.startsWith('{')) return p.parseJson()
  if (trimmed.startsWith('[')) return p.parseDelimited()
  return p.parseTerms()
}

/** Parses a filter pattern; bad input becomes InvalidParameterException naming the position. */
export function parsePattern(source: string): Pattern {
  try {
    return parsePatternOrThrow(source)
  } catch (e) {
    if (e instanceof PatternError) throw InvalidParameterException(e.message)
    throw e
  }
}
