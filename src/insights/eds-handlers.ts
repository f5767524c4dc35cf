/**
 * @module insights/eds-handlers
 * PutInsightSelectors / GetInsightSelectors on event data stores: a request that names
 * `EventDataStore` (and no `TrailName`) is answered here, in wire names; every other request goes
 * to the trail operations it wraps (which reject TrailName combined with EventDataStore or
 * InsightsDestination, and InsightsDestination alone). IAM authorizes against the canonical ARN of
 * the source store.
 */
import type { EventResource } from '../events/record.js'
import type { Input, Operation, OperationTable, RequestContext } from '../protocol/operation.js'
import {
  fromWireInsightSelectors,
  insightRefs,
  toWireInsightSelectors,
} from '../domains/trails/wire.js'
import type { EventDataStoreInsights, LakeStores } from './event-data-stores.js'

const scope = (ctx: RequestContext) => ({ accountId: ctx.accountId, region: ctx.region })

/** Whether a request is about an event data store (TrailName absent, EventDataStore given). */
const onStore = (input: Input): boolean => {
  const refs = insightRefs(input)
  return refs.trailName === undefined && refs.eventDataStore !== undefined
}

function storeArn(lake: LakeStores, ref: string, ctx: RequestContext): string {
  try {
    return lake.find(scope(ctx), ref).arn
  } catch {
    return ref.startsWith('arn:')
      ? ref
      : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:eventdatastore/${ref}`
  }
}

/** Wraps a trail operation: event-data-store requests take `handle`, with their own resources. */
function wrap(
  base: Operation,
  lake: LakeStores,
  handle: (input: Input, ctx: RequestContext) => Promise<unknown>,
): Operation {
  const arn = (input: Input, ctx: RequestContext) =>
    storeArn(lake, String(input['EventDataStore']), ctx)
  return {
    ...base,
    resource: (input, ctx) => (onStore(input) ? arn(input, ctx) : base.resource(input, ctx)),
    eventResources: (input, ctx): EventResource[] =>
      onStore(input)
        ? [
            {
              accountId: ctx.accountId,
              type: 'AWS::CloudTrail::EventDataStore',
              ARN: arn(input, ctx),
            },
          ]
        : (base.eventResources?.(input, ctx) ?? []),
    handle: (input, ctx) => (onStore(input) ? handle(input, ctx) : base.handle(input, ctx)),
  }
}

/**
 * PutInsightSelectors and GetInsightSelectors of `ops` (the trail operations), answering
 * event-data-store requests; spread them over the trail operations.
 */
export function withEventDataStoreInsights(
  ops: OperationTable,
  eds: EventDataStoreInsights,
  lake: LakeStores,
): OperationTable {
  const put = ops['PutInsightSelectors']
  const get = ops['GetInsightSelectors']
  if (!put || !get) return {}
  return {
    PutInsightSelectors: wrap(put, lake, async (input, ctx) => {
      const refs = insightRefs(input)
      const out = await eds.put(scope(ctx), {
        eventDataStore: refs.eventDataStore!,
        ...(refs.insightsDestination !== undefined
          ? { insightsDestination: refs.insightsDestination }
          : {}),
        insightSelectors: fromWireInsightSelectors(input['InsightSelectors']),
      })
      return {
        EventDataStoreArn: out.sourceArn,
        ...(out.destinationArn ? { InsightsDestination: out.destinationArn } : {}),
        InsightSelectors: toWireInsightSelectors(out.insightSelectors),
      }
    }),
    GetInsightSelectors: wrap(get, lake, async (input, ctx) => {
      const c = eds.get(scope(ctx), String(input['EventDataStore']))
      return {
        EventDataStoreArn: c.sourceArn,
        InsightsDestination: c.destinationArn,
        InsightSelectors: toWireInsightSelectors(c.insightSelectors),
      }
    }),
  }
}
