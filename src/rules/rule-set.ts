/**
 * @module rules/rule-set
 * Many compiled patterns matched against one event. Rules whose pattern pins a field to literal
 * strings (nearly every CloudTrail rule pins `detail.eventName` or `source`) are indexed by that
 * field, so an event is checked only against the rules that can match it; the rest are checked
 * one by one. The result is the same as checking every rule.
 */
import type { CompiledPattern } from './pattern.js'

/** Fields preferred as the index key, most selective first. */
const PREFERRED = ['detail.eventName', 'detail.eventSource', 'source', 'detail-type']

interface Entry<T> {
  key: T
  pattern: CompiledPattern
}

export class RuleSet<T> {
  private readonly byPath = new Map<
    string,
    { keys: string[]; ignoreCase: boolean; byValue: Map<string, Entry<T>[]>; all: Entry<T>[] }
  >()
  private readonly unindexed: Entry<T>[] = []
  private count = 0

  constructor(rules: Iterable<{ key: T; pattern: CompiledPattern }> = []) {
    for (const r of rules) this.add(r.key, r.pattern)
  }

  get size(): number {
    return this.count
  }

  add(key: T, pattern: CompiledPattern): void {
    this.count++
    const entry = { key, pattern }
    const keys = pattern.exactKeys
    if (keys.length === 0) {
      this.unindexed.push(entry)
      return
    }
    const rank = (p: string) => {
      const i = PREFERRED.indexOf(p)
      return i < 0 ? PREFERRED.length : i
    }
    // Case-sensitive keys first: they narrow more.
    const best = [...keys].sort(
      (a, b) =>
        Number(a.ignoreCase ?? false) - Number(b.ignoreCase ?? false) ||
        rank(a.path) - rank(b.path),
    )[0]!
    const id = best.ignoreCase ? `${best.path}\u0000i` : best.path
    let idx = this.byPath.get(id)
    if (!idx) {
      idx = {
        keys: best.path.split('.'),
        ignoreCase: best.ignoreCase ?? false,
        byValue: new Map(),
        all: [],
      }
      this.byPath.set(id, idx)
    }
    idx.all.push(entry)
    for (const v of new Set(best.values)) {
      let list = idx.byValue.get(v)
      if (!list) idx.byValue.set(v, (list = []))
      list.push(entry)
    }
  }

  /** Keys of every rule whose pattern matches `event`, each once. */
  match(event: unknown): T[] {
    const out: T[] = []
    for (const idx of this.byPath.values()) {
      let v: unknown = event
      for (const k of idx.keys) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) {
          v = undefined
          break
        }
        v = (v as Record<string, unknown>)[k]
      }
      // A string value can only match rules that list it; anything else (an array, a value
      // behind an array) is checked against every rule indexed on this path.
      const candidates =
        typeof v === 'string' ? idx.byValue.get(idx.ignoreCase ? v.toLowerCase() : v) : idx.all
      if (candidates) for (const e of candidates) if (e.pattern.matches(event)) out.push(e.key)
    }
    for (const e of this.unindexed) if (e.pattern.matches(event)) out.push(e.key)
    return out
  }
}
