/**
 * @module import/scanner
 * A streaming splitter for CloudTrail log text (UTF-8 bytes). It finds record objects in `{"Records":[...]}` files
 * (CloudTrail's own format), in top-level arrays (`[{...},{...}]`) and in JSON Lines (or any
 * sequence of top-level objects), without parsing them: it tracks only bracket depth and string
 * state, so each record can be handed to `JSON.parse` on its own and memory stays bounded by the
 * largest record. Records over the size limit are skipped without being kept. A file that ends
 * inside a value is reported as truncated; text that is not JSON at the top level is refused.
 */

export class ScanError extends Error {
  constructor(
    readonly code: 'NotJson' | 'TruncatedJson' | 'UnbalancedJson',
    message: string,
  ) {
    super(message)
    this.name = code
  }
}

export interface ScanOutput {
  /** The text of each complete record object, in order. */
  records: string[]
  /** Byte counts of records skipped for exceeding the limit. */
  oversize: number[]
  /** Elements of a record array that are not objects (strings, numbers, arrays). */
  nonObjects: number
  /**
   * Every skipped element (oversize record or non-object) in element order: `at` is the number of
   * `records` before it, `bytes` an oversize record's size (absent for a non-object).
   */
  skipped: { at: number; bytes?: number }[]
}

const enum Mode {
  /** Between top-level values. */
  Top,
  /** Inside a top-level array: its object elements are records. */
  Array,
  /** Inside a top-level object that may be a record (JSON Lines) or a `{"Records":[...]}` file. */
  Pending,
  /** Inside the `Records` array of a CloudTrail file. */
  Container,
  /** Inside a CloudTrail file object after its `Records` array. */
  ContainerTail,
}

const QUOTE = 34
const BACKSLASH = 92
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const COMMA = 44
const COLON = 58

/** `Records` key detection in Pending mode: 0 idle, 1 after a depth-1 string, 2 after `"Records":`. */
const KEY_IDLE = 0
const KEY_AFTER_STRING = 1
const KEY_AFTER_RECORDS_COLON = 2

export class RecordScanner {
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0
  private depth = 0
  private inString = false
  private mode = Mode.Top
  /** Index in `buf` where the record being read starts; -1 when none is being kept. */
  private recStart = -1
  /** Depth outside the record being read (the record closes when depth returns to it). */
  private recDepth = -1
  /** Whether the record being read is over the limit (its text is no longer kept). */
  private skipping = false
  /** For a skipped record: how many of its characters lie before the start of `buf`. */
  private skipBase = 0
  private inScalar = false
  /** The chunk ended on a backslash inside a string: the next character is escaped. */
  private escapePending = false
  private keyStart = -1
  private keyState = KEY_IDLE
  private lastKeyIsRecords = false
  private started = false
  private elementDepth = -1
  /** Whether a `{"Records":[...]}` container was seen. */
  sawContainer = false
  /** Complete records and skipped elements seen so far. */
  seen = 0

  constructor(private readonly maxBytes: number) {}

  /** Scans `chunk` (UTF-8 bytes, split anywhere) and returns what completed in it. */
  push(chunk: Buffer): ScanOutput {
    const out: ScanOutput = { records: [], oversize: [], nonObjects: 0, skipped: [] }
    let buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk
    if (!this.started) {
      const bom = [0xef, 0xbb, 0xbf]
      const n = Math.min(3, buf.length)
      if (buf.subarray(0, n).every((b, i) => b === bom[i])) {
        if (n < 3) {
          this.buf = buf
          return out
        }
        buf = buf.subarray(3)
      }
      this.started = true
    }
    this.buf = buf
    this.scan(out)
    this.compact()
    return out
  }

  /** Declares the end of the input; throws when it ends inside a value. */
  end(): void {
    if (!this.started && this.buf.length > 0)
      throw new ScanError('NotJson', 'The content is not JSON.')
    if (this.depth > 0 || this.inString) {
      throw new ScanError(
        'TruncatedJson',
        `The JSON ends inside ${this.mode === Mode.Top ? 'a value' : 'a record or array'} ` +
          `(truncated file) after ${this.seen} complete records.`,
      )
    }
  }

  private scan(out: ScanOutput): void {
    const buf = this.buf
    const len = buf.length
    let pos = this.pos
    let depth = this.depth
    if (this.escapePending && pos < len) {
      pos++
      this.escapePending = false
    }
    while (pos < len) {
      if (this.inString) {
        // The hot loop: most of a record is string content.
        let c = 0
        while (pos < len) {
          c = buf[pos++]!
          if (c === QUOTE) break
          if (c === BACKSLASH) pos++
        }
        if (c !== QUOTE || pos > len) {
          if (pos > len) {
            this.escapePending = true
            pos = len
          }
          break
        }
        this.inString = false
        if (this.keyStart >= 0) {
          this.lastKeyIsRecords =
            pos - this.keyStart === 9 &&
            buf.toString('latin1', this.keyStart + 1, pos - 1) === 'Records'
          this.keyStart = -1
          this.keyState = KEY_AFTER_STRING
        }
        continue
      }
      const c = buf[pos]!
      if (c === QUOTE) {
        this.inString = true
        if (this.mode === Mode.Pending && depth === 1) {
          this.keyStart = pos
          this.keyState = KEY_IDLE
        } else if (this.recStart < 0 && !this.skipping) this.element(depth, out)
        pos++
        continue
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (
          this.keyState === KEY_AFTER_RECORDS_COLON &&
          c === OPEN_BRACKET &&
          depth === 1 &&
          this.mode === Mode.Pending
        ) {
          // `{"Records": [` : a CloudTrail file. The object so far was no record.
          this.mode = Mode.Container
          this.sawContainer = true
          this.recStart = -1
          this.skipping = false
          this.keyState = KEY_IDLE
          depth++
          pos++
          continue
        }
        this.keyState = KEY_IDLE
        if (this.recStart < 0 && !this.skipping) {
          if (this.mode === Mode.Top) {
            this.mode = c === OPEN_BRACE ? Mode.Pending : Mode.Array
            if (c === OPEN_BRACE) {
              this.recStart = pos
              this.recDepth = depth
            }
          } else if (this.isElementLevel(depth)) {
            if (c === OPEN_BRACE) {
              this.recStart = pos
              this.recDepth = depth
            } else if (this.elementDepth < 0) {
              out.nonObjects++
              out.skipped.push({ at: out.records.length })
              this.seen++
              this.elementDepth = depth
            }
          }
        }
        depth++
        pos++
        continue
      }
      if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.keyState = KEY_IDLE
        if (depth === 0) {
          throw new ScanError(
            'UnbalancedJson',
            `Unexpected '${String.fromCharCode(c)}' at the top level.`,
          )
        }
        depth--
        pos++
        if (depth === this.recDepth && (this.recStart >= 0 || this.skipping)) {
          if (this.recStart >= 0) out.records.push(buf.toString('utf8', this.recStart, pos))
          else {
            out.oversize.push(this.skipBase + pos)
            out.skipped.push({ at: out.records.length, bytes: this.skipBase + pos })
          }
          this.seen++
          this.recStart = -1
          this.skipping = false
          this.recDepth = -1
          if (this.mode === Mode.Pending) this.mode = Mode.Top
        } else if (depth === this.elementDepth) {
          this.elementDepth = -1
        } else if (this.mode === Mode.Array && depth === 0) this.mode = Mode.Top
        else if (this.mode === Mode.Container && depth === 1) this.mode = Mode.ContainerTail
        else if (this.mode === Mode.ContainerTail && depth === 0) this.mode = Mode.Top
        this.inScalar = false
        continue
      }
      if (c === COMMA) {
        this.inScalar = false
        this.keyState = KEY_IDLE
      } else if (c === COLON) {
        this.keyState =
          this.keyState === KEY_AFTER_STRING && this.lastKeyIsRecords
            ? KEY_AFTER_RECORDS_COLON
            : KEY_IDLE
      } else if (c > 32) {
        if (this.mode === Mode.Top) {
          throw new ScanError(
            'NotJson',
            // The content itself is not quoted: an import may point at any file the server can read.
            `The content is not JSON (an unexpected character after ${this.seen} records).`,
          )
        }
        this.keyState = KEY_IDLE
        if (this.recStart < 0 && !this.skipping && !this.inScalar) {
          if (this.isElementLevel(depth) && this.elementDepth < 0) {
            out.nonObjects++
            out.skipped.push({ at: out.records.length })
            this.seen++
          }
          this.inScalar = true
        }
      }
      pos++
    }
    this.pos = pos
    this.depth = depth
  }

  private isElementLevel(depth: number): boolean {
    return (
      (this.mode === Mode.Array && depth === 1) || (this.mode === Mode.Container && depth === 2)
    )
  }

  /** A string starting outside any record: a non-object element of a record array. */
  private element(depth: number, out: ScanOutput): void {
    if (this.isElementLevel(depth) && this.elementDepth < 0) {
      out.nonObjects++
      out.skipped.push({ at: out.records.length })
      this.seen++
    }
  }

  /** Drops consumed text, keeping only what a later chunk still needs. */
  private compact(): void {
    const buf = this.buf
    let keep = buf.length
    if (this.recStart >= 0) {
      if (this.pos - this.recStart > this.maxBytes) {
        // Over the limit: stop keeping its text; only its length is reported.
        this.skipping = true
        this.skipBase = -this.recStart
        this.recStart = -1
      } else keep = this.recStart
    }
    if (this.recStart < 0 && this.inString && this.keyStart >= 0) {
      if (this.pos - this.keyStart <= 64) keep = this.keyStart
      else this.keyStart = -1
    }
    if (keep === 0) return
    if (this.skipping) this.skipBase += keep
    // Copied, not a view: a view would pin the whole chunk it came from.
    this.buf = keep >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(keep))
    this.pos -= keep
    if (this.recStart >= 0) this.recStart -= keep
    if (this.keyStart >= 0) this.keyStart -= keep
  }
}
