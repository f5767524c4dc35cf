/**
 * @module domains/trails/handlers
 * Wire names (PascalCase) ↔ the trail service. The only file of this domain that knows AWS shapes.
 */
import type { Input, OperationTable, RequestContext } from '../../protocol/operation.js'
import { trailArn, type Trail } from './model.js'
import type { TrailService } from './service.js'

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined)

/** The wire `Trail` shape. */
export function toWireTrail(t: Trail): Record<string, unknown> {
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    ...(t.s3KeyPrefix !== undefined ? { S3KeyPrefix: t.s3KeyPrefix } : {}),
    ...(t.snsTopicName
      ? {
          SnsTopicName: t.snsTopicName,
          SnsTopicARN: `arn:aws:sns:${t.homeRegion}:${t.accountId}:${t.snsTopicName}`,
        }
      : {}),
    IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
    IsMultiRegionTrail: t.isMultiRegionTrail,
    HomeRegion: t.homeRegion,
    TrailARN: trailArn(t),
    LogFileValidationEnabled: t.logFileValidationEnabled,
    ...(t.cloudWatchLogsLogGroupArn
      ? { CloudWatchLogsLogGroupArn: t.cloudWatchLogsLogGroupArn }
      : {}),
    ...(t.cloudWatchLogsRoleArn ? { CloudWatchLogsRoleArn: t.cloudWatchLogsRoleArn } : {}),
    ...(t.kmsKeyId ? { KmsKeyId: t.kmsKeyId } : {}),
    HasCustomEventSelectors: Boolean(t.eventSelectors?.length || t.advancedEventSelectors?.length),
    HasInsightSelectors: Boolean(t.insightSelectors?.length),
    IsOrganizationTrail: t.isOrganizationTrail,
  }
}

/** The CreateTrail/UpdateTrail response shape (Trail less the selector flags). */
function toWireTrailResponse(t: Trail): Record<string, unknown> {
  const w = toWireTrail(t)
  delete w['HasCustomEventSelectors']
  delete w['HasInsightSelectors']
  delete w['HomeRegion']
  return w
}

const scope = (ctx: RequestContext) => ({ accountId: ctx.accountId, region: ctx.region })

function arnFor(service: TrailService, nameOrArn: unknown, ctx: RequestContext): string {
  const v = str(nameOrArn) ?? ''
  if (v.startsWith('arn:')) return v
  try {
    return trailArn(service.find(scope(ctx), v))
  } catch {
    return `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${v}`
  }
}

function trailResource(key: string, service: TrailService) {
  return {
    resource: (input: Input, ctx: RequestContext) => arnFor(service, input[key], ctx),
    eventResources: (input: Input, ctx: RequestContext) => [
      {
        accountId: ctx.accountId,
        type: 'AWS::CloudTrail::Trail',
        ARN: arnFor(service, input[key], ctx),
      },
    ],
  }
}

export function trailOperations(service: TrailService): OperationTable {
  return {
    CreateTrail: {
      readOnly: false,
      resource: (input, ctx) =>
        `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${str(input['Name']) ?? ''}`,
      eventResources: (input, ctx) => [
        {
          accountId: ctx.accountId,
          type: 'AWS::CloudTrail::Trail',
          ARN: `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${str(input['Name']) ?? ''}`,
        },
      ],
      async handle(input, ctx) {
        const tags = (input['TagsList'] as { Key: string; Value?: string }[] | undefined)?.map(
          (t) => ({
            key: t.Key,
            ...(t.Value !== undefined ? { value: t.Value } : {}),
          }),
        )
        const t = await service.create(scope(ctx), {
          name: str(input['Name'])!,
          s3BucketName: str(input['S3BucketName'])!,
          s3KeyPrefix: str(input['S3KeyPrefix']),
          snsTopicName: str(input['SnsTopicName']),
          includeGlobalServiceEvents: bool(input['IncludeGlobalServiceEvents']),
          isMultiRegionTrail: bool(input['IsMultiRegionTrail']),
          enableLogFileValidation: bool(input['EnableLogFileValidation']),
          cloudWatchLogsLogGroupArn: str(input['CloudWatchLogsLogGroupArn']),
          cloudWatchLogsRoleArn: str(input['CloudWatchLogsRoleArn']),
          kmsKeyId: str(input['KmsKeyId']),
          isOrganizationTrail: bool(input['IsOrganizationTrail']),
          tags,
        })
        return toWireTrailResponse(t)
      },
    },
    GetTrail: {
      readOnly: true,
      ...trailResource('Name', service),
      async handle(input, ctx) {
        return { Trail: toWireTrail(service.find(scope(ctx), str(input['Name'])!)) }
      },
    },
    DescribeTrails: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const names = input['trailNameList'] as string[] | undefined
        const includeShadow = bool(input['includeShadowTrails']) ?? true
        let trails = service.visible(scope(ctx))
        if (!includeShadow) trails = trails.filter((t) => t.homeRegion === ctx.region)
        if (names && names.length > 0) {
          trails = trails.filter((t) => names.includes(t.name) || names.includes(trailArn(t)))
        }
        return { trailList: trails.map(toWireTrail) }
      },
    },
    DeleteTrail: {
      readOnly: false,
      ...trailResource('Name', service),
      async handle(input, ctx) {
        await service.remove(scope(ctx), str(input['Name'])!)
        return {}
      },
    },
    StartLogging: {
      readOnly: false,
      ...trailResource('Name', service),
      async handle(input, ctx) {
        await service.setLogging(scope(ctx), str(input['Name'])!, true)
        return {}
      },
    },
    StopLogging: {
      readOnly: false,
      ...trailResource('Name', service),
      async handle(input, ctx) {
        await service.setLogging(scope(ctx), str(input['Name'])!, false)
        return {}
      },
    },
    GetTrailStatus: {
      readOnly: true,
      ...trailResource('Name', service),
      async handle(input, ctx) {
        const t = service.find(scope(ctx), str(input['Name'])!)
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
  }
}
