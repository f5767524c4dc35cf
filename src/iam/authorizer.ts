/**
 * @module iam/authorizer
 * Decides whether a principal may perform `service:Action` on a resource, and words the denial as AWS does.
 */
import { AccessDeniedException, type ServiceError } from '../shared/errors.js'
import type { IdentityStore, Principal } from './identities.js'
import { evaluate } from './policy.js'

export class Authorizer {
  constructor(private readonly identities: IdentityStore) {}

  /** Returns undefined when allowed, or the AccessDeniedException to send. */
  check(principal: Principal, action: string, resource: string): ServiceError | undefined {
    const decision = evaluate(this.identities.policiesFor(principal.accessKeyId), action, resource)
    if (decision === 'Allow') return undefined
    const why =
      decision === 'ExplicitDeny'
        ? `with an explicit deny in an identity-based policy`
        : `because no identity-based policy allows the ${action} action`
    return AccessDeniedException(
      `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
    )
  }
}
