/**
 * @module lake/append
 * The Lake's columnar write path. Rows (the plain-object shape `lake/rows.ts` builds) are written
 * column by column into DuckDB data chunks of the table's own types (STRUCT, MAP, LIST, TIMESTAMP,
 * BOOLEAN, VARCHAR) and handed to DuckDB's appender on the caller's connection, so inside its open
 * transaction. No JSON text and no per-row cast: fixed-width data, list offsets and validity masks
 * are built in typed arrays and copied into the vectors in one call each; each string is one call.
 * Writers are compiled once per table from its column types.
 */
import {
  DuckDBDataChunk,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBStructType,
  type DuckDBType,
} from '@duckdb/node-api'
import duckdb, { type Vector } from '@duckdb/node-bindings'

type Obj = Record<string, unknown>

/** Rows per data chunk (DuckDB's standard vector size). */
const CHUNK_ROWS = 2048

/** Writes `values` (one per row, `undefined`/`null` for NULL) into rows `0..values.length` of `vector`. */
type ColumnWriter = (vector: Vector, values: readonly unknown[]) => void

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A time as microseconds since the epoch (UTC), what a DuckDB TIMESTAMP holds. ISO 8601 with
 * microsecond precision; an offset is applied, as DuckDB's cast of such a string does. Anything
 * else Date.parse reads is taken at millisecond precision; an unreadable value is null.
 */
export function timestampMicros(v: unknown): number | null {
  if (typeof v !== 'string') return null
  const m = ISO.exec(v)
  if (m) {
    const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
    if (Number.isNaN(ms)) return null
    let micros = ms * 1000
    if (m[7]) micros += +(m[7] + '00000').slice(0, 6)
    const z = m[8]
    if (z && z !== 'Z') {
      const minutes = +z.slice(1, 3) * 60 + +z.slice(-2)
      micros -= (z[0] === '-' ? -1 : 1) * minutes * 60_000_000
    }
    return micros
  }
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? null : ms * 1000
}

/** Sets the vector's validity from `nulls` (row indexes), if there are any. */
function setNulls(vector: Vector, rows: number, nulls: number[]): void {
  if (nulls.length === 0) return
  const mask = new Uint8Array(Math.ceil(rows / 64) * 8).fill(0xff)
  for (const r of nulls) mask[r >> 3]! &= ~(1 << (r & 7))
  duckdb.vector_ensure_validity_writable(vector)
  duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer, 0, mask.byteLength)
}

/**
 * VARCHAR: each distinct string of the chunk is copied into the vector once (one native call);
 * rows repeating it get a copy of its 16-byte string header, written with the other rows' headers
 * in one call (DuckDB's strings are headers pointing into the vector's own string heap).
 */
const writeVarchar: ColumnWriter = (vector, values) => {
  const n = values.length
  const nulls: number[] = []
  const first = new Map<string, number>()
  let repeats: number[] | undefined
  for (let r = 0; r < n; r++) {
    const v = values[r]
    if (typeof v !== 'string') {
      nulls.push(r)
      continue
    }
    const at = first.get(v)
    if (at === undefined) {
      first.set(v, r)
      duckdb.vector_assign_string_element(vector, r, v)
    } else (repeats ??= []).push(r, at)
  }
  if (repeats) {
    const headers = duckdb.vector_get_data(vector, n * 16)
    for (let i = 0; i < repeats.length; i += 2) {
      headers.copyWithin(repeats[i]! * 16, repeats[i + 1]! * 16, repeats[i + 1]! * 16 + 16)
    }
    duckdb.copy_data_to_vector(vector, 0, headers.buffer as ArrayBuffer, headers.byteOffset, n * 16)
  }
  setNulls(vector, n, nulls)
}

const writeBoolean: ColumnWriter = (vector, values) => {
  const data = new Uint8Array(values.length)
  const nulls: number[] = []
  for (let r = 0; r < values.length; r++) {
    const v = values[r]
    if (typeof v === 'boolean') data[r] = v ? 1 : 0
    else nulls.push(r)
  }
  duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, data.byteLength)
  setNulls(vector, values.length, nulls)
}

const writeTimestamp: ColumnWriter = (vector, values) => {
  const data = new BigInt64Array(values.length)
  const nulls: number[] = []
  for (let r = 0; r < values.length; r++) {
    const m = timestampMicros(values[r])
    if (m === null) nulls.push(r)
    else data[r] = BigInt(m)
  }
  duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, data.byteLength)
  setNulls(vector, values.length, nulls)
}

function structWriter(t: DuckDBStructType): ColumnWriter {
  const names = t.entryNames
  const children = t.entryTypes.map(writerOf)
  return (vector, values) => {
    const n = values.length
    const column: unknown[] = new Array(n)
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      for (let r = 0; r < n; r++) {
        const o = values[r]
        column[r] = typeof o === 'object' && o !== null ? (o as Obj)[name] : undefined
      }
      children[i]!(duckdb.struct_vector_get_child(vector, i), column)
    }
    const nulls: number[] = []
    for (let r = 0; r < n; r++)
      if (typeof values[r] !== 'object' || values[r] === null) nulls.push(r)
    setNulls(vector, n, nulls)
  }
}

/**
 * A LIST column (and MAP, a list of key/value structs): per-row offsets and lengths, the child
 * vector sized to all rows' items, then the items written as one child column.
 */
function listWriter(items: (v: unknown) => unknown[] | null, child: ColumnWriter): ColumnWriter {
  return (vector, values) => {
    const n = values.length
    // duckdb_list_entry {uint64 offset, uint64 length}, little-endian: low words only.
    const entries = new Uint32Array(n * 4)
    const flat: unknown[] = []
    const nulls: number[] = []
    for (let r = 0; r < n; r++) {
      const list = items(values[r])
      entries[r * 4] = flat.length
      if (list === null) {
        nulls.push(r)
        continue
      }
      entries[r * 4 + 2] = list.length
      for (const x of list) flat.push(x)
    }
    duckdb.list_vector_reserve(vector, flat.length)
    duckdb.list_vector_set_size(vector, flat.length)
    if (flat.length > 0) child(duckdb.list_vector_get_child(vector), flat)
    duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, entries.byteLength)
    setNulls(vector, n, nulls)
  }
}

/** A MAP(VARCHAR, VARCHAR) value: the string entries of an object, as {key, value} structs. */
function mapItems(v: unknown): unknown[] | null {
  if (typeof v !== 'object' || v === null) return null
  const out: { key: string; value: string }[] = []
  for (const key in v) {
    const value = (v as Record<string, unknown>)[key]
    if (typeof value === 'string') out.push({ key, value })
  }
  return out
}

function writerOf(t: DuckDBType): ColumnWriter {
  switch (t.typeId) {
    case DuckDBTypeId.VARCHAR:
      return writeVarchar
    case DuckDBTypeId.BOOLEAN:
      return writeBoolean
    case DuckDBTypeId.TIMESTAMP:
      return writeTimestamp
    case DuckDBTypeId.STRUCT:
      return structWriter(t)
    case DuckDBTypeId.LIST:
      return listWriter((v) => (Array.isArray(v) ? v : null), writerOf(t.valueType))
    case DuckDBTypeId.MAP: {
      const m = t
      if (m.keyType.typeId !== DuckDBTypeId.VARCHAR || m.valueType.typeId !== DuckDBTypeId.VARCHAR)
        throw new Error(`The Lake writer handles MAP(VARCHAR, VARCHAR) only, not ${t.toString()}.`)
      return listWriter(mapItems, (vector, values) => {
        const keys: unknown[] = new Array(values.length)
        const vals: unknown[] = new Array(values.length)
        for (let i = 0; i < values.length; i++) {
          const e = values[i] as { key: string; value: string }
          keys[i] = e.key
          vals[i] = e.value
        }
        writeVarchar(duckdb.struct_vector_get_child(vector, 0), keys)
        writeVarchar(duckdb.struct_vector_get_child(vector, 1), vals)
      })
    }
    default:
      throw new Error(`The Lake writer does not handle ${t.toString()} columns.`)
  }
}

/** A compiled writer for one table shape (its columns by name, in table order). */
export class ChunkWriter {
  private readonly writers: ColumnWriter[]

  constructor(
    readonly names: readonly string[],
    readonly types: readonly DuckDBType[],
  ) {
    this.writers = types.map(writerOf)
  }

  /**
   * Appends `rows` to `table` through an appender on `conn`: inside the connection's open
   * transaction if there is one (committed or rolled back with it).
   */
  async append(conn: DuckDBConnection, table: string, rows: readonly Obj[]): Promise<void> {
    const appender = await conn.createAppender(table)
    try {
      const column: unknown[] = []
      for (let from = 0; from < rows.length; from += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rows.length - from)
        const chunk = DuckDBDataChunk.create(this.types, n)
        column.length = n
        for (let c = 0; c < this.names.length; c++) {
          const name = this.names[c]!
          for (let r = 0; r < n; r++) column[r] = rows[from + r]![name]
          this.writers[c]!(duckdb.data_chunk_get_vector(chunk.chunk, c), column)
        }
        appender.appendDataChunk(chunk)
      }
      appender.flushSync()
    } finally {
      appender.closeSync()
    }
  }
}

/** The writer for a table, from its own column names and types. */
export async function chunkWriterFor(conn: DuckDBConnection, table: string): Promise<ChunkWriter> {
  const r = await conn.runAndReadAll(
    `SELECT column_name FROM duckdb_columns() WHERE table_name = $1 ORDER BY column_index`,
    [table],
  )
  const names = r.getRows().map(([n]) => String(n))
  const appender = await conn.createAppender(table)
  try {
    return new ChunkWriter(
      names,
      names.map((_, i) => appender.columnType(i)),
    )
  } finally {
    appender.closeSync()
  }
}
