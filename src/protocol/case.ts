/** @module protocol/case  Wire (PascalCase) member names to the camelCase that CloudTrail records use. */

/** Recursively lower-cases the first letter of every object key, as CloudTrail logs request members. */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys)
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z')
  if (Buffer.isBuffer(value)) return value.toString('base64')
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value))
      out[k.charAt(0).toLowerCase() + k.slice(1)] = camelKeys(v)
    return out
  }
  return value
}
