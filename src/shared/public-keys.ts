/**
 * @module shared/public-keys
 * The digest public keys valid in a time range, through CloudTrail's ListPublicKeys (all pages),
 * by fingerprint: the `publicKeys` of a validation source, for `opentrail validate-logs` and the
 * console's validation.
 */
import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail'

export async function listPublicKeys(
  cloudtrail: CloudTrailClient,
  from: Date,
  to: Date,
): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>()
  let token: string | undefined
  do {
    const r = await cloudtrail.send(
      new ListPublicKeysCommand({ StartTime: from, EndTime: to, NextToken: token }),
    )
    for (const k of r.PublicKeyList ?? [])
      if (k.Fingerprint && k.Value) keys.set(k.Fingerprint, Buffer.from(k.Value))
    token = r.NextToken
  } while (token)
  return keys
}
