/** @module bench/util  Shared helpers for the benchmarks: tables, percentiles, memory, args. */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** Prints a two-column table of figures. */
export function table(title: string, rows: [string, string | number][]): void {
  const w = Math.max(...rows.map(([k]) => k.length))
  const v = Math.max(...rows.map(([, x]) => String(x).length))
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(v + 2)}+`
  console.log(`\n${title}\n${line}`)
  for (const [k, x] of rows) console.log(`| ${k.padEnd(w)} | ${String(x).padStart(v)} |`)
  console.log(line)
}

/** Prints a table with a header row. */
export function grid(title: string, head: string[], rows: (string | number)[][]): void {
  const all = [head, ...rows.map((r) => r.map(String))]
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  const line = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`
  const fmt = (r: (string | number)[]) =>
    `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]!) : String(c).padStart(w[i]!))).join(' | ')} |`
  console.log(`\n${title}\n${line}\n${fmt(head)}\n${line}`)
  for (const r of rows) console.log(fmt(r))
  console.log(line)
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, i)]!
}

export function summary(samples: number[]): { p50: number; p95: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b)
  return {
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  }
}

export const ms = (x: number): string => `${x.toFixed(2)} ms`
export const int = (x: number): string => Math.round(x).toLocaleString('en-US')
export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`

/** Peak resident set size of this process so far (getrusage maxrss). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024
}

/** Total bytes of the files directly in `dir` whose names end with `suffix`. */
export async function dirBytes(dir: string, suffix = ''): Promise<number> {
  let total = 0
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!n.endsWith(suffix)) continue
    total += (await stat(join(dir, n))).size
  }
  return total
}

/** BENCH_FULL=1 (or --full) selects the full sizes (10 million stored events for lookups). */
export const FULL = process.env['BENCH_FULL'] === '1' || process.argv.includes('--full')

/** `--name=value` or `--name value` flags, then the environment variable, then the default. */
export function arg(name: string, env: string, dflt: number): number {
  const argv = process.argv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === `--${name}` && argv[i + 1]) return Number(argv[i + 1])
    if (a.startsWith(`--${name}=`)) return Number(a.slice(name.length + 3))
  }
  const e = process.env[env]
  return e ? Number(e) : dflt
}

export function argString(name: string): string | undefined {
  const argv = process.argv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === `--${name}` && argv[i + 1]) return argv[i + 1]
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3)
  }
  return undefined
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`)
}

/** Bytes the Event History store occupies on disk: DuckDB file (+ WAL) and the LMDB row store. */
export async function historyBytes(dbPath: string): Promise<{ duckdb: number; rows: number }> {
  const size = (p: string) =>
    stat(p).then(
      (s) => Math.min(s.size, s.blocks * 512),
      () => 0,
    )
  return {
    duckdb: (await size(dbPath)) + (await size(dbPath + '.wal')),
    rows: await size(dbPath + '.rows'),
  }
}
