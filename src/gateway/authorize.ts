/**
 * @module gateway/authorize
 * IAM for a gateway call, once the caller is authenticated: which action on which resource the
 * call is, checked against the caller's policies (S3 object and bucket ARNs, copy sources and
 * DeleteObjects keys; the ARNs an AWS JSON or query request names).
 */
import type { Authorizer } from '../iam/authorizer.js'
import type { IdentityStore } from '../iam/identities.js'
import { evaluate } from '../iam/policy.js'
import { ServiceError } from '../shared/errors.js'
import { GatewayError } from './errors.js'
import { header, type Exchange } from './exchange.js'

/**
 * Checks the caller's IAM policies for the call: S3 actions on the bucket or object ARN (each key of
 * DeleteObjects, and the source of a copy), `<service>:<Operation>` on every ARN an AWS JSON or
 * query call names (`*` when it names none). Throws AccessDenied / NotImplemented / the authorizer's
 * error.
 */
export function authorize(x: Exchange, identities: IdentityStore, authorizer: Authorizer): void {
  const principal = x.principal!
  const { call } = x
  if (call.protocol === 'rest')
    throw new GatewayError(
      'NotImplemented',
      `The gateway records S3 REST, AWS JSON and query-protocol calls; this ${call.service} request is none of those.`,
      501,
    )
  if (call.protocol === 's3') {
    const s3 = call.s3
    if (!s3)
      throw new GatewayError(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        405,
        { Method: x.method, ResourceType: 'OBJECT' },
      )
    const denied = () => new GatewayError('AccessDenied', 'Access Denied', 403)
    const check = (action: string, resource: string) => {
      const decision = evaluate(identities.policiesFor(principal.accessKeyId), action, resource)
      if (decision !== 'Allow') throw denied()
    }
    const bucketArn = s3.bucket !== undefined ? `arn:aws:s3:::${s3.bucket}` : '*'
    if (s3.info.name === 'DeleteObjects') {
      for (const k of x.objectKeys ?? []) check('s3:DeleteObject', `${bucketArn}/${k}`)
      return
    }
    check(call.action, s3.key !== undefined ? `${bucketArn}/${s3.key}` : bucketArn)
    const source = header(x.req.headers, 'x-amz-copy-source')
    if (source && (s3.info.name === 'CopyObject' || s3.info.name === 'UploadPartCopy')) {
      const raw = source.split('?')[0]!.replace(/^\//, '')
      let decoded: string
      try {
        decoded = decodeURIComponent(raw)
      } catch {
        throw new GatewayError('InvalidArgument', 'Invalid copy source encoding', 400)
      }
      check('s3:GetObject', `arn:aws:s3:::${decoded}`)
    }
    return
  }
  if (!call.action)
    throw new ServiceError(
      'UnknownOperationException',
      'The gateway cannot tell which operation this request is.',
      400,
    )
  const arns = x.resourceArns?.length ? x.resourceArns : ['*']
  for (const arn of arns) {
    const denied = authorizer.check(principal, call.action, arn)
    if (denied) throw denied
  }
}
