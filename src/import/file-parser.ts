/**
 * @module import/file-parser
 * The per-file CPU work of an import, runnable on the main thread or in a worker: split the
 * decompressed bytes into records (scanner), parse and validate each, apply the time window,
 * account, region and retention rules, and compute the dedupe keys. What comes out per chunk is
 * compact and transferable: the kept records' original JSON text, their eventTimes and keys. The
 * destination parses a record again only when its key is new, so duplicates cost no parse there.
 */
import { accountOf } from '../events/record.js'
import { writeKey } from './keys.js'
import type { RecordSample } from './manifest.js'
import { RecordScanner } from './scanner.js'
import type { OlderThanRetention } from './types.js'
import { MAX_RECORD_BYTES, parseRecord, tooLarge, type Reject } from './validate.js'

const SAMPLES_PER_FILE = 20

export interface ParserOptions {
  start: number
  end: number
  /** eventTime below this is older than the destination's retention. */
  cutoff: number
  mode: OlderThanRetention
  accounts?: string[]
  regions?: string[]
}

export interface ParsedChunk {
  texts: string[]
  timesMs: Float64Array
  /** 4 words per record. */
  keys: Uint32Array
}

export interface ParseCounts {
  /** Records that parsed and validated (before filters). */
  candidates: number
  filtered: number
  rejected: number
  older: number
  byReason: Record<string, number>
  samples: RecordSample[]
  firstReject?: Reject
  sawContainer: boolean
}

export class RetentionRefused extends Error {
  override name = 'OlderThanRetention'
}

export class FileParser {
  private readonly scanner = new RecordScanner(MAX_RECORD_BYTES)
  private readonly accounts: Set<string> | undefined
  private readonly regions: Set<string> | undefined
  private index = 0
  /** Stop producing records (the JSON structure is still checked; see push). */
  scanOnly = false
  readonly counts: ParseCounts = {
    candidates: 0,
    filtered: 0,
    rejected: 0,
    older: 0,
    byReason: {},
    samples: [],
    sawContainer: false,
  }

  constructor(private readonly o: ParserOptions) {
    this.accounts = o.accounts?.length ? new Set(o.accounts) : undefined
    this.regions = o.regions?.length ? new Set(o.regions) : undefined
  }

  push(chunk: Buffer): ParsedChunk {
    const out = this.scanner.push(chunk)
    const texts: string[] = []
    const times: number[] = []
    const ids: string[] = []
    const c = this.counts
    const o = this.o
    // Scan-only (the checking pass over a file too large to stage) still parses when a record older
    // than the retention would refuse the file, so that nothing of such a file gets written.
    const emit = !this.scanOnly
    if (emit || (o.mode === 'refuse' && o.cutoff > -Infinity)) {
      const skipped = out.skipped
      let next = 0
      for (let j = 0; j < out.records.length; j++) {
        // Skipped elements before this record, so that a sample's index is the element's position.
        while (next < skipped.length && skipped[next]!.at <= j) this.skip(skipped[next++]!)
        const text = out.records[j]!
        const i = this.index++
        const p = parseRecord(text)
        if ('reason' in p) {
          this.reject(p, i)
          continue
        }
        c.candidates++
        const t = p.timeMs
        const r = p.record
        if (
          t < o.start ||
          t > o.end ||
          (this.accounts && !this.accounts.has(accountOf(r))) ||
          (this.regions && !this.regions.has(r.awsRegion))
        ) {
          c.filtered++
          continue
        }
        if (t < o.cutoff) {
          if (o.mode === 'refuse') throw new RetentionRefused('older than retention')
          c.older++
          if (o.mode === 'skip') continue
        }
        if (!emit) continue
        texts.push(text)
        times.push(t)
        ids.push(r.eventID)
      }
      while (next < skipped.length) this.skip(skipped[next++]!)
    }
    const keys = new Uint32Array(ids.length * 4)
    for (let k = 0; k < ids.length; k++) writeKey(ids[k]!, keys, k * 4)
    return { texts, timesMs: Float64Array.from(times), keys }
  }

  end(): ParseCounts {
    this.scanner.end()
    this.counts.sawContainer = this.scanner.sawContainer
    return this.counts
  }

  private skip(s: { bytes?: number }): void {
    const r: Reject =
      s.bytes === undefined
        ? { reason: 'NotAnObject', message: 'The element is not a JSON object.' }
        : tooLarge(s.bytes)
    this.reject(r, this.index++)
  }

  private reject(r: Reject, i: number): void {
    const c = this.counts
    c.rejected++
    c.byReason[r.reason] = (c.byReason[r.reason] ?? 0) + 1
    c.firstReject ??= r
    if (c.samples.length < SAMPLES_PER_FILE) {
      c.samples.push({ i, type: r.reason, msg: r.message, ...(r.eventID ? { id: r.eventID } : {}) })
    }
  }
}
