/**
 * @module packs/sigma
 * Sigma rules (SigmaHQ YAML) for CloudTrail → EventBridge event patterns: the rule document
 * (logsource, detection, condition) to one pattern. Selections and modifiers are in
 * sigma-modifiers.ts, the condition language in sigma-condition.ts, terms to patterns in
 * sigma-pattern.ts.
 *
 * Supported: `logsource` product aws / service cloudtrail; detection maps (fields ANDed) and lists
 * of maps (ORed); value lists (ORed, or ANDed with `|all`); modifiers `contains`, `startswith`,
 * `endswith`, `all`, `exists`, `cidr`, and `re` when the expression is a plain anchored literal,
 * `.*` runs, or a top-level alternation of such (anything else in a regex is reported); `*`
 * wildcards in values; `null`; conditions with `and`, `or`, `not`, parentheses, `1 of` / `any of`
 * / `all of` a name pattern or `them`, and condition lists.
 *
 * A condition is brought to disjunctive normal form; each term becomes one pattern object on
 * `detail` (several terms go under `$or`). A negated value set becomes `anything-but` (or
 * `exists: false` for an absent field, as Sigma counts it "not matching"). What patterns cannot
 * say (two different operators ANDed on one field, negated sets of prefixes, aggregations,
 * keyword searches, `?` wildcards, other modifiers) is reported per rule; that rule is not loaded.
 *
 * Matching is case-sensitive (Sigma's default is case-insensitive): exact for CloudTrail's
 * canonical names (eventSource, eventName, errorCode), which is what CloudTrail rules test.
 */
import { parse as parseYaml } from 'yaml'
import { dnf, type Expr, parseCondition, Unsupported } from './sigma-condition.js'
import { selectionExpr } from './sigma-modifiers.js'
import { termPattern } from './sigma-pattern.js'

export interface SigmaConversion {
  id: string
  title: string
  level?: string
  description?: string
  /** The event pattern (JSON text), when the rule converts. */
  pattern?: string
  /** Why it does not convert (empty when it does). */
  unsupported: string[]
}

export function convertSigma(text: string, fallbackId = 'sigma-rule'): SigmaConversion {
  let doc: Record<string, unknown>
  try {
    doc = parseYaml(text) as Record<string, unknown>
  } catch (e) {
    return { id: fallbackId, title: fallbackId, unsupported: [`YAML: ${(e as Error).message}`] }
  }
  if (!doc || typeof doc !== 'object') {
    return { id: fallbackId, title: fallbackId, unsupported: ['not a Sigma rule (no mapping)'] }
  }
  const id = typeof doc['id'] === 'string' ? doc['id'] : fallbackId
  const title = typeof doc['title'] === 'string' ? doc['title'] : id
  const out: SigmaConversion = {
    id,
    title,
    ...(typeof doc['level'] === 'string' ? { level: doc['level'] } : {}),
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    unsupported: [],
  }
  const logsource = (doc['logsource'] ?? {}) as Record<string, unknown>
  if (logsource['product'] !== 'aws' || (logsource['service'] ?? 'cloudtrail') !== 'cloudtrail') {
    out.unsupported.push(
      `logsource ${JSON.stringify(logsource)} is not product: aws, service: cloudtrail`,
    )
    return out
  }
  const detection = doc['detection'] as Record<string, unknown> | undefined
  if (!detection || typeof detection !== 'object') {
    out.unsupported.push('no detection')
    return out
  }
  try {
    if (detection['timeframe'] !== undefined) throw new Unsupported('timeframe (aggregation)')
    const selections = new Map<string, Expr>()
    for (const [name, body] of Object.entries(detection)) {
      if (name === 'condition' || name === 'timeframe') continue
      selections.set(name, selectionExpr(name, body))
    }
    const cond = detection['condition']
    const conditions = Array.isArray(cond) ? cond : [cond]
    if (conditions.length === 0 || !conditions.every((c) => typeof c === 'string')) {
      throw new Unsupported('condition must be a string or a list of strings')
    }
    const expr: Expr = {
      t: 'or',
      xs: conditions.map((c) => parseCondition(c, selections)),
    }
    const terms = dnf(expr)
    const patterns = terms.map(termPattern).filter((p): p is Record<string, unknown> => p !== null)
    if (patterns.length === 0) throw new Unsupported('the condition can never match')
    const pattern =
      patterns.length === 1
        ? { detail: patterns[0] }
        : { $or: patterns.map((p) => ({ detail: p })) }
    out.pattern = JSON.stringify(pattern)
  } catch (e) {
    if (e instanceof Unsupported) out.unsupported.push(e.message)
    else throw e
  }
  return out
}

/** A rule name for EventBridge (≤ 64 of `[.\-_A-Za-z0-9]`) from the rule's file name. */
export function sigmaRuleName(file: string): string {
  const base = file.replace(/^.*\//, '').replace(/\.ya?ml$/i, '')
  return ('sigma-' + base).replace(/[^.\-_A-Za-z0-9]/g, '_').slice(0, 64)
}
