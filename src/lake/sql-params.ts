/**
 * @module lake/sql-params
 * `?` placeholders in a Lake statement and the values bound to them (StartQuery's QueryParameters,
 * a dashboard widget's `$StartTime$`/`$EndTime$`/`$Period$`). A placeholder is either a bare `?`
 * in SQL code or a string literal that is exactly `'?'` (AWS's documented form for eventTime,
 * e.g. `eventTime > '?'`). Every value is bound as a SQL string literal, single quotes doubled, so
 * it can never end the literal and become SQL: `x' OR '1'='1` is compared as that text.
 *
 * The scanner follows DuckDB's lexer for everything that is not code: `'...'` strings (`''`
 * escapes, no backslash escapes), `E'...'` strings (backslash escapes too), `$tag$...$tag$`
 * strings, `"..."` identifiers, `--` comments and nested `/* *\/` comments. A `?` inside any of
 * them (other than the whole `'?'` literal) is text, not a placeholder.
 */
import { InvalidQueryStatementException } from './sql.js'

/** Where a placeholder is in a statement: `[start, end)` of the `?` or of the `'?'` literal. */
export interface Placeholder {
  start: number
  end: number
}

const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/

/** The placeholders of a statement, in order. */
export function placeholdersOf(sql: string): Placeholder[] {
  const out: Placeholder[] = []
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]!
    const prev = i > 0 ? sql[i - 1]! : ''
    if (c === "'") {
      const end = endOfQuoted(sql, i, "'", false)
      // `'?'` on its own (not the body of x'...', n'...', U&'...' and the like).
      if (sql.slice(i, end) === "'?'" && !IDENT.test(prev) && prev !== '&') {
        out.push({ start: i, end })
      }
      i = end
    } else if ((c === 'E' || c === 'e') && sql[i + 1] === "'" && !IDENT.test(prev)) {
      i = endOfQuoted(sql, i + 1, "'", true)
    } else if (c === '"') {
      i = endOfQuoted(sql, i, '"', false)
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i)
      i = nl < 0 ? n : nl + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++
          i += 2
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--
          i += 2
        } else i++
      }
    } else if (c === '$' && !IDENT.test(prev) && DOLLAR_TAG.test(sql.slice(i, i + 130))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 130))![0]
      const close = sql.indexOf(tag, i + tag.length)
      i = close < 0 ? n : close + tag.length
    } else if (c === '?') {
      out.push({ start: i, end: i + 1 })
      i++
    } else i++
  }
  return out
}

/** The index after a quoted run opened at `open` (the statement's end when it is unterminated). */
function endOfQuoted(sql: string, open: number, q: string, backslash: boolean): number {
  let i = open + 1
  while (i < sql.length) {
    const c = sql[i]!
    if (backslash && c === '\\') i += 2
    else if (c === q) {
      if (sql[i + 1] === q) i += 2
      else return i + 1
    } else i++
  }
  return sql.length
}

/** A value as a SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

/**
 * The statement with its placeholders replaced, in order, by `values` as string literals. The
 * number of placeholders must equal the number of values (InvalidQueryStatementException).
 */
export function bindParameters(statement: string, values: readonly string[]): string {
  const holes = placeholdersOf(statement)
  if (holes.length !== values.length) {
    throw InvalidQueryStatementException(
      `The query statement has ${holes.length} ? placeholder${holes.length === 1 ? '' : 's'} ` +
        `but ${values.length} query parameter${values.length === 1 ? ' was' : 's were'} given.`,
    )
  }
  for (const v of values) {
    if (v.includes('\0')) {
      throw InvalidQueryStatementException('A query parameter must not contain a NUL character.')
    }
  }
  let out = ''
  let at = 0
  holes.forEach((h, k) => {
    out += statement.slice(at, h.start) + sqlString(values[k]!)
    at = h.end
  })
  return out + statement.slice(at)
}
