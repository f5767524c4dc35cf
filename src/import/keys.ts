/**
 * @module import/keys
 * The deduplication key of an event: 128 bits derived from its eventID. A UUID (what CloudTrail
 * uses) maps to its own 16 bytes, exactly and case-insensitively; any other ID maps to a 128-bit
 * hash of its UTF-16 code units (two independent 64-bit lanes, so a false match is ~2^-128 per pair).
 * Keys live in 4 consecutive 32-bit words of a Uint32Array.
 */

const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX[48 + i] = i
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i
  HEX[97 + i] = 10 + i
}

/** Reads 8 hex digits of `s` from `at` (skipping a dash at `skip`, or -1) into a uint32; -1 if not hex. */
function hex8(s: string, at: number, skip: number): number {
  let v = 0
  for (let i = at, n = 0; n < 8; i++) {
    if (i === skip) continue
    const c = s.charCodeAt(i)
    const d = c < 128 ? HEX[c]! : -1
    if (d < 0) return -1
    v = v * 16 + d
    n++
  }
  return v
}

/** Writes the key of `id` into `out[o..o+3]`. */
export function writeKey(id: string, out: Uint32Array, o: number): void {
  if (
    id.length === 36 &&
    id.charCodeAt(8) === 45 &&
    id.charCodeAt(13) === 45 &&
    id.charCodeAt(18) === 45 &&
    id.charCodeAt(23) === 45
  ) {
    const a = hex8(id, 0, -1)
    const b = hex8(id, 9, 13)
    const c = hex8(id, 19, 23)
    const d = hex8(id, 28, -1)
    if (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
      out[o] = a
      out[o + 1] = b
      out[o + 2] = c
      out[o + 3] = d
      return
    }
  }
  hash128(id, out, o)
}

/** Two lanes of a 64-bit multiply-xorshift hash (each as two 32-bit halves). */
function hash128(s: string, out: Uint32Array, o: number): void {
  let h1 = 0x9e3779b9 ^ s.length
  let h2 = 0x85ebca6b
  let h3 = 0xc2b2ae35 ^ s.length
  let h4 = 0x27d4eb2f
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ k, 0x01000193)
    h2 = Math.imul(h2 ^ h1, 0x5bd1e995) ^ (h2 >>> 13)
    h3 = Math.imul(h3 ^ k, 0x9e3779b1) + i
    h4 = Math.imul(h4 ^ h3, 0x85ebca77) ^ (h4 >>> 15)
  }
  h1 = Math.imul(h1 ^ (h2 >>> 16), 0x85ebca6b)
  h2 = Math.imul(h2 ^ (h1 >>> 13), 0xc2b2ae35)
  h3 = Math.imul(h3 ^ (h4 >>> 16), 0x27d4eb2f)
  h4 = Math.imul(h4 ^ (h3 >>> 15), 0x165667b1)
  // The top bit of word 2 is 1 in RFC 4122 UUIDs (variant 10xx); hashed IDs set it to 0.
  out[o] = h1 ^ h4
  out[o + 1] = h2 ^ h3
  out[o + 2] = (h3 ^ h1) & 0x7fffffff
  out[o + 3] = h4 ^ h2
}
