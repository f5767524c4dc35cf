/**
 * @module monitoring/filter-pattern/lex
 * The tokens of a CloudWatch Logs filter pattern: punctuation, `$.…` selectors, quoted strings,
 * `%…%` regular expressions (AWS's allowed characters, at most two per pattern) and bare words,
 * with their 0-based positions; `PatternError` names the 1-based position of a bad one.
 */
import type { PathPart } from './ast.js'

/** AWS allows at most two regular expressions in a filter pattern. */
export const MAX_REGEX_PER_PATTERN = 2

/** A number as filter patterns write it. */
export const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** Characters allowed inside `%…%` besides letters and digits (AWS's published list, and space). */
const REGEX_ALLOWED = /^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+. ]*$/

export class PatternError extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(`Invalid filter pattern at position ${position}: ${reason}`)
  }
}

export type Tok =
  | { t: 'punct'; v: string; pos: number }
  | { t: 'selector'; path: PathPart[]; text: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'regex'; v: string; pos: number }
  | { t: 'word'; v: string; pos: number }
  | { t: 'end'; pos: number }

const PUNCT = ['&&', '||', '!=', '<=', '>=', '=', '<', '>', '(', ')', '{', '}', '[', ']', ',']
/** Characters that end a bare word. */
const WORD_END = new Set([...' \t\r\n(){}[],"=!<>&|'])

export class Lexer {
  private i = 0
  regexCount = 0
  constructor(private readonly s: string) {}

  fail(pos: number, reason: string): never {
    throw new PatternError(pos + 1, reason)
  }

  private skipSpace(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++
  }

  next(): Tok {
    this.skipSpace()
    const s = this.s
    const pos = this.i
    if (pos >= s.length) return { t: 'end', pos }
    const c = s[pos]!
    if (c === '"') return { t: 'string', v: this.quoted(), pos }
    if (c === '%') return { t: 'regex', v: this.regex(), pos }
    if (c === '$') return this.selector()
    for (const p of PUNCT) {
      if (s.startsWith(p, pos)) {
        this.i += p.length
        return { t: 'punct', v: p, pos }
      }
    }
    if (c === '!' || c === '&' || c === '|') this.fail(pos, `unexpected '${c}'`)
    let j = pos
    while (j < s.length && !WORD_END.has(s[j]!)) j++
    this.i = j
    return { t: 'word', v: s.slice(pos, j), pos }
  }

  private quoted(): string {
    const s = this.s
    const start = this.i
    let out = ''
    let j = start + 1
    for (;;) {
      if (j >= s.length) this.fail(start, 'unterminated quoted string')
      const ch = s[j]!
      if (ch === '\\' && j + 1 < s.length) {
        out += s[j + 1]
        j += 2
        continue
      }
      if (ch === '"') break
      out += ch
      j++
    }
    this.i = j + 1
    return out
  }

  private regex(): string {
    const s = this.s
    const start = this.i
    let j = start + 1
    while (j < s.length && s[j] !== '%') {
      if (s[j] === '\\') j++
      j++
    }
    if (j >= s.length) this.fail(start, 'unterminated regular expression (missing closing %)')
    const body = s.slice(start + 1, j)
    if (body === '') this.fail(start, 'empty regular expression')
    for (let k = 0; k < body.length; k++) {
      const ch = body[k]!
      if (ch === '(' || ch === ')')
        this.fail(start + 1 + k, `'${ch}': regular expressions cannot contain groups`)
      if (!REGEX_ALLOWED.test(ch))
        this.fail(start + 1 + k, `character '${ch}' is not allowed in a regular expression`)
    }
    try {
      new RegExp(body)
    } catch (e) {
      this.fail(start, `invalid regular expression: ${(e as Error).message}`)
    }
    this.regexCount++
    if (this.regexCount > MAX_REGEX_PER_PATTERN)
      this.fail(
        start,
        `a filter pattern can contain at most ${MAX_REGEX_PER_PATTERN} regular expressions`,
      )
    this.i = j + 1
    return body
  }

  private selector(): Tok {
    const s = this.s
    const pos = this.i
    let j = pos + 1
    const positional = /^\d+/.exec(s.slice(j))
    if (positional) {
      this.i = j + positional[0].length
      return { t: 'word', v: s.slice(pos, this.i), pos }
    }
    const path: PathPart[] = []
    for (;;) {
      if (s[j] === '.') {
        let k = j + 1
        while (k < s.length && !WORD_END.has(s[k]!) && s[k] !== '.' && s[k] !== '%') k++
        if (k === j + 1) this.fail(j, 'expected a property name after "."')
        path.push(s.slice(j + 1, k))
        j = k
      } else if (s[j] === '[') {
        const m = /^\[(\d+)\]/.exec(s.slice(j))
        if (!m) this.fail(j, 'expected an array index like [0]')
        path.push(Number(m[1]))
        j += m[0].length
      } else break
    }
    this.i = j
    return { t: 'selector', path, text: s.slice(pos, j), pos }
  }
}
