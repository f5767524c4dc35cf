/**
 * @module domains/trails/pagination
 * Opaque NextToken values for ListTrails and ListTags. A token names the operation and carries a
 * fingerprint of the request it belongs to, so a token is refused with other parameters.
 */
import { createHash } from 'node:crypto'

interface TokenBody {
  op: string
  fp: string
  pos: string | number
}

export function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16)
}

export function encodeToken(op: string, fp: string, pos: string | number): string {
  return Buffer.from(JSON.stringify({ op, fp, pos } satisfies TokenBody)).toString('base64url')
}

/** The position carried by a token, or undefined when it is not a token of this request. */
export function decodeToken(token: string, op: string, fp: string): string | number | undefined {
  try {
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>
    if (body.op !== op || body.fp !== fp) return undefined
    if (typeof body.pos !== 'string' && typeof body.pos !== 'number') return undefined
    return body.pos
  } catch {
    return undefined
  }
}
