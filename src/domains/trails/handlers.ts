/**
 * @module domains/trails/handlers
 * The trail operations for the protocol layer: wire names (via wire.ts) ↔ the trail service, each
 * operation's IAM resource (the trail ARN), read-only flag and CloudTrail record resources.
 */
import type { EventResource } from '../../events/record.js'
import type { Input, Operation, OperationTable, RequestContext } from '../../protocol/operation.js'
import { enabledInsights, insightTarget } from './insights.js'
import { trailArn } from './model.js'
import { addTags, listTags, removeResourceTags } from './resource-tags.js'
import type { Scope, TrailService } from './service.js'
import {
  bool,
  fromWireAdvancedSelectors,
  fromWireEventSelectors,
  fromWireInsightSelectors,
  fromWireTags,
  insightRefs,
  settingsOf,
  str,
  toWireEventSelectors,
  toWireInsightSelectors,
  toWireResourceTags,
  toWireTrail,
  toWireTrailInfo,
  toWireTrailResponse,
} from './wire.js'

const scope = (ctx: RequestContext): Scope => ({ accountId: ctx.accountId, region: ctx.region })

/** The ARN of the trail a name or ARN refers to (for IAM and the record), resolved when it exists. */
function arnFor(service: TrailService, nameOrArn: unknown, ctx: RequestContext): string {
  const v = str(nameOrArn) ?? ''
  // Authorize against the canonical ARN of the trail the call will act on, never the raw string:
  // a variant spelling (another partition, say) must not slip past a Deny on the real ARN.
  try {
    return trailArn(service.find(scope(ctx), v))
  } catch {
    if (v.startsWith('arn:')) return v
    return `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${v}`
  }
}

const trailResources = (ctx: RequestContext, arns: string[]): EventResource[] =>
  arns.map((ARN) => ({ accountId: ctx.accountId, type: 'AWS::CloudTrail::Trail', ARN }))

/** IAM resource and record resources of an operation on the trail named by `key`. */
function onTrail(key: string, service: TrailService) {
  return {
    resource: (input: Input, ctx: RequestContext) => arnFor(service, input[key], ctx),
    eventResources: (input: Input, ctx: RequestContext) =>
      input[key] === undefined ? [] : trailResources(ctx, [arnFor(service, input[key], ctx)]),
  }
}

/** The same for operations whose resource is given as an ARN (AddTags, RemoveTags). */
const onResourceId = {
  resource: (input: Input) => str(input['ResourceId']) ?? '*',
  eventResources: (input: Input, ctx: RequestContext) =>
    trailResources(ctx, [str(input['ResourceId']) ?? '']),
}

export function trailOperations(service: TrailService): OperationTable {
  const name = (input: Input) => str(input['Name'])!
  const ops: Record<string, Operation> = {
    CreateTrail: {
      readOnly: false,
      resource: (input, ctx) =>
        `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${name(input)}`,
      eventResources: (input, ctx) =>
        trailResources(ctx, [
          `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${name(input)}`,
        ]),
      async handle(input, ctx) {
        const t = await service.create(scope(ctx), {
          name: name(input),
          s3BucketName: str(input['S3BucketName'])!,
          ...settingsOf(input),
          tags: fromWireTags(input['TagsList']),
        })
        return toWireTrailResponse(t)
      },
    },
    UpdateTrail: {
      readOnly: false,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        const t = await service.update(scope(ctx), {
          name: name(input),
          ...settingsOf(input),
        })
        return toWireTrailResponse(t)
      },
    },
    GetTrail: {
      readOnly: true,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        return { Trail: toWireTrail(service.find(scope(ctx), name(input))) }
      },
    },
    DescribeTrails: {
      readOnly: true,
      resource: () => '*',
      eventResources: (input, ctx) => {
        const names = (input['trailNameList'] as string[] | undefined) ?? []
        return trailResources(
          ctx,
          names.map((n) => arnFor(service, n, ctx)),
        )
      },
      async handle(input, ctx) {
        const trails = service.describe(
          scope(ctx),
          input['trailNameList'] as string[] | undefined,
          bool(input['includeShadowTrails']) ?? true,
        )
        return { trailList: trails.map(toWireTrail) }
      },
    },
    ListTrails: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const page = service.list(scope(ctx), str(input['NextToken']))
        return {
          Trails: page.trails.map(toWireTrailInfo),
          ...(page.nextToken ? { NextToken: page.nextToken } : {}),
        }
      },
    },
    DeleteTrail: {
      readOnly: false,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        await service.remove(scope(ctx), name(input))
        return {}
      },
    },
    StartLogging: {
      readOnly: false,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        await service.setLogging(scope(ctx), name(input), true)
        return {}
      },
    },
    StopLogging: {
      readOnly: false,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        await service.setLogging(scope(ctx), name(input), false)
        return {}
      },
    },
    GetTrailStatus: {
      readOnly: true,
      ...onTrail('Name', service),
      async handle(input, ctx) {
        const t = service.find(scope(ctx), name(input))
        return {
          IsLogging: t.isLogging,
          ...(t.startLoggingTime
            ? {
                StartLoggingTime: new Date(t.startLoggingTime),
                TimeLoggingStarted: t.startLoggingTime,
              }
            : {}),
          ...(t.stopLoggingTime
            ? {
                StopLoggingTime: new Date(t.stopLoggingTime),
                TimeLoggingStopped: t.stopLoggingTime,
              }
            : {}),
        }
      },
    },
    AddTags: {
      readOnly: false,
      ...onResourceId,
      async handle(input, ctx) {
        await addTags(
          service,
          scope(ctx),
          str(input['ResourceId'])!,
          fromWireTags(input['TagsList']),
        )
        return {}
      },
    },
    RemoveTags: {
      readOnly: false,
      ...onResourceId,
      async handle(input, ctx) {
        await removeResourceTags(
          service,
          scope(ctx),
          str(input['ResourceId'])!,
          fromWireTags(input['TagsList']),
        )
        return {}
      },
    },
    ListTags: {
      readOnly: true,
      resource: () => '*',
      eventResources: (input, ctx) =>
        trailResources(ctx, (input['ResourceIdList'] as string[] | undefined) ?? []),
      async handle(input, ctx) {
        const page = listTags(
          service,
          scope(ctx),
          (input['ResourceIdList'] as string[] | undefined) ?? [],
          str(input['NextToken']),
        )
        return {
          ResourceTagList: page.resources.map(toWireResourceTags),
          ...(page.nextToken ? { NextToken: page.nextToken } : {}),
        }
      },
    },
    PutEventSelectors: {
      readOnly: false,
      ...onTrail('TrailName', service),
      async handle(input, ctx) {
        const basic = fromWireEventSelectors(input['EventSelectors'])
        const advanced = fromWireAdvancedSelectors(input['AdvancedEventSelectors'])
        const t = await service.putEventSelectors(scope(ctx), str(input['TrailName'])!, {
          ...(basic ? { basic } : {}),
          ...(advanced ? { advanced } : {}),
        })
        return { TrailARN: trailArn(t), ...toWireEventSelectors(t.eventSelectors) }
      },
    },
    GetEventSelectors: {
      readOnly: true,
      ...onTrail('TrailName', service),
      async handle(input, ctx) {
        const t = service.find(scope(ctx), str(input['TrailName'])!)
        return { TrailARN: trailArn(t), ...toWireEventSelectors(t.eventSelectors) }
      },
    },
    PutInsightSelectors: {
      readOnly: false,
      ...insightResources(service),
      async handle(input, ctx) {
        const target = insightTarget(insightRefs(input), 'put')
        const t = await service.putInsightSelectors(
          scope(ctx),
          target,
          fromWireInsightSelectors(input['InsightSelectors']),
        )
        return {
          TrailARN: trailArn(t),
          InsightSelectors: toWireInsightSelectors(t.insightSelectors),
        }
      },
    },
    GetInsightSelectors: {
      readOnly: true,
      ...insightResources(service),
      async handle(input, ctx) {
        const t = service.find(scope(ctx), insightTarget(insightRefs(input), 'get'))
        return {
          TrailARN: trailArn(t),
          InsightSelectors: toWireInsightSelectors(
            enabledInsights(t.insightSelectors, trailArn(t)),
          ),
        }
      },
    },
  }
  return ops
}

function insightResources(service: TrailService) {
  const trail = onTrail('TrailName', service)
  return {
    resource: (input: Input, ctx: RequestContext) =>
      input['TrailName'] !== undefined
        ? trail.resource(input, ctx)
        : (str(input['EventDataStore']) ?? '*'),
    eventResources: trail.eventResources,
  }
}
