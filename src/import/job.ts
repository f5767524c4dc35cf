/**
 * @module import/job
 * The in-memory side of one import job and what its parts share: the job (info, statistics, the
 * files being read, the abort controller), the context of a run (source, time window, retention
 * cutoff, parser options), the `ImportError` codes the API maps, and the manifest entry of a file.
 */
import type { Clock } from '../shared/clock.js'
import type { FileEntry, JobStore } from './manifest.js'
import type { ParserOptions } from './file-parser.js'
import type { ImportSource, SourceFile } from './sources.js'
import type { ImportInfo, ImportStatistics, StoredRequest } from './types.js'

export const DAY_MS = 86_400_000

export class ImportError extends Error {
  constructor(
    readonly code:
      | 'InvalidImportSource'
      | 'InvalidParameter'
      | 'ImportNotFound'
      | 'OlderThanRetention'
      | 'ImportFailed',
    message: string,
  ) {
    super(message)
    this.name = code
  }
}

/** A file being read: its entry so far and the raw bytes read (for progress). */
export interface Live {
  entry: FileEntry
  raw: number
}

export interface RunContext {
  source: ImportSource
  req: StoredRequest
  start: number
  end: number
  cutoff: number
  digests?: Map<string, string>
  signal: AbortSignal
  parser: ParserOptions
}

export class Job {
  store: JobStore | undefined
  controller: AbortController | undefined
  running: Promise<void> | undefined
  stats: ImportStatistics
  readonly live = new Map<string, Live>()
  fatal: Error | undefined

  constructor(public info: ImportInfo) {
    this.stats = info.statistics
  }

  /** Ends the run with `err` (the first one wins). */
  fail(err: Error): void {
    this.fatal ??= err
    this.controller?.abort()
  }
}

export class Aborted extends Error {
  override name = 'AbortError'
}

/** Why a run stops when it meets events older than the destination's retention (mode refuse). */
export function retentionError(
  where: string,
  ctx: RunContext,
  now: number,
  destination: string,
): ImportError {
  const days = Math.round((now - ctx.cutoff) / DAY_MS)
  return new ImportError(
    'OlderThanRetention',
    `${where} holds events older than ${destination}'s retention of ${days} days ` +
      `(before ${new Date(ctx.cutoff).toISOString()}). Nothing from this file was imported. ` +
      `Choose how to import them: raise retentionDays in the server config (up to 3650) and ` +
      `restart the server to keep them searchable; or start again with ` +
      `--older-than-retention import (they are imported and reach trails and other sinks, but ` +
      `Event History drops them at its next hourly retention sweep) or --older-than-retention ` +
      `skip (they are left out and counted).`,
  )
}

export function newEntry(f: SourceFile, clock: Clock): FileEntry {
  return {
    k: f.key,
    v: f.version,
    s: f.size,
    st: 'done',
    ev: 0,
    dup: 0,
    flt: 0,
    rej: 0,
    old: 0,
    t: clock.now().toISOString(),
  }
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1)
}
