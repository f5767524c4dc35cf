/**
 * @module import/progress
 * The import's progress line (a bar with files, events, events/s and ETA, redrawn on a terminal,
 * a plain line every 10 s otherwise) and its final summary, from the API's ImportDescription.
 */
import type { WireFailure, WireImport } from './client.js'

const int = (n: number | undefined): string => Math.round(n ?? 0).toLocaleString('en-US')

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

export class ProgressView {
  private samples: { t: number; events: number; bytes: number }[] = []
  private lastPlain = 0
  private drawn = false

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly enabled = true,
  ) {}

  update(w: WireImport, now = Date.now()): void {
    if (!this.enabled) return
    const s = w.ImportStatistics
    const events = s['EventsImported'] ?? 0
    const bytes = s['BytesCompleted'] ?? 0
    this.samples.push({ t: now, events, bytes })
    while (this.samples.length > 2 && now - this.samples[0]!.t > 5000) this.samples.shift()
    const first = this.samples[0]!
    const dt = (now - first.t) / 1000
    const rate = dt > 0 ? (events - first.events) / dt : 0
    const byteRate = dt > 0 ? (bytes - first.bytes) / dt : 0
    const total = s['BytesFound'] ?? 0
    const frac = w.ListingComplete && total > 0 ? Math.min(1, bytes / total) : undefined
    const eta =
      frac !== undefined && byteRate > 0 ? duration(((total - bytes) / byteRate) * 1000) : '?'
    const width = 24
    const filled = frac === undefined ? 0 : Math.round(frac * width)
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
    const pct = frac === undefined ? ' ?%' : `${Math.floor(frac * 100)}%`.padStart(4)
    const files = `${int((s['FilesCompleted'] ?? 0) + (s['FilesFailed'] ?? 0) + (s['FilesSkipped'] ?? 0))}/${int(s['FilesFound'])}${w.ListingComplete ? '' : '+'} files`
    const bad = (s['FilesFailed'] ?? 0) + (s['RecordsRejected'] ?? 0)
    const line =
      `${bar} ${pct} ${files} | ${int(events)} events | ${int(rate)} ev/s | ETA ${eta}` +
      ` | dup ${int(s['DuplicatesSkipped'])}${bad ? ` | bad ${int(bad)}` : ''}`
    if (this.out.isTTY) {
      const cols = this.out.columns ?? 120
      this.out.write(`\r${line.slice(0, cols - 1)}\x1b[K`)
      this.drawn = true
    } else if (now - this.lastPlain >= 10_000) {
      this.lastPlain = now
      this.out.write(`${line}\n`)
    }
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K')
    this.drawn = false
  }
}

/** The final summary: figures, bad files, and a sample of rejected records. */
export function formatSummary(
  w: WireImport,
  failures: WireFailure[],
  elapsedMs: number,
  maxRecords = 20,
): string {
  const s = w.ImportStatistics
  const lines: string[] = []
  const rate = elapsedMs > 0 ? ((s['EventsImported'] ?? 0) / elapsedMs) * 1000 : 0
  lines.push(`Import ${w.ImportId} ${w.ImportStatus} in ${duration(elapsedMs)}: ${w.Source}`)
  lines.push(
    `  files   ${int(s['FilesFound'])} found, ${int(s['FilesCompleted'])} read, ${int(s['FilesFailed'])} failed, ` +
      `${int(s['FilesSkipped'])} skipped (outside the time window by name)`,
  )
  lines.push(
    `  events  ${int(s['EventsImported'])} imported, ${int(s['DuplicatesSkipped'])} duplicates skipped, ` +
      `${int(s['EventsFiltered'])} filtered out, ${int(s['RecordsRejected'])} records rejected` +
      ` (${int(rate)} events/s)`,
  )
  const old = s['EventsOlderThanRetention'] ?? 0
  if (old > 0) {
    const days = w.RetentionDays ?? '?'
    lines.push(
      w.OlderThanRetention === 'skip'
        ? `  ${int(old)} events older than Event History's retention (${days} days) were skipped.`
        : `  WARNING: ${int(old)} imported events are older than Event History's retention (${days} days):\n` +
            `  trails and other sinks received them, but Event History drops them at its next hourly\n` +
            `  sweep. Raise retentionDays in the server config to keep them searchable.`,
    )
  }
  const reasons = Object.entries(s.RejectedByReason ?? {})
  if (reasons.length > 0)
    lines.push(`  rejected by reason: ${reasons.map(([k, n]) => `${k} ${int(n)}`).join(', ')}`)
  if (w.ErrorMessage)
    lines.push(`  ${w.ImportStatus === 'FAILED' ? 'error' : 'note'}: ${w.ErrorMessage}`)
  const files = failures.filter((f) => f.Kind === 'FILE')
  const records = failures.filter((f) => f.Kind === 'RECORD')
  if (files.length > 0) {
    lines.push('Bad files (reported and skipped):')
    for (const f of files) lines.push(`  ${f.Location}: ${f.ErrorType}: ${f.ErrorMessage}`)
  }
  if (records.length > 0) {
    lines.push(
      `Rejected records (${records.length < (s['RecordsRejected'] ?? 0) ? 'a sample' : 'all'}):`,
    )
    for (const f of records.slice(0, maxRecords))
      lines.push(
        `  ${f.Location}${f.EventId ? ` (eventID ${f.EventId})` : ''}: ${f.ErrorType}: ${f.ErrorMessage}`,
      )
    if (records.length > maxRecords)
      lines.push(`  ... and ${records.length - maxRecords} more listed (--json for all)`)
  }
  return lines.join('\n') + '\n'
}
