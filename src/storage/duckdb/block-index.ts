/**
 * @module storage/duckdb/block-index
 * A block-range skip index for Event History (the idea of BRIN plus a per-block Bloom filter, as in
 * ClickHouse's data-skipping indexes). Rows are grouped in insertion order into blocks of
 * BLOCK_ROWS; each block keeps its sequence range, its time range and a Bloom filter over the
 * lookup keys of its rows (account/region/category plus each lookup attribute and value). A lookup
 * visits only blocks whose time range overlaps the window and whose filter may hold every key it
 * asks for, newest first, so a selective lookup never scans 10 million rows and a common one stops
 * after the first block or two.
 */

export const BLOCK_ROWS = 8192
/** 2^18 bits = 32 KiB per block; with ~15,000 distinct keys per block and K = 6 about 0.1% false positives. */
export const BLOOM_BITS = 1 << 18
const K = 6

let H1 = 0
let H2 = 0

/** Hashes `a + sep + b` (b optional) into H1/H2 without building the string. */
function hash(a: string, b: string | null): void {
  let h1 = 0x811c9dc5
  let h2 = 0x9747b28c
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995)
    h2 ^= h2 >>> 15
  }
  if (b !== null) {
    h1 = Math.imul(h1 ^ 0x1f, 0x01000193)
    h2 = Math.imul(h2 ^ 0x1f, 0x5bd1e995)
    h2 ^= h2 >>> 15
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
      h2 ^= h2 >>> 15
    }
  }
  h1 ^= h1 >>> 16
  h1 = Math.imul(h1, 0x85ebca6b)
  h1 ^= h1 >>> 13
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35)
  h2 ^= h2 >>> 16
  H1 = h1 >>> 0
  H2 = (h2 | 1) >>> 0
}

/** A Bloom filter over keys `prefix` or `prefix + "\u001f" + value`, K probes by double hashing. */
export class Bloom {
  readonly bits: Uint8Array
  constructor(bits?: Uint8Array) {
    this.bits = bits ?? new Uint8Array(BLOOM_BITS / 8)
  }
  add(prefix: string, value: string | null = null): void {
    hash(prefix, value)
    const mask = BLOOM_BITS - 1
    for (let i = 0; i < K; i++) {
      const b = (H1 + Math.imul(i, H2)) & mask
      this.bits[b >>> 3]! |= 1 << (b & 7)
    }
  }
  has(prefix: string, value: string | null = null): boolean {
    hash(prefix, value)
    const mask = BLOOM_BITS - 1
    for (let i = 0; i < K; i++) {
      const b = (H1 + Math.imul(i, H2)) & mask
      if ((this.bits[b >>> 3]! & (1 << (b & 7))) === 0) return false
    }
    return true
  }
}

export interface Block {
  id: number
  firstSeq: number
  lastSeq: number
  minT: number
  maxT: number
  rows: number
  bloom: Bloom
}

export function newBlock(id: number): Block {
  return {
    id,
    firstSeq: -1,
    lastSeq: -1,
    minT: Infinity,
    maxT: -Infinity,
    rows: 0,
    bloom: new Bloom(),
  }
}

/** The scope of a row: account, region and category. */
export function scopeKey(account: string, region: string, category: string): string {
  return `${account}\u001f${region}\u001f${category}`
}

/** The Bloom prefix of an attribute within a scope, e.g. `<scope>\u001fN` for EventName. */
export function attrPrefix(scope: string, code: string): string {
  return `${scope}\u001f${code}`
}
