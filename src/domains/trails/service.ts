/**
 * @module domains/trails/service
 * Trail control plane: trails and their home regions, shadow trails of multi-region trails, the
 * 5-trails-per-region quota, logging state, tags, event selectors and Insights selectors. Writes are
 * serialized, so that checks (names, quotas) and the write that depends on them are atomic.
 */
import type { Clock } from '../../shared/clock.js'
import { InvalidNextTokenException } from '../../shared/errors.js'
import * as E from './errors.js'
import { normalizeInsightSelectors, type InsightSelectorInput } from './insights.js'
import {
  defaultEventSelectors,
  trailArn,
  type AdvancedEventSelector,
  type EventSelectorConfig,
  type InsightSelector,
  type Tag,
  type Trail,
} from './model.js'
import { decodeToken, encodeToken, fingerprint } from './pagination.js'
import {
  normalizeAdvancedSelectors,
  normalizeBasicSelectors,
  type BasicEventSelectorInput,
} from './selector-rules.js'
import { applySettings, type TrailSettings } from './settings.js'
import type { TrailStore } from './store.js'
import { initialTags } from './tags.js'
import { parseTrailRef, type ParsedTrailArn, validateTrailName } from './validation.js'

export const MAX_TRAILS_PER_REGION = 5

export interface Scope {
  accountId: string
  region: string
}

/** A trail as CreateTrail makes it, before the request's settings: CloudTrail's defaults. */
export function newTrail(
  scope: Scope,
  name: string,
  s3BucketName: string,
  createdAt: string,
): Trail {
  return {
    name,
    accountId: scope.accountId,
    homeRegion: scope.region,
    s3BucketName,
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    logFileValidationEnabled: false,
    isOrganizationTrail: false,
    eventSelectors: defaultEventSelectors(),
    hasCustomEventSelectors: false,
    insightSelectors: [],
    tags: [],
    isLogging: false,
    createdAt,
  }
}

export interface CreateTrailInput extends TrailSettings {
  name: string
  s3BucketName: string
  tags?: Tag[]
}

export interface UpdateTrailInput extends TrailSettings {
  name: string
}

export interface TrailServiceOptions {
  /** Trails per ListTrails page. */
  listTrailsPageSize?: number
}

export class TrailService {
  private tail: Promise<unknown> = Promise.resolve()
  private readonly pageSize: number

  constructor(
    private readonly store: TrailStore,
    private readonly clock: Clock,
    options: TrailServiceOptions = {},
  ) {
    this.pageSize = options.listTrailsPageSize ?? 20
  }

  /** All trails of every account (delivery, routing). */
  all(): Trail[] {
    return this.store.all()
  }

  /** Trails of the account visible from a region: those homed there and multi-region trails. */
  visible(scope: Scope): Trail[] {
    return this.store
      .all()
      .filter(
        (t) =>
          t.accountId === scope.accountId &&
          (t.homeRegion === scope.region || t.isMultiRegionTrail),
      )
  }

  /**
   * Finds a trail by name (among the trails visible from the region) or by ARN (any region of the
   * caller's account).
   */
  find(scope: Scope, nameOrArn: string): Trail {
    const arn = parseTrailRef(nameOrArn)
    const trail = arn
      ? this.byArn(scope, arn)
      : this.visible(scope).find((t) => t.name === nameOrArn)
    if (!trail) {
      const shown = arn
        ? nameOrArn
        : trailArn({ ...scope, homeRegion: scope.region, name: nameOrArn })
      throw E.TrailNotFoundException(`Unknown trail: ${shown} for the user: ${scope.accountId}`)
    }
    return trail
  }

  /** The trail an ARN names, when it is in the caller's account (any region). */
  private byArn(scope: Scope, arn: ParsedTrailArn): Trail | undefined {
    if (arn.accountId !== scope.accountId) return undefined
    return this.store
      .all()
      .find(
        (t) =>
          t.accountId === scope.accountId && t.homeRegion === arn.region && t.name === arn.name,
      )
  }

  /** Finds a trail that may be changed from this region: only from its home region. */
  findForWrite(scope: Scope, nameOrArn: string): Trail {
    const t = this.find(scope, nameOrArn)
    if (t.homeRegion !== scope.region) {
      throw E.InvalidHomeRegionException(
        `The trail ${trailArn(t)} can only be changed from its home region ${t.homeRegion}; this request was made in ${scope.region}.`,
      )
    }
    return t
  }

  /** DescribeTrails: names match trails homed in the region, ARNs any trail of the account. */
  describe(scope: Scope, names: string[] | undefined, includeShadowTrails: boolean): Trail[] {
    let trails = this.visible(scope)
    if (!includeShadowTrails) trails = trails.filter((t) => t.homeRegion === scope.region)
    if (!names || names.length === 0) return trails
    const out: Trail[] = []
    for (const ref of names) {
      const arn = parseTrailRef(ref)
      const found = arn
        ? this.byArn(scope, arn)
        : trails.find((t) => t.name === ref && t.homeRegion === scope.region)
      if (found && !out.includes(found)) out.push(found)
    }
    return out
  }

  /** ListTrails: every trail of the account, in all regions, ordered by ARN, paginated. */
  list(scope: Scope, nextToken?: string): { trails: Trail[]; nextToken?: string } {
    const all = this.store
      .all()
      .filter((t) => t.accountId === scope.accountId)
      .sort((a, b) => (trailArn(a) < trailArn(b) ? -1 : 1))
    const fp = fingerprint([scope.accountId])
    let start = 0
    if (nextToken !== undefined) {
      const after = decodeToken(nextToken, 'ListTrails', fp)
      if (typeof after !== 'string') {
        throw InvalidNextTokenException('The NextToken is not valid for this request.')
      }
      start = all.findIndex((t) => trailArn(t) > after)
      if (start < 0) start = all.length
    }
    const page = all.slice(start, start + this.pageSize)
    const more = start + this.pageSize < all.length
    return {
      trails: page,
      ...(more ? { nextToken: encodeToken('ListTrails', fp, trailArn(page.at(-1)!)) } : {}),
    }
  }

  async create(scope: Scope, input: CreateTrailInput): Promise<Trail> {
    validateTrailName(input.name)
    const blank = newTrail(scope, input.name, input.s3BucketName, this.clock.now().toISOString())
    const trail = applySettings(blank, input)
    trail.tags = initialTags(input.tags ?? [], trailArn(trail))
    return this.exclusive(async () => {
      this.checkPlacement(trail, undefined)
      await this.store.save([...this.store.all(), trail])
      return trail
    })
  }

  async update(scope: Scope, input: UpdateTrailInput): Promise<Trail> {
    return this.exclusive(async () => {
      const old = this.findForWrite(scope, input.name)
      const next = applySettings(old, input)
      if (next.isMultiRegionTrail && !old.isMultiRegionTrail) this.checkPlacement(next, old)
      await this.replace(old, next)
      return next
    })
  }

  /**
   * Name uniqueness and the per-region quota for a trail about to exist: in its home region and,
   * for a multi-region trail, in every region where the account has trails.
   */
  private checkPlacement(trail: Trail, replacing: Trail | undefined): void {
    const others = this.store
      .all()
      .filter((t) => t.accountId === trail.accountId && t !== replacing)
    const regions = new Set([trail.homeRegion])
    if (trail.isMultiRegionTrail) for (const t of others) regions.add(t.homeRegion)
    for (const region of regions) {
      const there = others.filter((t) => t.homeRegion === region || t.isMultiRegionTrail)
      if (there.some((t) => t.name === trail.name)) {
        throw E.TrailAlreadyExistsException(
          `Trail ${trail.name} already exists for customer: ${trail.accountId}`,
        )
      }
      if (there.length >= MAX_TRAILS_PER_REGION) {
        throw E.MaximumNumberOfTrailsExceededException(
          `User: ${trail.accountId} already has ${MAX_TRAILS_PER_REGION} trails in ${region}.`,
        )
      }
    }
  }

  async remove(scope: Scope, nameOrArn: string): Promise<Trail> {
    return this.exclusive(async () => {
      const t = this.findForWrite(scope, nameOrArn)
      await this.store.save(this.store.all().filter((x) => x !== t))
      return t
    })
  }

  async setLogging(scope: Scope, nameOrArn: string, on: boolean): Promise<Trail> {
    return this.modify(scope, nameOrArn, (t) => {
      const now = this.clock.now().toISOString()
      return on
        ? { ...t, isLogging: true, startLoggingTime: now }
        : { ...t, isLogging: false, stopLoggingTime: now }
    })
  }

  async putEventSelectors(
    scope: Scope,
    nameOrArn: string,
    input: { basic?: BasicEventSelectorInput[]; advanced?: AdvancedEventSelector[] },
  ): Promise<Trail> {
    if (input.basic && input.advanced) {
      throw E.InvalidParameterCombinationException(
        'You can use either EventSelectors or AdvancedEventSelectors in a PutEventSelectors request, but not both.',
      )
    }
    if (!input.basic && !input.advanced) {
      throw E.InvalidParameterCombinationException(
        'A PutEventSelectors request must specify EventSelectors or AdvancedEventSelectors.',
      )
    }
    return this.modify(scope, nameOrArn, (t) => {
      const config: EventSelectorConfig = input.basic
        ? { kind: 'basic', selectors: normalizeBasicSelectors(input.basic) }
        : { kind: 'advanced', selectors: normalizeAdvancedSelectors(input.advanced!) }
      try {
        normalizeInsightSelectors(t.insightSelectors, config)
      } catch (err) {
        throw E.InvalidEventSelectorsException(
          `These event selectors do not log the events that the trail's Insights selectors need: ${(err as Error).message}`,
        )
      }
      return { ...t, eventSelectors: config, hasCustomEventSelectors: true }
    })
  }

  async putInsightSelectors(
    scope: Scope,
    nameOrArn: string,
    input: InsightSelectorInput[],
  ): Promise<Trail> {
    return this.modify(scope, nameOrArn, (t) => {
      const insightSelectors: InsightSelector[] = normalizeInsightSelectors(input, t.eventSelectors)
      return { ...t, insightSelectors }
    })
  }

  /** Changes a trail from its home region, atomically. */
  async modify(scope: Scope, nameOrArn: string, change: (t: Trail) => Trail): Promise<Trail> {
    return this.exclusive(async () => {
      const old = this.findForWrite(scope, nameOrArn)
      const next = change(old)
      await this.replace(old, next)
      return next
    })
  }

  /** Replaces one trail with its new version, atomically on disk. Call inside `exclusive`. */
  private async replace(old: Trail, next: Trail): Promise<void> {
    await this.store.save(this.store.all().map((x) => (x === old ? next : x)))
  }

  /** Runs `fn` after every write queued before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => undefined)
    return run
  }
}

export { trailArn }
