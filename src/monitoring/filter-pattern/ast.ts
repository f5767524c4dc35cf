/**
 * @module monitoring/filter-pattern/ast
 * The syntax tree of a CloudWatch Logs filter pattern. Three pattern kinds share one value model:
 * term patterns (`ERROR ?WARN -DEBUG "a phrase" %re%`), JSON patterns (`{ $.a.b[0] = "x*" }`) and
 * space-delimited patterns (`[ip, user, ..., status = 4*, bytes > 1000]`).
 */

/** A right-hand value of a comparison. */
export type Value =
  | { kind: 'string'; text: string; quoted: boolean }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'any' }
  | { kind: 'regex'; source: string }

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>='

/** A JSON path: object keys and array indexes, from the root `$`. */
export type PathPart = string | number

export type JsonExpr =
  | { kind: 'and'; left: JsonExpr; right: JsonExpr }
  | { kind: 'or'; left: JsonExpr; right: JsonExpr }
  | { kind: 'cmp'; path: PathPart[]; op: ComparisonOp; value: Value }
  | { kind: 'isNull'; path: PathPart[] }
  | { kind: 'isBool'; path: PathPart[]; value: boolean }
  | { kind: 'notExists'; path: PathPart[] }

export type Term =
  | { kind: 'text'; text: string; mode: 'and' | 'or' | 'not' }
  | { kind: 'regex'; source: string; mode: 'and' | 'or' | 'not' }

/** A condition inside a space-delimited pattern; selectors name fields (`status`) or positions (`$3`). */
export type FieldExpr =
  | { kind: 'and'; left: FieldExpr; right: FieldExpr }
  | { kind: 'or'; left: FieldExpr; right: FieldExpr }
  | { kind: 'cmp'; field: string; op: ComparisonOp; value: Value }

export interface DelimitedField {
  /** `...` skips any number of fields. */
  ellipsis: boolean
  name?: string
  condition?: FieldExpr
}

export type Pattern =
  | { kind: 'all' }
  | { kind: 'terms'; terms: Term[] }
  | { kind: 'json'; expr: JsonExpr }
  | { kind: 'delimited'; fields: DelimitedField[] }
