/**
 * @module s3api/bucket-policy
 * Bucket policies (resource-based): validation on PutBucketPolicy, "is it public" for
 * GetBucketPolicyStatus and BlockPublicPolicy, and evaluation for a caller. A statement applies
 * when its Principal names the caller (`*`, the account ID or `arn:aws:iam::<acct>:root`, or the
 * caller's ARN); service principals never match a user. Statements with a Condition are not
 * evaluated (OpenTrail has no condition keys yet): they neither allow nor deny.
 */
import type { Principal } from '../iam/identities.js'
import { evaluate, type Decision, type Statement } from '../iam/policy.js'
import { S3Error } from './errors.js'

interface BucketStatement extends Statement {
  Principal?: unknown
  NotPrincipal?: unknown
  Condition?: unknown
}

const malformed = (msg: string) => new S3Error('MalformedPolicy', msg, 400)

/** Parses and checks a policy document; returns it parsed. */
export function parseBucketPolicy(text: string): { Statement: BucketStatement[] } {
  if (!text.trimStart().startsWith('{'))
    throw malformed("Policies must be valid JSON and the first byte must be '{'")
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw malformed("Policies must be valid JSON and the first byte must be '{'")
  }
  const st = (doc as { Statement?: unknown }).Statement
  if (st === undefined) throw malformed('Missing required field Statement')
  const list = (Array.isArray(st) ? st : [st]) as BucketStatement[]
  for (const s of list) {
    if (!s || typeof s !== 'object') throw malformed('Statement must be an object')
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed('Invalid effect')
    if (s.Principal === undefined && s.NotPrincipal === undefined)
      throw malformed('Missing required field Principal')
    if (s.Action === undefined && s.NotAction === undefined)
      throw malformed('Missing required field Action')
    if (s.Resource === undefined && s.NotResource === undefined)
      throw malformed('Missing required field Resource')
  }
  return { Statement: list }
}

function principalValues(p: unknown): { any: boolean; aws: string[] } {
  if (p === '*') return { any: true, aws: [] }
  if (!p || typeof p !== 'object') return { any: false, aws: [] }
  const aws = (p as { AWS?: unknown }).AWS
  const list = (Array.isArray(aws) ? aws : aws === undefined ? [] : [aws]).map(String)
  return { any: list.includes('*'), aws: list }
}

function names(statement: BucketStatement, caller: Principal): boolean {
  if (statement.NotPrincipal !== undefined || statement.Principal === undefined) return false
  const { any, aws } = principalValues(statement.Principal)
  if (any) return true
  return aws.some(
    (v) =>
      v === caller.accountId || v === `arn:aws:iam::${caller.accountId}:root` || v === caller.arn,
  )
}

/** Allow with Principal `*` (or AWS `*`) and no Condition: what S3 calls public. */
export function isPublicPolicy(text: string | undefined): boolean {
  if (!text) return false
  try {
    return parseBucketPolicy(text).Statement.some(
      (s) => s.Effect === 'Allow' && s.Condition === undefined && principalValues(s.Principal).any,
    )
  } catch {
    return false
  }
}

export function evaluateBucketPolicy(
  text: string | undefined,
  caller: Principal,
  action: string,
  resource: string,
): Decision {
  if (!text) return 'ImplicitDeny'
  let statements: BucketStatement[]
  try {
    statements = parseBucketPolicy(text).Statement
  } catch {
    return 'ImplicitDeny'
  }
  const applicable = statements.filter((s) => s.Condition === undefined && names(s, caller))
  if (applicable.length === 0) return 'ImplicitDeny'
  return evaluate([{ Statement: applicable }], action, resource)
}
