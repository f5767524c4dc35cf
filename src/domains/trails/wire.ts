/**
 * @module domains/trails/wire
 * AWS wire shapes (PascalCase) of trails, tags and selectors, to and from their domain form. Used by
 * handlers.ts only; the service never sees these names.
 */
import type { InsightSelectorInput } from './insights.js'
import {
  FIELD_OPERATORS,
  snsTopicArn,
  trailArn,
  type AdvancedEventSelector,
  type EventSelectorConfig,
  type FieldSelector,
  type InsightSelector,
  type ReadWriteType,
  type Tag,
  type Trail,
} from './model.js'
import type { ResourceTags } from './resource-tags.js'
import type { BasicEventSelectorInput } from './selector-rules.js'
import type { TrailSettings } from './settings.js'

type Wire = Record<string, unknown>

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined)
const list = (v: unknown): Wire[] | undefined => (Array.isArray(v) ? (v as Wire[]) : undefined)
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined
const upper = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** The wire `Trail` shape (GetTrail, DescribeTrails). */
export function toWireTrail(t: Trail): Wire {
  const topicArn = snsTopicArn(t)
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    ...(t.s3KeyPrefix !== undefined ? { S3KeyPrefix: t.s3KeyPrefix } : {}),
    ...(t.snsTopicName ? { SnsTopicName: t.snsTopicName, SnsTopicARN: topicArn } : {}),
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
    HasCustomEventSelectors: t.hasCustomEventSelectors,
    HasInsightSelectors: t.insightSelectors.length > 0,
    IsOrganizationTrail: t.isOrganizationTrail,
  }
}

/** The CreateTrail/UpdateTrail response shape (Trail less HomeRegion and the selector flags). */
export function toWireTrailResponse(t: Trail): Wire {
  const w = toWireTrail(t)
  delete w['HasCustomEventSelectors']
  delete w['HasInsightSelectors']
  delete w['HomeRegion']
  return w
}

export const toWireTrailInfo = (t: Trail): Wire => ({
  TrailARN: trailArn(t),
  Name: t.name,
  HomeRegion: t.homeRegion,
})

export function fromWireTags(v: unknown): Tag[] {
  return (list(v) ?? []).map((t) => {
    const value = str(t['Value'])
    return { key: str(t['Key']) ?? '', ...(value !== undefined ? { value } : {}) }
  })
}

export const toWireTags = (tags: Tag[]): Wire[] =>
  tags.map((t) => ({ Key: t.key, ...(t.value !== undefined ? { Value: t.value } : {}) }))

export const toWireResourceTags = (r: ResourceTags): Wire => ({
  ResourceId: r.resourceId,
  TagsList: toWireTags(r.tags),
})

export function fromWireEventSelectors(v: unknown): BasicEventSelectorInput[] | undefined {
  return list(v)?.map((s) => {
    const rw = str(s['ReadWriteType']) as ReadWriteType | undefined
    const mgmt = bool(s['IncludeManagementEvents'])
    const resources = list(s['DataResources'])
    const excluded = strings(s['ExcludeManagementEventSources'])
    return {
      ...(rw !== undefined ? { readWriteType: rw } : {}),
      ...(mgmt !== undefined ? { includeManagementEvents: mgmt } : {}),
      ...(resources
        ? {
            dataResources: resources.map((d) => {
              const type = str(d['Type'])
              const values = strings(d['Values'])
              return {
                ...(type !== undefined ? { type } : {}),
                ...(values ? { values } : {}),
              }
            }),
          }
        : {}),
      ...(excluded ? { excludeManagementEventSources: excluded } : {}),
    }
  })
}

export function fromWireAdvancedSelectors(v: unknown): AdvancedEventSelector[] | undefined {
  return list(v)?.map((s) => {
    const name = str(s['Name'])
    return {
      ...(name !== undefined ? { name } : {}),
      fieldSelectors: (list(s['FieldSelectors']) ?? []).map((f) => {
        const out: FieldSelector = { field: str(f['Field']) ?? '' }
        for (const op of FIELD_OPERATORS) {
          const values = strings(f[upper(op)])
          if (values) out[op] = values
        }
        return out
      }),
    }
  })
}

export function toWireEventSelectors(config: EventSelectorConfig): Wire {
  if (config.kind === 'basic') {
    return {
      EventSelectors: config.selectors.map((s) => ({
        ReadWriteType: s.readWriteType,
        IncludeManagementEvents: s.includeManagementEvents,
        DataResources: s.dataResources.map((d) => ({ Type: d.type, Values: d.values })),
        ExcludeManagementEventSources: s.excludeManagementEventSources,
      })),
    }
  }
  return {
    AdvancedEventSelectors: config.selectors.map((s) => ({
      ...(s.name !== undefined ? { Name: s.name } : {}),
      FieldSelectors: s.fieldSelectors.map((f) => {
        const out: Wire = { Field: f.field }
        for (const op of FIELD_OPERATORS) if (f[op]) out[upper(op)] = f[op]
        return out
      }),
    })),
  }
}

export function fromWireInsightSelectors(v: unknown): InsightSelectorInput[] {
  return (list(v) ?? []).map((s) => {
    const type = str(s['InsightType'])
    const categories = strings(s['EventCategories'])
    return {
      ...(type !== undefined ? { insightType: type } : {}),
      ...(categories ? { eventCategories: categories } : {}),
    }
  })
}

export const toWireInsightSelectors = (selectors: InsightSelector[]): Wire[] =>
  selectors.map((s) => ({
    InsightType: s.insightType,
    ...(s.eventCategories ? { EventCategories: s.eventCategories } : {}),
  }))

/** The TrailSettings members of a CreateTrail/UpdateTrail request (absent ones left out). */
export function settingsOf(input: Wire): TrailSettings {
  const out: TrailSettings = {}
  const set = <K extends keyof TrailSettings>(key: K, value: TrailSettings[K]) => {
    if (value !== undefined) out[key] = value
  }
  set('s3BucketName', str(input['S3BucketName']))
  set('s3KeyPrefix', str(input['S3KeyPrefix']))
  set('snsTopicName', str(input['SnsTopicName']))
  set('includeGlobalServiceEvents', bool(input['IncludeGlobalServiceEvents']))
  set('isMultiRegionTrail', bool(input['IsMultiRegionTrail']))
  set('enableLogFileValidation', bool(input['EnableLogFileValidation']))
  set('cloudWatchLogsLogGroupArn', str(input['CloudWatchLogsLogGroupArn']))
  set('cloudWatchLogsRoleArn', str(input['CloudWatchLogsRoleArn']))
  set('kmsKeyId', str(input['KmsKeyId']))
  set('isOrganizationTrail', bool(input['IsOrganizationTrail']))
  return out
}

/** The trail or event data store references of Put/GetInsightSelectors. */
export const insightRefs = (input: Wire) => {
  const refs: { trailName?: string; eventDataStore?: string; insightsDestination?: string } = {}
  const trailName = str(input['TrailName'])
  const eventDataStore = str(input['EventDataStore'])
  const insightsDestination = str(input['InsightsDestination'])
  if (trailName !== undefined) refs.trailName = trailName
  if (eventDataStore !== undefined) refs.eventDataStore = eventDataStore
  if (insightsDestination !== undefined) refs.insightsDestination = insightsDestination
  return refs
}
