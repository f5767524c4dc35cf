/**
 * @module pipeline/file-log
 * The embedded EventLog: append-only segment files with length + CRC32 framing and group commit
 * (one write + fdatasync for every record queued while the previous flush ran). A torn tail left by
 * `kill -9` is detected by its CRC or length and truncated at open; everything before it was
 * acknowledged and is kept. Recent records stay in memory so caught-up sinks never touch the disk.
 * The log stores text: the pipeline's CloudTrail records go through `JSON.stringify`/`JSON.parse`
 * (`FileEventLog.open`); other logs (the Lake's audit-event log) pass their own codec.
 */
import { open, readdir, mkdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { CloudTrailRecord } from '../events/record.js'
import type { EventLog, LogEntry } from './event-log.js'

const HEADER = 8
const SEGMENT_BYTES = 64 * 1024 * 1024
const TAIL_RECORDS = 100_000

/** How a log turns its records into the text it stores, and back. */
export interface Codec<T> {
  encode(record: T): string
  decode(text: string): T
}

const JSON_CODEC: Codec<CloudTrailRecord> = {
  encode: (r) => JSON.stringify(r),
  decode: (t) => JSON.parse(t) as CloudTrailRecord,
}

/** Records that are text already. */
export const TEXT_CODEC: Codec<string> = { encode: (t) => t, decode: (t) => t }

interface Pending<T> {
  records: T[]
  resolve: (first: number) => void
  reject: (err: unknown) => void
}

interface Segment {
  first: number
  path: string
}

const segName = (first: number) => `${String(first).padStart(20, '0')}.seg`

export class FileEventLog<T = CloudTrailRecord> implements EventLog<T> {
  private queue: Pending<T>[] = []
  private flushing = false
  private nextSeq = 0
  private tail: T[] = []
  private tailText: string[] = []
  private tailBase = 0
  private waiters: (() => void)[] = []
  private segments: Segment[] = []
  private fh!: FileHandle
  private segBytes = 0
  private closed = false
  /** Set when a failed write could not be undone: appending on would ack records after junk. */
  private failed: Error | undefined

  private constructor(
    private readonly dir: string,
    private readonly codec: Codec<T>,
  ) {}

  /** The pipeline's log of CloudTrail records. */
  static open(dir: string): Promise<FileEventLog> {
    return FileEventLog.openWith(dir, JSON_CODEC)
  }

  /** A log of any records, stored as `codec` encodes them. */
  static async openWith<R>(dir: string, codec: Codec<R>): Promise<FileEventLog<R>> {
    const log = new FileEventLog<R>(dir, codec)
    await log.recover()
    return log
  }

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.seg')).sort()
    this.segments = names.map((n) => ({ first: Number(n.slice(0, 20)), path: join(this.dir, n) }))
    if (this.segments.length === 0) {
      this.segments.push({ first: 0, path: join(this.dir, segName(0)) })
    }
    const last = this.segments[this.segments.length - 1]!
    const { count, validBytes } = await scanSegment(last.path)
    this.fh = await open(last.path, 'a+')
    const { size } = await this.fh.stat()
    if (size > validBytes) {
      await this.fh.truncate(validBytes)
      await this.fh.sync()
    }
    this.segBytes = validBytes
    this.nextSeq = last.first + count
    this.tailBase = this.nextSeq
  }

  next(): number {
    return this.nextSeq
  }

  append(records: T[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error('ERR_LOG_CLOSED: the event log is closed'))
    if (this.failed) return Promise.reject(this.failed)
    if (records.length === 0) return Promise.resolve(this.nextSeq)
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        // Serialize once; the text is kept for sinks (they need not stringify again), and the
        // whole group goes out as one buffer: [len][crc32][payload] per record.
        const texts: string[] = []
        // At most 3 UTF-8 bytes per UTF-16 unit: room enough without measuring each text first.
        let room = 0
        for (const p of batch) {
          for (const r of p.records) {
            const text = this.codec.encode(r)
            texts.push(text)
            room += HEADER + 3 * text.length
          }
        }
        const all = Buffer.allocUnsafe(room)
        let off = 0
        for (const text of texts) {
          const len = all.write(text, off + HEADER)
          all.writeUInt32LE(len, off)
          all.writeUInt32LE(crc32(all.subarray(off + HEADER, off + HEADER + len)), off + 4)
          off += HEADER + len
        }
        const buf = all.subarray(0, off)
        const bytes = off
        try {
          if (this.segBytes > 0 && this.segBytes + bytes > SEGMENT_BYTES) await this.roll()
          await this.fh.writev([buf])
          await this.fh.datasync()
          this.segBytes += bytes
        } catch (err) {
          for (const p of batch) p.reject(err)
          // Cut what the failed write may have left, or the next acked records would follow junk
          // that recovery stops at.
          try {
            await this.fh.truncate(this.segBytes)
          } catch (cause) {
            this.failed = new Error('ERR_LOG_FAILED: a failed write could not be undone', { cause })
            for (const p of this.queue) p.reject(this.failed)
            this.queue = []
          }
          continue
        }
        let t = 0
        for (const p of batch) {
          const first = this.nextSeq
          this.nextSeq += p.records.length
          for (const r of p.records) {
            this.tail.push(r)
            this.tailText.push(texts[t++]!)
          }
          p.resolve(first)
        }
        if (this.tail.length > TAIL_RECORDS * 2) {
          const drop = this.tail.length - TAIL_RECORDS
          this.tail = this.tail.slice(drop)
          this.tailText = this.tailText.slice(drop)
          this.tailBase += drop
        }
        const w = this.waiters
        this.waiters = []
        for (const fn of w) fn()
      }
    } finally {
      this.flushing = false
    }
  }

  private async roll(): Promise<void> {
    await this.fh.close()
    const seg = { first: this.nextSeq, path: join(this.dir, segName(this.nextSeq)) }
    this.segments.push(seg)
    this.fh = await open(seg.path, 'a+')
    this.segBytes = 0
    const dh = await open(this.dir, 'r')
    await dh.sync()
    await dh.close()
  }

  async read(from: number, max: number, waitMs: number): Promise<LogEntry<T>[]> {
    if (from >= this.nextSeq && waitMs > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== done)
          resolve()
        }, waitMs)
        const done = () => {
          clearTimeout(t)
          resolve()
        }
        this.waiters.push(done)
      })
    }
    const end = Math.min(this.nextSeq, from + max)
    if (from >= end) return []
    if (from >= this.tailBase) {
      const out: LogEntry<T>[] = []
      for (let s = from; s < end; s++) {
        const i = s - this.tailBase
        out.push({ seq: s, record: this.tail[i]!, text: this.tailText[i]! })
      }
      return out
    }
    return this.readDisk(from, Math.min(end, this.tailBase) - from)
  }

  private async readDisk(from: number, max: number): Promise<LogEntry<T>[]> {
    let idx = this.segments.length - 1
    while (idx > 0 && this.segments[idx]!.first > from) idx--
    const out: LogEntry<T>[] = []
    for (let i = idx; i < this.segments.length && out.length < max; i++) {
      const seg = this.segments[i]!
      await scanSegment(seg.path, (n, payload) => {
        const seq = seg.first + n
        if (seq >= from && out.length < max) {
          const text = payload.toString()
          out.push({ seq, record: this.codec.decode(text), text })
        }
        return out.length < max
      })
    }
    return out
  }

  async release(seq: number): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.first <= seq) {
      const seg = this.segments.shift()!
      await unlink(seg.path).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5))
    this.closed = true
    for (const w of this.waiters) w()
    await this.fh.close()
  }
}

/** Scans a segment, calling `visit` per valid record; stops at the first torn or corrupt one. */
async function scanSegment(
  path: string,
  visit?: (n: number, payload: Buffer) => boolean,
): Promise<{ count: number; validBytes: number }> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { count: 0, validBytes: 0 }
    throw err
  }
  try {
    const { size } = await fh.stat()
    const chunk = 4 * 1024 * 1024
    let buf = Buffer.alloc(0)
    let filePos = 0
    let consumed = 0
    let count = 0
    for (;;) {
      if (buf.length < HEADER || buf.length < HEADER + buf.readUInt32LE(0)) {
        if (filePos >= size) break
        const want = Math.max(chunk, buf.length >= HEADER ? HEADER + buf.readUInt32LE(0) : 0)
        const next = Buffer.allocUnsafe(Math.min(want, size - filePos))
        const { bytesRead } = await fh.read(next, 0, next.length, filePos)
        filePos += bytesRead
        buf = Buffer.concat([buf, next.subarray(0, bytesRead)])
        continue
      }
      const len = buf.readUInt32LE(0)
      const crc = buf.readUInt32LE(4)
      const payload = buf.subarray(HEADER, HEADER + len)
      // A record is never empty; a zero length is a zero-filled tail (crc32 of nothing is 0).
      if (len === 0 || crc32(payload) !== crc) break
      if (visit && !visit(count, payload))
        return { count: count + 1, validBytes: consumed + HEADER + len }
      count++
      consumed += HEADER + len
      buf = buf.subarray(HEADER + len)
    }
    return { count, validBytes: consumed }
  } finally {
    await fh.close()
  }
}
