/**
 * @module iam/policy
 * IAM identity-based policy evaluation: explicit Deny wins, then any Allow, else implicit deny.
 * Action and Resource (and NotAction / NotResource) with `*` and `?` wildcards; actions match
 * case-insensitively, resources case-sensitively, as in AWS.
 */

export interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
}

export interface PolicyDocument {
  Version?: string
  Statement: Statement | Statement[]
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny'

const cache = new Map<string, RegExp>()

/** Converts an IAM wildcard pattern (`*`, `?`) to an anchored RegExp. */
export function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const key = (ignoreCase ? 'i:' : 's:') + pattern
  let re = cache.get(key)
  if (!re) {
    const src = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')
    re = new RegExp(`^${src}$`, ignoreCase ? 'is' : 's')
    if (cache.size > 10_000) cache.clear()
    cache.set(key, re)
  }
  return re
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v]

function matchesAny(patterns: string[], value: string, ignoreCase: boolean): boolean {
  return patterns.some((p) => wildcard(p, ignoreCase).test(value))
}

function statementApplies(s: Statement, action: string, resource: string): boolean {
  const actions = list(s.Action)
  const notActions = list(s.NotAction)
  if (actions && !matchesAny(actions, action, true)) return false
  if (notActions && matchesAny(notActions, action, true)) return false
  if (!actions && !notActions) return false
  const resources = list(s.Resource)
  const notResources = list(s.NotResource)
  if (resources && !matchesAny(resources, resource, false)) return false
  if (notResources && matchesAny(notResources, resource, false)) return false
  if (!resources && !notResources) return false
  return true
}

export function evaluate(policies: PolicyDocument[], action: string, resource: string): Decision {
  let allowed = false
  for (const p of policies) {
    for (const s of list(p.Statement as never) as unknown as Statement[]) {
      if (!statementApplies(s, action, resource)) continue
      if (s.Effect === 'Deny') return 'ExplicitDeny'
      if (s.Effect === 'Allow') allowed = true
    }
  }
  return allowed ? 'Allow' : 'ImplicitDeny'
}

/** Rejects documents that are not valid identity-based policies; returns the error text or undefined. */
export function checkPolicy(doc: unknown): string | undefined {
  if (!doc || typeof doc !== 'object') return 'policy must be an object'
  const st = (doc as PolicyDocument).Statement
  if (st === undefined) return 'policy needs a Statement'
  for (const s of (Array.isArray(st) ? st : [st]) as unknown[]) {
    if (!s || typeof s !== 'object' || Array.isArray(s)) return 'each statement must be an object'
    const { Effect, Action, NotAction, Resource, NotResource } = s as Statement
    if (Effect !== 'Allow' && Effect !== 'Deny')
      return `Effect must be Allow or Deny (got ${String(Effect)})`
    if (!Action && !NotAction) return 'each statement needs Action or NotAction'
    if (Action && NotAction) return 'a statement takes Action or NotAction, not both'
    if (!Resource && !NotResource) return 'each statement needs Resource or NotResource'
    if (Resource && NotResource) return 'a statement takes Resource or NotResource, not both'
    for (const [name, v] of Object.entries({ Action, NotAction, Resource, NotResource })) {
      if (v !== undefined && !isPatternList(v))
        return `${name} must be a string or a list of strings`
    }
  }
  return undefined
}

const isPatternList = (v: unknown): boolean =>
  typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))
