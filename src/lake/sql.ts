/**
 * @module lake/sql
 * CloudTrail Lake SQL → sandboxed DuckDB SQL. Three steps:
 * 1. `bindStoreNames`: event data store IDs (UUIDs, bare or double-quoted) and ARNs outside string
 *    literals become internal table names `eds_<32 hex>` (an ID and its table name are both 36
 *    characters; ARNs are padded with spaces, so parser positions still point into the user's text).
 * 2. DuckDB's own parser (`json_serialize_sql`) gives the AST. It serialises SELECT statements only,
 *    so anything else (ATTACH, COPY, PRAGMA, SET, INSTALL, CREATE, ...) is refused here.
 * 3. `checkAst` walks every node: exactly one statement; table references only to store tables or
 *    CTEs (no schema or catalog, no table functions); functions only from an allow-list (Trino
 *    names are rewritten to DuckDB's). `json_deserialize_sql` turns the checked AST back into SQL.
 * The executing DuckDB instance is locked down as well (lake/engine.ts): no file or network access,
 * configuration locked, bounded memory and threads, no extension auto-loading.
 */
import { ServiceError, awsError } from '../shared/errors.js'

export const InvalidQueryStatementException = awsError('InvalidQueryStatementException')

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
const ARN = `arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\\d{12}:eventdatastore/(${UUID})`
const STORE_REF = new RegExp(`"?(?:${ARN}|(${UUID}))"?`, 'g')

/** The internal DuckDB table of a store ID. */
export const tableOf = (storeId: string): string => 'eds_' + storeId.replace(/-/g, '').toLowerCase()

export interface BoundStatement {
  sql: string
  /** Internal table names referenced, by the store ID the user wrote (ID or ARN). */
  refs: Map<string, { id: string; arn?: string }>
}

/** Replaces store IDs/ARNs outside string literals with internal table names, keeping positions. */
export function bindStoreNames(statement: string): BoundStatement {
  const refs = new Map<string, { id: string; arn?: string }>()
  let out = ''
  // Split into string literals ('...' with '' escapes) and everything else.
  const parts = statement.split(/('(?:[^']|'')*'?)/)
  for (const part of parts) {
    if (part.startsWith("'")) {
      out += part
      continue
    }
    out += part.replace(STORE_REF, (m, arnId: string | undefined, bareId: string | undefined) => {
      const id = (arnId ?? bareId)!.toLowerCase()
      const table = tableOf(id)
      refs.set(table, { id, ...(arnId ? { arn: m.replace(/"/g, '') } : {}) })
      return table.padEnd(m.length, ' ')
    })
  }
  return { sql: out, refs }
}

/** Functions a query may call, by the name DuckDB's parser gives them (lower case). */
const ALLOWED_FUNCTIONS = new Set(
  [
    // aggregates
    'count',
    'count_star',
    'sum',
    'min',
    'max',
    'avg',
    'approx_count_distinct',
    'arbitrary',
    'any_value',
    'array_agg',
    'list',
    'bool_and',
    'bool_or',
    'stddev',
    'stddev_samp',
    'stddev_pop',
    'variance',
    'var_samp',
    'var_pop',
    'median',
    'approx_quantile',
    'min_by',
    'max_by',
    'string_agg',
    // window
    'row_number',
    'rank',
    'dense_rank',
    'percent_rank',
    'cume_dist',
    'ntile',
    'lag',
    'lead',
    'first_value',
    'last_value',
    'nth_value',
    // operators the parser turns into functions
    '~~',
    '!~~',
    '~~*',
    '!~~*',
    '+',
    '-',
    '*',
    '/',
    '%',
    '//',
    '||',
    '^',
    '**',
    'like_escape',
    'not_like_escape',
    'ilike_escape',
    'not_ilike_escape',
    'list_value',
    'map',
    'struct_pack',
    'row',
    'array_extract',
    'list_extract',
    'struct_extract',
    'array_slice',
    'list_slice',
    // strings
    'lower',
    'upper',
    'length',
    'strlen',
    'substr',
    'substring',
    'concat',
    'concat_ws',
    'trim',
    'ltrim',
    'rtrim',
    'replace',
    'split_part',
    'strpos',
    'position',
    'starts_with',
    'ends_with',
    'contains',
    'reverse',
    'lpad',
    'rpad',
    'regexp_matches',
    'regexp_extract',
    'regexp_replace',
    'regexp_full_match',
    'regexp_like',
    'string_split',
    'split',
    'left',
    'right',
    'repeat',
    'format',
    'printf',
    'md5',
    'sha256',
    'levenshtein',
    'like',
    'ilike',
    'chr',
    'ascii',
    // dates
    'date_trunc',
    'date_part',
    'extract',
    'date_diff',
    'datediff',
    'date_add',
    'date_sub',
    'now',
    'current_timestamp',
    'current_date',
    'get_current_timestamp',
    'to_timestamp',
    'epoch',
    'epoch_ms',
    'strftime',
    'strptime',
    'year',
    'month',
    'day',
    'hour',
    'minute',
    'second',
    'dayofweek',
    'dayofyear',
    'week',
    'quarter',
    'make_date',
    'make_timestamp',
    'to_days',
    'to_hours',
    'to_minutes',
    'to_seconds',
    'to_milliseconds',
    'to_weeks',
    'to_months',
    'to_quarters',
    'to_years',
    'timezone',
    'last_day',
    'age',
    // JSON
    'json_extract',
    'json_extract_string',
    'json_extract_path',
    'json_extract_path_text',
    'json_value',
    'json_exists',
    'json_array_length',
    'json_keys',
    'json_valid',
    'json_type',
    'to_json',
    'json',
    'json_contains',
    'json_structure',
    // maps, lists, structs
    'map_extract',
    'map_extract_value',
    'map_keys',
    'map_values',
    'map_contains',
    'cardinality',
    'element_at',
    'array_length',
    'len',
    'list_contains',
    'array_contains',
    'array_has',
    'list_has',
    'list_distinct',
    'array_distinct',
    'unnest',
    'flatten',
    'array_to_string',
    'array_join',
    'list_aggregate',
    'list_transform',
    'list_filter',
    'array_transform',
    'array_filter',
    // misc
    'coalesce',
    'nullif',
    'ifnull',
    'greatest',
    'least',
    'abs',
    'round',
    'floor',
    'ceil',
    'ceiling',
    'ln',
    'log',
    'log10',
    'log2',
    'power',
    'pow',
    'sqrt',
    'sign',
    'typeof',
    'try_cast',
    'if',
    'hash',
    'isnan',
    'isinf',
    'trunc',
    'mod',
    'row_to_json',
    'format_bytes',
  ].flat(),
)

/** Presto/Trino names that DuckDB spells differently. */
const RENAMED: Record<string, string> = {
  json_extract_scalar: 'json_extract_string',
  json_array_get: 'json_extract',
  json_size: 'json_array_length',
  json_format: 'to_json',
  json_parse: 'json',
  strpos: 'strpos',
  length: 'length',
  from_unixtime: 'to_timestamp',
  to_unixtime: 'epoch',
  approx_distinct: 'approx_count_distinct',
  array_join: 'array_to_string',
  regexp_like: 'regexp_matches',
  day_of_week: 'dayofweek',
  dow: 'dayofweek',
  day_of_year: 'dayofyear',
  doy: 'dayofyear',
  cardinality: 'len',
}

type Node = Record<string, unknown>

/** Trino date_add units → the DuckDB function making that interval. */
const INTERVAL_OF: Record<string, string> = {
  millisecond: 'to_milliseconds',
  second: 'to_seconds',
  minute: 'to_minutes',
  hour: 'to_hours',
  day: 'to_days',
  week: 'to_weeks',
  month: 'to_months',
  quarter: 'to_quarters',
  year: 'to_years',
}

function functionNode(name: string, children: Node[]): Node {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    query_location: 0,
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: false,
    export_state: false,
    catalog: '',
  }
}

function constantString(n: Node | undefined): string | undefined {
  if (!n || n['class'] !== 'CONSTANT') return undefined
  const value = n['value'] as { type?: { id?: string }; value?: unknown } | undefined
  return value?.type?.id === 'VARCHAR' && typeof value.value === 'string' ? value.value : undefined
}
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v)

const refuse = (msg: string) => InvalidQueryStatementException(msg)

const TABLE_REF_TYPES = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'EMPTY', 'EXPRESSION_LIST'])
const REFUSED_CLASSES = new Set(['PARAMETER', 'DEFAULT', 'LAMBDA_REF'])

/**
 * Checks and rewrites a parsed statement in place. `isStoreTable` says whether an internal table
 * name is a store the caller may read. Returns the store tables used.
 */
export function checkAst(parsed: Node, isStoreTable: (table: string) => boolean): Set<string> {
  const statements = parsed['statements']
  if (!Array.isArray(statements) || statements.length !== 1) {
    throw refuse('Exactly one SELECT statement is allowed.')
  }
  const ctes = new Set<string>()
  const used = new Set<string>()
  const collectCtes = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(collectCtes)
    if (!isNode(v)) return
    const map = v['cte_map']
    if (isNode(map) && Array.isArray(map['map'])) {
      for (const e of map['map'] as Node[]) ctes.add(String(e['key']).toLowerCase())
    }
    for (const child of Object.values(v)) collectCtes(child)
  }
  collectCtes(statements)

  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk)
    if (!isNode(v)) return
    const type = typeof v['type'] === 'string' ? v['type'] : ''
    const cls = typeof v['class'] === 'string' ? v['class'] : undefined
    if (
      'table_name' in v ||
      type === 'TABLE_FUNCTION' ||
      (cls === undefined && 'sample' in v && 'alias' in v && 'query_location' in v)
    ) {
      // a table reference
      if (!TABLE_REF_TYPES.has(type))
        throw refuse(
          `Only event data stores can be queried (${type.toLowerCase()} is not allowed).`,
        )
      if (type === 'BASE_TABLE') {
        const table = String(v['table_name']).toLowerCase()
        if (v['schema_name'] || v['catalog_name']) {
          throw refuse(
            `Only event data stores can be queried; ${String(v['table_name'])} is not one.`,
          )
        }
        if (v['at_clause']) throw refuse('AT clauses are not supported.')
        if (/^eds_[0-9a-f]{32}$/.test(table) && isStoreTable(table)) {
          used.add(table)
        } else if (!ctes.has(table) || table.startsWith('eds_') || table.startsWith('lake_')) {
          throw refuse(
            `Only event data stores can be queried; ${String(v['table_name'])} is not one.`,
          )
        }
      }
    }
    if (cls !== undefined && REFUSED_CLASSES.has(cls)) {
      throw refuse(`${cls.toLowerCase()} expressions are not allowed.`)
    }
    if ('function_name' in v) {
      let name = String(v['function_name']).toLowerCase()
      const schema = typeof v['schema'] === 'string' ? v['schema'] : ''
      const catalog = typeof v['catalog'] === 'string' ? v['catalog'] : ''
      if (
        catalog !== '' ||
        (schema !== '' && !(schema === 'main' && (name === 'map' || name === 'list_value')))
      ) {
        throw refuse(`Function ${schema}.${name} is not allowed.`)
      }
      if (name === 'element_at' && Array.isArray(v['children']) && v['children'].length === 2) {
        // Trino element_at(map, key) returns the value; DuckDB's returns a list. m[k] is the value.
        const children = v['children'] as unknown[]
        const alias = v['alias'] ?? ''
        for (const k of Object.keys(v)) delete v[k]
        Object.assign(v, {
          class: 'OPERATOR',
          type: 'ARRAY_EXTRACT',
          alias,
          query_location: 0,
          children,
        })
        walk(children)
        return
      }
      const children = Array.isArray(v['children']) ? (v['children'] as Node[]) : []
      const unit = constantString(children[0])
      if (name === 'date_add' && children.length === 3 && unit !== undefined) {
        // Trino date_add(unit, n, t) = t + to_<unit>s(n).
        const fn = INTERVAL_OF[unit.toLowerCase()]
        if (!fn) throw refuse(`date_add: unknown unit '${unit}'.`)
        const alias = v['alias'] ?? ''
        for (const k of Object.keys(v)) delete v[k]
        Object.assign(v, functionNode('+', [children[2]!, functionNode(fn, [children[1]!])]), {
          alias,
          is_operator: true,
        })
        walk(v['children'])
        return
      }
      if (
        (name === 'from_iso8601_timestamp' || name === 'from_iso8601_date') &&
        children.length === 1
      ) {
        // Trino's ISO 8601 parsers are casts here.
        const alias = v['alias'] ?? ''
        for (const k of Object.keys(v)) delete v[k]
        Object.assign(v, {
          class: 'CAST',
          type: 'OPERATOR_CAST',
          alias,
          query_location: 0,
          child: children[0],
          cast_type: {
            id: name === 'from_iso8601_date' ? 'DATE' : 'TIMESTAMP WITH TIME ZONE',
            type_info: null,
          },
          try_cast: false,
        })
        walk(children)
        return
      }
      const renamed = RENAMED[name]
      if (renamed !== undefined) {
        name = renamed
        v['function_name'] = renamed
      }
      if (!ALLOWED_FUNCTIONS.has(String(v['function_name']).toLowerCase())) {
        throw refuse(`Function ${name} is not supported.`)
      }
    }
    for (const [k, child] of Object.entries(v)) {
      if (k === 'cte_map') {
        const map = isNode(child) ? child['map'] : undefined
        if (Array.isArray(map)) for (const e of map as Node[]) walk(e['value'])
        continue
      }
      walk(child)
    }
  }
  walk(statements)
  return used
}

/** The position (1-based character) in a parser error, if any. */
export function parserError(parsed: Node): ServiceError | undefined {
  if (parsed['error'] !== true) return undefined
  const msg =
    typeof parsed['error_message'] === 'string' ? parsed['error_message'] : 'invalid statement'
  if (parsed['error_type'] === 'not implemented') {
    return refuse('Only SELECT statements are allowed.')
  }
  const pos = parsed['position'] !== undefined ? Number(parsed['position']) : undefined
  const where = pos !== undefined && Number.isFinite(pos) ? ` at position ${pos + 1}` : ''
  return refuse(
    `Query statement has a syntax error${where}: ${msg.replace(/eds_([0-9a-f]{32})/g, (_m, h: string) => h.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'))}`,
  )
}
