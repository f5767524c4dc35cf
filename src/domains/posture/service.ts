/**
 * @module domains/posture/service
 * The posture report from the server's own state: the caller's trails (as DescribeTrails shows them
 * from the caller's region) and their buckets' settings from the object store trails deliver to
 * (embedded or external S3). ACL grants are not part of the stores' settings: the embedded store
 * grants only its owner; on an external S3 use `opentrail check`, which reads GetBucketAcl.
 */
import type { BucketConfiguration } from '../../objectstore/port.js'
import { trailArn, type Trail } from '../trails/model.js'
import { evaluatePosture } from './evaluate.js'
import type { PostureBucket, PostureOptions, PostureReport, PostureTrail } from './model.js'

export interface PostureSources {
  /** The trails of an account visible from a region (home there, or multi-Region). */
  trails: (scope: { accountId: string; region: string }) => Trail[]
  /** A bucket's settings (absent when the object store keeps none). Throws when unreadable. */
  bucketSettings?: (bucket: string) => Promise<BucketConfiguration>
}

export function postureTrailOf(t: Trail): PostureTrail {
  const sel = t.eventSelectors
  return {
    name: t.name,
    arn: trailArn(t),
    homeRegion: t.homeRegion,
    isMultiRegionTrail: t.isMultiRegionTrail,
    ...(t.isOrganizationTrail ? { isOrganizationTrail: true } : {}),
    s3BucketName: t.s3BucketName,
    ...(t.kmsKeyId ? { kmsKeyId: t.kmsKeyId } : {}),
    logFileValidationEnabled: t.logFileValidationEnabled,
    ...(t.cloudWatchLogsLogGroupArn
      ? { cloudWatchLogsLogGroupArn: t.cloudWatchLogsLogGroupArn }
      : {}),
    isLogging: t.isLogging,
    ...(sel.kind === 'advanced'
      ? { advancedEventSelectors: sel.selectors }
      : { eventSelectors: sel.selectors }),
    tags: t.tags,
  }
}

export function postureBucketOf(name: string, c: BucketConfiguration): PostureBucket {
  return {
    name,
    ...(c.policy ? { policy: c.policy } : {}),
    ...(c.publicAccessBlock ? { publicAccessBlock: c.publicAccessBlock } : {}),
    aclGrants: [],
    ...(c.logging?.targetBucket ? { logging: c.logging } : {}),
  }
}

export class PostureService {
  constructor(private readonly sources: PostureSources) {}

  /** Throws RangeError for an unknown control ID. */
  async report(
    scope: { accountId: string; region: string },
    o: PostureOptions = {},
  ): Promise<PostureReport> {
    const trails = this.sources.trails(scope).map(postureTrailOf)
    const buckets: Record<string, PostureBucket> = {}
    for (const name of new Set(trails.map((t) => t.s3BucketName))) {
      const read = this.sources.bucketSettings
      if (!read) {
        buckets[name] = { name, error: 'the object store keeps no bucket settings' }
        continue
      }
      try {
        buckets[name] = postureBucketOf(name, await read(name))
      } catch (err) {
        const e = err as Error
        buckets[name] = { name, error: `${e.name}: ${e.message}` }
      }
    }
    return evaluatePosture({ trails, buckets }, o)
  }
}
