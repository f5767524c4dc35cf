/**
 * @module digest/handlers
 * ListPublicKeys: the public keys that sign digest files in the caller's region, whose validity
 * overlaps [StartTime, EndTime] (both default to now, which returns the current key, once the
 * region has signed a digest). `Value` is the PKCS#1 RSAPublicKey DER (base64 on the wire);
 * `Fingerprint` is its hex MD5.
 */
import type { OperationTable } from '../protocol/operation.js'
import { awsError } from '../shared/errors.js'
import type { SigningKeyStore } from './keystore.js'

const InvalidTimeRangeException = awsError('InvalidTimeRangeException')
const InvalidTokenException = awsError('InvalidTokenException')

const PAGE = 50

const encodeToken = (offset: number) => Buffer.from(`pk:${offset}`).toString('base64')
function decodeToken(token: string): number {
  const m = /^pk:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'))
  if (!m) throw InvalidTokenException('Invalid token.')
  return Number(m[1])
}

export function publicKeyOperations(keys: SigningKeyStore): OperationTable {
  return {
    ListPublicKeys: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const now = ctx.now
        const start = (input['StartTime'] as Date | undefined) ?? now
        const end = (input['EndTime'] as Date | undefined) ?? now
        if (start.getTime() > end.getTime()) {
          throw InvalidTimeRangeException('The start time must be before the end time.')
        }
        const offset = typeof input['NextToken'] === 'string' ? decodeToken(input['NextToken']) : 0
        // Keys exist once a digest of the region was signed; a call never creates one (a caller
        // could otherwise have key pairs generated for any region name it signs with).
        const all = keys.publicKeys(ctx.region, start, end)
        const page = all.slice(offset, offset + PAGE)
        return {
          PublicKeyList: page.map((k) => ({
            Value: k.publicKeyDer,
            ValidityStartTime: k.validityStart,
            ValidityEndTime: k.validityEnd,
            Fingerprint: k.fingerprint,
          })),
          ...(offset + PAGE < all.length ? { NextToken: encodeToken(offset + PAGE) } : {}),
        }
      },
    },
  }
}
