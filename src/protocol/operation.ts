/**
 * @module protocol/operation
 * What a domain hands to the protocol layer for each AWS operation: its IAM resource, whether it is
 * read-only, the handler, and the resources to name in the CloudTrail record.
 */
import type { EventResource } from '../events/record.js'
import type { Principal } from '../iam/identities.js'

export interface RequestContext {
  principal: Principal
  accountId: string
  region: string
  requestId: string
  now: Date
}

export type Input = Record<string, unknown>

export interface Operation {
  readOnly: boolean
  /** The resource ARN that IAM authorizes this call against (`*` for list-style calls). */
  resource(input: Input, ctx: RequestContext): string
  handle(input: Input, ctx: RequestContext): Promise<unknown>
  /** The `resources` of the CloudTrail record for this call. */
  eventResources?(input: Input, ctx: RequestContext): EventResource[]
  /** Checks that run on the raw request before model validation, for operation-specific AWS errors. */
  precheck?(raw: Record<string, unknown>): void
  /** Whether responseElements are recorded (AWS omits them for read-only calls). */
  logResponse?: boolean
}

export type OperationTable = Record<string, Operation>
