/**
 * @module delivery/handlers
 * GetTrailStatus's delivery fields (wire names), added to the trail domain's GetTrailStatus: the
 * latest log and digest delivery times and errors, as the delivery sink recorded them.
 */
import type { Trail } from '../domains/trails/model.js'
import type { OperationTable } from '../protocol/operation.js'
import type { TrailDeliveryStatus } from './state.js'

/** AWS's string form of the attempt times: ISO-8601 to the second. */
const stamp = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z')

export function toWireDeliveryStatus(s: TrailDeliveryStatus): Record<string, unknown> {
  return {
    ...(s.latestDeliveryTime ? { LatestDeliveryTime: new Date(s.latestDeliveryTime) } : {}),
    ...(s.latestDeliveryError ? { LatestDeliveryError: s.latestDeliveryError } : {}),
    ...(s.latestDigestDeliveryTime
      ? { LatestDigestDeliveryTime: new Date(s.latestDigestDeliveryTime) }
      : {}),
    ...(s.latestDigestDeliveryError
      ? { LatestDigestDeliveryError: s.latestDigestDeliveryError }
      : {}),
    LatestDeliveryAttemptTime: s.latestDeliveryAttemptTime
      ? stamp(s.latestDeliveryAttemptTime)
      : '',
    LatestDeliveryAttemptSucceeded: s.latestDeliveryAttemptSucceeded
      ? stamp(s.latestDeliveryAttemptSucceeded)
      : '',
  }
}

/**
 * Returns `ops` with GetTrailStatus answering the delivery fields too. `find` resolves the request's
 * trail as the trail domain does (name or ARN, in the caller's account and region).
 */
export function withDeliveryStatus(
  ops: OperationTable,
  find: (scope: { accountId: string; region: string }, nameOrArn: string) => Trail,
  delivery: { status(trail: Trail): TrailDeliveryStatus },
): OperationTable {
  const base = ops['GetTrailStatus']
  if (!base) return ops
  return {
    ...ops,
    GetTrailStatus: {
      ...base,
      async handle(input, ctx) {
        const out = (await base.handle(input, ctx)) as Record<string, unknown>
        const trail = find({ accountId: ctx.accountId, region: ctx.region }, String(input['Name']))
        return { ...out, ...toWireDeliveryStatus(delivery.status(trail)) }
      },
    },
  }
}
