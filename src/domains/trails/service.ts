/**
 * @module domains/trails/service
 * Trail control plane: AWS's naming rules, the 5-trails-per-region quota, home regions and shadow
 * trails of multi-region trails, logging state.
 */
import type { Clock } from '../../shared/clock.js'
import * as E from './errors.js'
import { trailArn, type Trail } from './model.js'
import type { TrailStore } from './store.js'

export const MAX_TRAILS_PER_REGION = 5

export interface CreateTrailInput {
  name: string
  s3BucketName: string
  s3KeyPrefix?: string
  snsTopicName?: string
  includeGlobalServiceEvents?: boolean
  isMultiRegionTrail?: boolean
  enableLogFileValidation?: boolean
  cloudWatchLogsLogGroupArn?: string
  cloudWatchLogsRoleArn?: string
  kmsKeyId?: string
  isOrganizationTrail?: boolean
  tags?: { key: string; value?: string }[]
}

export interface Scope {
  accountId: string
  region: string
}

/** AWS's trail name rules; returns the violated rule, or undefined when the name is valid. */
export function trailNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 128)
    return 'Trail name must be between 3 and 128 characters.'
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    return 'Trail name can only contain ASCII letters, numbers, periods, underscores and dashes.'
  }
  if (!/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(name))
    return 'Trail name must start and end with a letter or number.'
  if (/[._-]{2}/.test(name))
    return 'Trail name cannot have adjacent periods, underscores or dashes.'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'Trail name cannot be in IP address format.'
  return undefined
}

const ARN_RE = /^arn:aws[\w-]*:cloudtrail:([\w-]+):(\d{12}):trail\/(.+)$/

export class TrailService {
  constructor(
    private readonly store: TrailStore,
    private readonly clock: Clock,
  ) {}

  /** Trails visible from a region: those homed there and the shadows of multi-region trails. */
  visible(scope: Scope): Trail[] {
    return this.store
      .all()
      .filter(
        (t) =>
          t.accountId === scope.accountId &&
          (t.homeRegion === scope.region || t.isMultiRegionTrail),
      )
  }

  /** All trails of every account (delivery, routing). */
  all(): Trail[] {
    return this.store.all()
  }

  /** Finds a trail by name (home region or shadow) or by ARN. */
  find(scope: Scope, nameOrArn: string): Trail {
    const m = ARN_RE.exec(nameOrArn)
    let trail: Trail | undefined
    if (m) {
      trail = this.store
        .all()
        .find((t) => t.accountId === m[2] && t.homeRegion === m[1] && t.name === m[3])
    } else {
      const problem = trailNameProblem(nameOrArn)
      if (problem) throw E.InvalidTrailNameException(problem)
      trail = this.visible(scope).find((t) => t.name === nameOrArn)
    }
    if (!trail) {
      const arn = m
        ? nameOrArn
        : `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:trail/${nameOrArn}`
      throw E.TrailNotFoundException(`Unknown trail: ${arn} for the user: ${scope.accountId}`)
    }
    return trail
  }

  /** Finds a trail that may be changed from this region (its home region). */
  findForWrite(scope: Scope, nameOrArn: string): Trail {
    const t = this.find(scope, nameOrArn)
    if (t.homeRegion !== scope.region) {
      throw E.InvalidHomeRegionException(
        `This operation must be called from the trail's home region, ${t.homeRegion}.`,
      )
    }
    return t
  }

  async create(scope: Scope, input: CreateTrailInput): Promise<Trail> {
    const problem = trailNameProblem(input.name)
    if (problem) throw E.InvalidTrailNameException(problem)
    validateBucket(input.s3BucketName)
    if (input.s3KeyPrefix !== undefined && input.s3KeyPrefix.length > 200) {
      throw E.InvalidS3PrefixException('The S3 key prefix must be at most 200 characters.')
    }
    if (input.isMultiRegionTrail && input.includeGlobalServiceEvents === false) {
      throw E.InvalidParameterCombinationException(
        'Multi-Region trail must include global service events.',
      )
    }
    const mine = this.store.all().filter((t) => t.accountId === scope.accountId)
    if (
      mine.some(
        (t) => t.name === input.name && (t.homeRegion === scope.region || t.isMultiRegionTrail),
      )
    ) {
      throw E.TrailAlreadyExistsException(
        `Trail ${input.name} already exists for customer: ${scope.accountId}`,
      )
    }
    const inRegion = mine.filter((t) => t.homeRegion === scope.region || t.isMultiRegionTrail)
    if (inRegion.length >= MAX_TRAILS_PER_REGION) {
      throw E.MaximumNumberOfTrailsExceededException(
        `User: ${scope.accountId} already has ${MAX_TRAILS_PER_REGION} trails in ${scope.region}.`,
      )
    }
    const trail: Trail = {
      name: input.name,
      accountId: scope.accountId,
      homeRegion: scope.region,
      s3BucketName: input.s3BucketName,
      ...(input.s3KeyPrefix !== undefined ? { s3KeyPrefix: input.s3KeyPrefix } : {}),
      ...(input.snsTopicName ? { snsTopicName: input.snsTopicName } : {}),
      includeGlobalServiceEvents: input.includeGlobalServiceEvents ?? true,
      isMultiRegionTrail: input.isMultiRegionTrail ?? false,
      logFileValidationEnabled: input.enableLogFileValidation ?? false,
      ...(input.cloudWatchLogsLogGroupArn
        ? { cloudWatchLogsLogGroupArn: input.cloudWatchLogsLogGroupArn }
        : {}),
      ...(input.cloudWatchLogsRoleArn
        ? { cloudWatchLogsRoleArn: input.cloudWatchLogsRoleArn }
        : {}),
      ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
      isOrganizationTrail: input.isOrganizationTrail ?? false,
      tags: input.tags ?? [],
      isLogging: false,
      createdAt: this.clock.now().toISOString(),
    }
    await this.store.save([...this.store.all(), trail])
    return trail
  }

  async remove(scope: Scope, nameOrArn: string): Promise<void> {
    const t = this.findForWrite(scope, nameOrArn)
    await this.store.save(this.store.all().filter((x) => x !== t))
  }

  async setLogging(scope: Scope, nameOrArn: string, on: boolean): Promise<Trail> {
    const t = this.findForWrite(scope, nameOrArn)
    const now = this.clock.now().toISOString()
    const next: Trail = on
      ? { ...t, isLogging: true, startLoggingTime: now }
      : { ...t, isLogging: false, stopLoggingTime: now }
    await this.replace(t, next)
    return next
  }

  /** Replaces one trail with its new version, atomically on disk. */
  async replace(old: Trail, next: Trail): Promise<void> {
    await this.store.save(this.store.all().map((x) => (x === old ? next : x)))
  }
}

/** S3 bucket naming rules (general purpose buckets). */
export function validateBucket(name: string): void {
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !/\.\./.test(name) &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  if (!ok) throw E.InvalidS3BucketNameException(`Bucket name is not valid: ${name}`)
}

export { trailArn }
