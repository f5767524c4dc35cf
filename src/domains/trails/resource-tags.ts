/**
 * @module domains/trails/resource-tags
 * AddTags, RemoveTags and ListTags on trails. A ResourceId must be a CloudTrail ARN; trails are the
 * only taggable CloudTrail resources OpenTrail has, so event data store, channel and dashboard ARNs
 * are well-formed but not found. Tags are listed for trails visible from the region and changed
 * only from the trail's home region.
 */
import * as E from './errors.js'
import { trailArn, type Tag, type Trail } from './model.js'
import { decodeToken, encodeToken, fingerprint } from './pagination.js'
import type { Scope, TrailService } from './service.js'
import { mergeTags, removeTags } from './tags.js'

export const MAX_LIST_TAGS_RESOURCES = 20
/** A ListTags page holds whole resources, closing once it holds this many tags. */
export const LIST_TAGS_PAGE_TAGS = 100

const CLOUDTRAIL_ARN = /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):([A-Za-z]+)\/(.+)$/

/** The trail a ResourceId names, visible from the region. */
export function resolveTaggable(service: TrailService, scope: Scope, resourceId: string): Trail {
  const m = CLOUDTRAIL_ARN.exec(resourceId)
  if (!m) {
    throw E.CloudTrailARNInvalidException(
      `Invalid resource ARN: ${resourceId}. Specify the ARN of a trail, for example arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.`,
    )
  }
  const [, region, accountId, type, id] = m as unknown as [string, string, string, string, string]
  switch (type) {
    case 'trail':
      break
    case 'eventdatastore':
      throw E.EventDataStoreNotFoundException(`Event data store ${resourceId} was not found.`)
    case 'channel':
      throw E.ChannelNotFoundException(`Channel ${resourceId} was not found.`)
    case 'dashboard':
      throw E.ResourceNotFoundException(`Dashboard ${resourceId} was not found.`)
    default:
      throw E.ResourceTypeNotSupportedException(
        `Resource type ${type} is not supported; tags apply to trails, event data stores, channels and dashboards.`,
      )
  }
  const trail = service
    .visible(scope)
    .find((t) => accountId === scope.accountId && t.homeRegion === region && t.name === id)
  if (!trail) {
    throw E.ResourceNotFoundException(
      `Resource ${resourceId} was not found for the user: ${scope.accountId} in ${scope.region}.`,
    )
  }
  return trail
}

function forWrite(service: TrailService, scope: Scope, resourceId: string): Trail {
  const trail = resolveTaggable(service, scope, resourceId)
  if (trail.homeRegion !== scope.region) {
    throw E.InvalidHomeRegionException(
      `The tags of trail ${trailArn(trail)} can only be changed from its home region ${trail.homeRegion}; this request was made in ${scope.region}.`,
    )
  }
  return trail
}

export async function addTags(
  service: TrailService,
  scope: Scope,
  resourceId: string,
  tags: Tag[],
): Promise<Trail> {
  const trail = forWrite(service, scope, resourceId)
  return service.modify(scope, trailArn(trail), (t) => ({
    ...t,
    tags: mergeTags(t.tags, tags, resourceId),
  }))
}

export async function removeResourceTags(
  service: TrailService,
  scope: Scope,
  resourceId: string,
  tags: Tag[],
): Promise<Trail> {
  const trail = forWrite(service, scope, resourceId)
  return service.modify(scope, trailArn(trail), (t) => ({ ...t, tags: removeTags(t.tags, tags) }))
}

export interface ResourceTags {
  resourceId: string
  tags: Tag[]
}

export function listTags(
  service: TrailService,
  scope: Scope,
  resourceIds: string[],
  nextToken?: string,
): { resources: ResourceTags[]; nextToken?: string } {
  if (resourceIds.length > MAX_LIST_TAGS_RESOURCES) {
    throw E.InvalidParameterException(
      `ResourceIdList has ${resourceIds.length} ARNs; the limit is ${MAX_LIST_TAGS_RESOURCES}.`,
    )
  }
  const all = resourceIds.map((id) => ({
    resourceId: id,
    tags: resolveTaggable(service, scope, id).tags,
  }))
  const fp = fingerprint([scope.accountId, scope.region, resourceIds])
  let start = 0
  if (nextToken !== undefined) {
    const pos = decodeToken(nextToken, 'ListTags', fp)
    if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 1 || pos >= all.length) {
      throw E.InvalidTokenException('The NextToken is not valid for this request.')
    }
    start = pos
  }
  let end = start
  let count = 0
  while (
    end < all.length &&
    (end === start || count + all[end]!.tags.length <= LIST_TAGS_PAGE_TAGS)
  ) {
    count += all[end]!.tags.length
    end++
  }
  return {
    resources: all.slice(start, end),
    ...(end < all.length ? { nextToken: encodeToken('ListTags', fp, end) } : {}),
  }
}
