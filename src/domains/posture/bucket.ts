/**
 * @module domains/posture/bucket
 * Whether a bucket is public, the way S3 decides it for the bucket itself: a policy statement that
 * allows everyone (Principal `*` or `{"AWS": "*"}`, or an Allow with NotPrincipal) without a
 * Condition, unless the bucket's public access block has RestrictPublicBuckets; or an ACL grant to
 * the AllUsers or AuthenticatedUsers group, unless IgnorePublicAcls. (BlockPublicPolicy and
 * BlockPublicAcls only refuse new public settings; they do not neutralise existing ones.)
 */
import type { PostureBucket } from './model.js'

const PUBLIC_GROUPS: Record<string, string> = {
  'http://acs.amazonaws.com/groups/global/AllUsers': 'AllUsers (everyone)',
  'http://acs.amazonaws.com/groups/global/AuthenticatedUsers':
    'AuthenticatedUsers (any AWS account)',
}

export class UnreadablePolicy extends Error {
  override name = 'UnreadablePolicy'
}

function allowsEveryone(principal: unknown): boolean {
  if (principal === '*') return true
  if (!principal || typeof principal !== 'object') return false
  const aws = (principal as { AWS?: unknown }).AWS
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'))
}

/** Statements of `policy` that make the bucket public. Throws UnreadablePolicy. */
export function publicStatements(policy: string): string[] {
  let doc: unknown
  try {
    doc = JSON.parse(policy)
  } catch {
    throw new UnreadablePolicy('The bucket policy is not valid JSON.')
  }
  const raw = (doc as { Statement?: unknown } | null)?.Statement
  const list = Array.isArray(raw) ? (raw as unknown[]) : raw === undefined ? [] : [raw]
  const out: string[] = []
  list.forEach((s, i) => {
    if (!s || typeof s !== 'object') return
    const st = s as Record<string, unknown>
    if (st['Effect'] !== 'Allow' || st['Condition'] !== undefined) return
    if (allowsEveryone(st['Principal']) || st['NotPrincipal'] !== undefined) {
      out.push(typeof st['Sid'] === 'string' ? `"${st['Sid']}"` : `#${i + 1}`)
    }
  })
  return out
}

/** Why the bucket is public (empty: it is not). Throws UnreadablePolicy. */
export function publicReasons(b: PostureBucket): string[] {
  const reasons: string[] = []
  const pab = b.publicAccessBlock
  if (b.policy && !pab?.restrictPublicBuckets) {
    const statements = publicStatements(b.policy)
    if (statements.length > 0) {
      reasons.push(
        `its bucket policy allows everyone (statement ${statements.join(', ')}: Principal "*" ` +
          `without a Condition) and RestrictPublicBuckets is off`,
      )
    }
  }
  if (!pab?.ignorePublicAcls) {
    for (const g of b.aclGrants ?? []) {
      const who = g.uri ? PUBLIC_GROUPS[g.uri] : undefined
      if (who) reasons.push(`its ACL grants ${g.permission} to ${who} and IgnorePublicAcls is off`)
    }
  }
  return reasons
}
