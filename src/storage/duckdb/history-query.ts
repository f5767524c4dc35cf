/**
 * @module storage/duckdb/history-query
 * LookupEvents over the history store: the blocks whose time range and Bloom filter may hold a
 * match (newest first), the SQL filter of the query's scope, time range, attributes and cursor, a
 * page found block group by block group (stopping when no further block can hold a newer row),
 * and the records rebuilt from their LMDB payloads and interned fragments. Lookups run on a small
 * pool of reader connections, each with its own prepared statements.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api'
import type { Database } from 'lmdb'
import type { HistoryRow, LookupQuery } from '../history-port.js'
import { scopeKey, type Block } from './block-index.js'
import { CODE, COLUMN, prefixesOf, SEP } from './history-rows.js'
import { decodeRecord } from './record-codec.js'
import { decodePayload } from './row-payload.js'

export interface Reader {
  conn: DuckDBConnection
  stmts: Map<string, DuckDBPreparedStatement>
}

/** Reader connections handed out one lookup at a time; waiters are served in arrival order. */
export class ReaderPool {
  /** The readers not in use. */
  readonly idle: Reader[] = []
  private waiters: ((r: Reader) => void)[] = []

  acquire(): Promise<Reader> {
    const r = this.idle.pop()
    if (r) return Promise.resolve(r)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  release(r: Reader): void {
    const w = this.waiters.shift()
    if (w) w(r)
    else this.idle.push(r)
  }
}

/** The rows (seq, time) of one page of a lookup, newest first. */
export async function findPage(
  blocks: Block[],
  pool: ReaderPool,
  q: LookupQuery,
): Promise<{ seq: number; t: number }[]> {
  const startMs = q.start.getTime()
  const endMs = q.end.getTime()
  const scope = scopeKey(q.accountId, q.region, q.category)
  const prefixes = prefixesOf(scope)
  const mayHold = (b: Block) =>
    q.attributes.length === 0
      ? b.bloom.has(scope)
      : q.attributes.every((a) => b.bloom.has(prefixes[CODE[a.key]]!, a.value))
  const cands = blocks.filter(
    (b) =>
      b.rows > 0 &&
      b.maxT >= startMs &&
      b.minT <= endMs &&
      (!q.after || b.minT <= q.after.timeMs) &&
      mayHold(b),
  )
  cands.sort((a, b) => b.maxT - a.maxT || b.id - a.id)

  const where = [
    'account = $account',
    'region = $region',
    'category = $category',
    't >= $start',
    't <= $end',
  ]
  const params: Record<string, string | number> = {
    account: q.accountId,
    region: q.region,
    category: q.category,
    start: startMs,
    end: endMs,
  }
  q.attributes.forEach((a, i) => {
    const col = COLUMN[a.key]
    if (col.startsWith('resource_')) {
      params[`a${i}`] = SEP + a.value + SEP
      where.push(`contains(${col}, $a${i})`)
    } else {
      params[`a${i}`] = a.value
      where.push(`${col} = $a${i}`)
    }
  })
  if (q.after) {
    params['at'] = q.after.timeMs
    params['aseq'] = q.after.seq
    where.push('(t < $at OR (t = $at AND seq < $aseq))')
  }
  const filter = where.join(' AND ')

  let found: { seq: number; t: number }[] = []
  let i = 0
  let group = 1
  const reader = await pool.acquire()
  try {
    while (i < cands.length) {
      const nth = found[q.limit - 1]
      if (nth && cands[i]!.maxT < nth.t) break
      const take = cands.slice(i, i + group)
      i += take.length
      group = Math.min(group * 4, 64)
      const ranges = seqRanges(take)
      let rows: unknown[][]
      if (ranges.length === 1) {
        const sql = `SELECT seq, t FROM history WHERE seq BETWEEN $lo AND $hi AND ${filter}
            ORDER BY t DESC, seq DESC LIMIT ${q.limit}`
        let stmt = reader.stmts.get(sql)
        if (!stmt) {
          stmt = await reader.conn.prepare(sql)
          if (reader.stmts.size > 200) reader.stmts.clear()
          reader.stmts.set(sql, stmt)
        }
        stmt.bind({ ...params, lo: ranges[0]![0], hi: ranges[0]![1] })
        rows = (await stmt.runAndReadAll()).getRows()
      } else {
        // One sub-select per range, so that each prunes to its own row groups.
        const sql = ranges
          .map(
            ([a, b]) => `SELECT seq, t FROM history WHERE seq BETWEEN ${a} AND ${b} AND ${filter}`,
          )
          .join(' UNION ALL ')
        rows = (
          await reader.conn.runAndReadAll(
            `SELECT seq, t FROM (${sql}) ORDER BY t DESC, seq DESC LIMIT ${q.limit}`,
            params,
          )
        ).getRows()
      }
      for (const row of rows) found.push({ seq: Number(row[0]), t: Number(row[1]) })
      found.sort((a, b) => b.t - a.t || b.seq - a.seq)
      if (found.length > q.limit) found = found.slice(0, q.limit)
    }
  } finally {
    pool.release(reader)
  }
  return found
}

/** Rebuilds the record JSON of the given rows (newest first, as given) from LMDB and parts. */
export async function rebuildRows(
  rowsDb: Database<Buffer, number>,
  partTexts: Map<number, string>,
  pool: ReaderPool,
  found: { seq: number; t: number }[],
  account: string,
  region: string,
): Promise<HistoryRow[]> {
  const payloads = found.map((f) => {
    const b = rowsDb.getBinary(f.seq)
    return b ? decodePayload(b) : undefined
  })
  const missing = new Set<number>()
  for (const p of payloads) {
    if (!p) continue
    for (const id of [p.skelId, p.whoId, p.uaId])
      if (id !== 0 && !partTexts.has(id)) missing.add(id)
  }
  if (missing.size > 0) {
    const ids = [...missing]
    const reader = await pool.acquire()
    try {
      const p = await reader.conn.runAndReadAll(
        `SELECT id, text FROM parts WHERE id IN (${ids.join(',')})`,
      )
      for (const [id, text] of p.getRows()) partTexts.set(Number(id), String(text))
    } finally {
      pool.release(reader)
    }
  }
  const out: HistoryRow[] = []
  found.forEach((f, i) => {
    const p = payloads[i]
    if (!p) return // expired between the two steps
    const skel = partTexts.get(p.skelId)
    if (skel === undefined)
      throw new Error(`ERR_HISTORY_PART: record fragment ${p.skelId} is missing`)
    const body = decodeRecord(skel, {
      timeMs: f.t,
      account,
      region,
      eventId: p.eventId,
      requestId: p.requestId,
      sourceIp: p.sourceIp,
      userAgent: p.uaId === 0 ? null : (partTexts.get(p.uaId) ?? null),
      eventTime: p.eventTime,
      who: p.whoId === 0 ? null : (partTexts.get(p.whoId) ?? null),
    })
    out.push({ seq: f.seq, timeMs: f.t, body })
  })
  return out
}

/** Sequence ranges of blocks, adjacent blocks merged. */
function seqRanges(blocks: Block[]): [number, number][] {
  const sorted = [...blocks].sort((a, b) => a.firstSeq - b.firstSeq)
  const out: [number, number][] = []
  for (const b of sorted) {
    const last = out[out.length - 1]
    const prevBlockEnd = last ? blocks.find((x) => x.lastSeq === last[1]) : undefined
    if (last && prevBlockEnd && b.id === prevBlockEnd.id + 1) last[1] = b.lastSeq
    else out.push([b.firstSeq, b.lastSeq])
  }
  return out
}
