/**
 * @module rules/service
 * Event rules (EventBridge semantics on the default bus): rules with an event pattern and a state,
 * targets (SNS topic ARNs of OpenTrail, or http/https URLs called directly with optional static
 * headers), persisted in `<dataDir>/rules/rules.json`. Keeps the compiled rule sets that the rules
 * sink matches against: a rule in the operator account sees every event (an organization-wide bus);
 * a rule in another account sees that account's events.
 */
import { join } from 'node:path'
import type { Clock } from '../shared/clock.js'
import { awsError } from '../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { compilePattern, type CompiledPattern } from './pattern.js'
import { RuleSet } from './rule-set.js'

export const ResourceNotFoundException = awsError('ResourceNotFoundException')
export const RuleValidationException = awsError('ValidationException')
export const LimitExceededException = awsError('LimitExceededException')

export interface RuleTarget {
  Id: string
  Arn: string
  Input?: string
  InputPath?: string
  HttpParameters?: { HeaderParameters?: Record<string, string> }
}

export interface Rule {
  name: string
  arn: string
  accountId: string
  region: string
  eventPattern: string
  state: 'ENABLED' | 'DISABLED'
  description?: string
  /** Set for rules a security pack created (`opentrail.packs/<pack>`). */
  managedBy?: string
  createdBy: string
  targets: RuleTarget[]
  createdAt: string
}

export interface CompiledRule {
  rule: Rule
  pattern: CompiledPattern
}

const MAX_RULES = 5000
const MAX_TARGETS = 5

export class RulesService {
  private rules: Rule[] = []
  private compiled = new Map<string, CompiledPattern>()
  private sets: { all: RuleSet<CompiledRule>; byAccount: Map<string, RuleSet<CompiledRule>> } = {
    all: new RuleSet(),
    byAccount: new Map(),
  }

  private constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly operatorAccountId: () => string | undefined,
  ) {}

  static async open(o: {
    dir: string
    clock: Clock
    operatorAccountId: () => string | undefined
  }): Promise<RulesService> {
    const s = new RulesService(join(o.dir, 'rules.json'), o.clock, o.operatorAccountId)
    s.rules = (await readJsonFile<{ rules: Rule[] }>(s.file))?.rules ?? []
    for (const r of s.rules) s.compiled.set(r.arn, compilePattern(r.eventPattern))
    s.rebuild()
    return s
  }

  private rebuild(): void {
    const operator = this.operatorAccountId()
    const all = new RuleSet<CompiledRule>()
    const byAccount = new Map<string, RuleSet<CompiledRule>>()
    for (const rule of this.rules) {
      if (rule.state !== 'ENABLED' || rule.targets.length === 0) continue
      const pattern = this.compiled.get(rule.arn)!
      if (rule.accountId === operator) all.add({ rule, pattern }, pattern)
      else {
        let set = byAccount.get(rule.accountId)
        if (!set) byAccount.set(rule.accountId, (set = new RuleSet()))
        set.add({ rule, pattern }, pattern)
      }
    }
    this.sets = { all, byAccount }
  }

  private async save(): Promise<void> {
    this.rebuild()
    // json-file takes the content now and applies saves in call order; a failed save does not
    // block the next one (this file's own promise chain did).
    await writeJsonFileAtomic(this.file, { rules: this.rules }, 0o600)
  }

  /** Rules (enabled, with targets) whose pattern matches an EventBridge event of `account`. */
  match(event: unknown, account: string): CompiledRule[] {
    const out = this.sets.all.match(event)
    const own = this.sets.byAccount.get(account)
    if (own) for (const r of own.match(event)) out.push(r)
    return out
  }

  /** How many rules are live (enabled with targets). */
  get liveCount(): number {
    let n = this.sets.all.size
    for (const s of this.sets.byAccount.values()) n += s.size
    return n
  }

  arnOf(accountId: string, region: string, name: string): string {
    return `arn:aws:events:${region}:${accountId}:rule/${name}`
  }

  get(accountId: string, region: string, name: string): Rule | undefined {
    return this.rules.find((r) => r.arn === this.arnOf(accountId, region, name))
  }

  require(accountId: string, region: string, name: string): Rule {
    const r = this.get(accountId, region, name)
    if (!r) throw ResourceNotFoundException(`Rule ${name} does not exist on EventBus default.`)
    return r
  }

  list(accountId: string, region: string, prefix?: string): Rule[] {
    return this.rules
      .filter(
        (r) =>
          r.accountId === accountId &&
          r.region === region &&
          (prefix === undefined || r.name.startsWith(prefix)),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  all(): Rule[] {
    return [...this.rules]
  }

  async putRule(o: {
    accountId: string
    region: string
    name: string
    eventPattern?: string
    state?: string
    description?: string
    managedBy?: string
    createdBy?: string
  }): Promise<Rule> {
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(o.name)) {
      throw RuleValidationException(`Rule name ${o.name} is not valid.`)
    }
    if (o.eventPattern === undefined) {
      throw RuleValidationException(
        'Parameter(s) EventPattern or ScheduleExpression must be specified.',
      )
    }
    const pattern = compilePattern(o.eventPattern)
    const state = o.state ?? 'ENABLED'
    if (state !== 'ENABLED' && state !== 'DISABLED') {
      throw RuleValidationException(`State ${state} is not supported.`)
    }
    const arn = this.arnOf(o.accountId, o.region, o.name)
    const existing = this.rules.find((r) => r.arn === arn)
    if (existing) {
      if (existing.managedBy && existing.managedBy !== o.managedBy) {
        throw RuleValidationException(`Rule ${o.name} is managed by ${existing.managedBy}.`)
      }
      existing.eventPattern = o.eventPattern
      existing.state = state
      if (o.description !== undefined) existing.description = o.description
    } else {
      if (this.rules.length >= MAX_RULES) {
        throw LimitExceededException(
          `The requested resource exceeds the maximum number allowed (${MAX_RULES}).`,
        )
      }
      this.rules.push({
        name: o.name,
        arn,
        accountId: o.accountId,
        region: o.region,
        eventPattern: o.eventPattern,
        state,
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.managedBy ? { managedBy: o.managedBy } : {}),
        createdBy: o.createdBy ?? o.accountId,
        targets: [],
        createdAt: this.clock.now().toISOString(),
      })
    }
    this.compiled.set(arn, pattern)
    await this.save()
    return this.rules.find((r) => r.arn === arn)!
  }

  async setState(
    accountId: string,
    region: string,
    name: string,
    state: 'ENABLED' | 'DISABLED',
  ): Promise<void> {
    this.require(accountId, region, name).state = state
    await this.save()
  }

  async deleteRule(accountId: string, region: string, name: string, force = false): Promise<void> {
    const r = this.get(accountId, region, name)
    if (!r) return // DeleteRule of a missing rule succeeds
    if (r.targets.length > 0)
      throw RuleValidationException("Rule can't be deleted since it has targets.")
    if (r.managedBy && !force) {
      throw RuleValidationException(
        `Rule ${name} is managed by ${r.managedBy}; use Force to delete it.`,
      )
    }
    this.rules = this.rules.filter((x) => x !== r)
    this.compiled.delete(r.arn)
    await this.save()
  }

  /**
   * Adds or replaces targets. `checkTarget` says why a target cannot be used (undefined: usable).
   * Returns the entries that failed, as PutTargets reports them.
   */
  async putTargets(
    rule: Rule,
    targets: RuleTarget[],
    checkTarget: (t: RuleTarget) => string | undefined,
  ): Promise<{ TargetId: string; ErrorCode: string; ErrorMessage: string }[]> {
    const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = []
    for (const t of targets) {
      const why = checkTarget(t)
      if (why) {
        failed.push({ TargetId: t.Id, ErrorCode: 'ValidationException', ErrorMessage: why })
        continue
      }
      const i = rule.targets.findIndex((x) => x.Id === t.Id)
      if (i < 0 && rule.targets.length >= MAX_TARGETS) {
        failed.push({
          TargetId: t.Id,
          ErrorCode: 'LimitExceededException',
          ErrorMessage: `A rule can have at most ${MAX_TARGETS} targets.`,
        })
        continue
      }
      const clean: RuleTarget = { Id: t.Id, Arn: t.Arn }
      if (t.Input !== undefined) clean.Input = t.Input
      if (t.InputPath !== undefined) clean.InputPath = t.InputPath
      if (t.HttpParameters?.HeaderParameters) {
        clean.HttpParameters = { HeaderParameters: { ...t.HttpParameters.HeaderParameters } }
      }
      if (i < 0) rule.targets.push(clean)
      else rule.targets[i] = clean
    }
    await this.save()
    return failed
  }

  async removeTargets(
    rule: Rule,
    ids: string[],
  ): Promise<{ TargetId: string; ErrorCode: string; ErrorMessage: string }[]> {
    const failed = ids
      .filter((id) => !rule.targets.some((t) => t.Id === id))
      .map((id) => ({
        TargetId: id,
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: `Target ${id} does not exist on rule ${rule.name}.`,
      }))
    rule.targets = rule.targets.filter((t) => !ids.includes(t.Id))
    await this.save()
    return failed
  }
}
