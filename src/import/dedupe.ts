/**
 * @module import/dedupe
 * The persistent set of eventIDs already in the event log, so that importing the same events twice
 * adds nothing (see docs/decisions/0004-import-dedupe.md).
 *
 * Keys (128 bits, import/keys.ts) are partitioned by the UTC hour of eventTime: a duplicate is the
 * same event delivered again, so it has the same eventTime. Each partition is an append-only file of
 * 16-byte keys on disk and, while an import touches it, an open-addressing hash table in memory.
 *
 * The event log is the write-ahead log of this index. `DedupeSink` is a pipeline sink that reads
 * every record the log acknowledged and appends its key to its partition file (fsync), then commits
 * its checkpoint; after a crash it resumes from that checkpoint, so the index always catches up with
 * the log and never holds a key whose event was not acknowledged. Importers claim keys in memory
 * (synchronously, so concurrent files cannot both import one event) before appending to the log, and
 * give them back if the append fails. A partition leaves memory only when nothing pins it and the
 * sink has persisted every key claimed in it.
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LogEntry } from '../pipeline/event-log.js'
import type { Sink } from '../pipeline/sink.js'
import type { CloudTrailRecord } from '../events/record.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { writeKey } from './keys.js'

const HOUR_MS = 3_600_000
const KEY_BYTES = 16

export const hourOf = (timeMs: number): number => Math.floor(timeMs / HOUR_MS)

/** One hour of keys: linear probing over 4-word slots; the all-zero key is kept as a flag. */
class Partition {
  table: Uint32Array
  mask: number
  count = 0
  hasZero = false
  pins = 0
  /** The sink must have persisted up to this log sequence before the partition may be evicted. */
  needSeq = 0
  lastUsed = 0

  constructor(capacity = 1024) {
    this.table = new Uint32Array(capacity * 4)
    this.mask = capacity - 1
  }

  get bytes(): number {
    return this.table.byteLength
  }

  /** Inserts the key at `k[o..o+3]`; false when it was already present. */
  insert(k: Uint32Array, o: number): boolean {
    const a = k[o]!
    const b = k[o + 1]!
    const c = k[o + 2]!
    const d = k[o + 3]!
    if ((a | b | c | d) === 0) {
      if (this.hasZero) return false
      this.hasZero = true
      this.count++
      return true
    }
    if ((this.count + 1) * 2 > this.mask + 1) this.grow()
    const t = this.table
    let i = (a ^ Math.imul(d, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask
    for (;;) {
      const s = i * 4
      const x = t[s]!
      const y = t[s + 1]!
      const z = t[s + 2]!
      const w = t[s + 3]!
      if ((x | y | z | w) === 0) {
        t[s] = a
        t[s + 1] = b
        t[s + 2] = c
        t[s + 3] = d
        this.count++
        return true
      }
      if (x === a && y === b && z === c && w === d) return false
      i = (i + 1) & this.mask
    }
  }

  private grow(): void {
    const old = this.table
    this.table = new Uint32Array(old.length * 2)
    this.mask = old.length / 2 - 1
    const zero = this.hasZero
    this.count = 0
    this.hasZero = false
    for (let s = 0; s < old.length; s += 4) {
      if ((old[s]! | old[s + 1]! | old[s + 2]! | old[s + 3]!) !== 0) this.insert(old, s)
    }
    if (zero) {
      this.hasZero = true
      this.count++
    }
  }

  /** Removes keys (rare: an append that failed); rebuilds the table without them. */
  remove(keys: Uint32Array, offsets: number[]): void {
    const drop = new Set(
      offsets.map((o) => `${keys[o]},${keys[o + 1]},${keys[o + 2]},${keys[o + 3]}`),
    )
    const old = this.table
    this.table = new Uint32Array(old.length)
    const zero = this.hasZero && !drop.has('0,0,0,0')
    this.count = 0
    this.hasZero = false
    for (let s = 0; s < old.length; s += 4) {
      if ((old[s]! | old[s + 1]! | old[s + 2]! | old[s + 3]!) === 0) continue
      if (drop.has(`${old[s]},${old[s + 1]},${old[s + 2]},${old[s + 3]}`)) continue
      this.insert(old, s)
    }
    if (zero) {
      this.hasZero = true
      this.count++
    }
  }
}

export interface DedupeOptions {
  /** Memory for in-memory partitions before idle ones are dropped (default 256 MiB). */
  memoryBudgetBytes?: number
}

export interface DedupeStats {
  partitionsInMemory: number
  bytesInMemory: number
  persistedSeq: number
}

/** The keys of a batch of events and the partitions they fall in. */
export interface KeyBatch {
  keys: Uint32Array
  hours: number[]
}

export function keyBatch(ids: string[], timesMs: number[]): KeyBatch {
  const keys = new Uint32Array(ids.length * 4)
  const hours = new Array<number>(ids.length)
  for (let i = 0; i < ids.length; i++) {
    writeKey(ids[i]!, keys, i * 4)
    hours[i] = hourOf(timesMs[i]!)
  }
  return { keys, hours }
}

export class DedupeIndex {
  private readonly partitions = new Map<number, Partition>()
  private readonly loading = new Map<number, Promise<Partition>>()
  private readonly locks = new Map<number, Promise<void>>()
  private readonly madeDirs = new Set<string>()
  private persisted = 0
  private waiters: { seq: number; resolve: () => void }[] = []
  private clock = 0
  private readonly budget: number

  private constructor(
    private readonly dir: string,
    opts: DedupeOptions,
  ) {
    this.budget = opts.memoryBudgetBytes ?? 256 * 1024 * 1024
  }

  static async open(dir: string, opts: DedupeOptions = {}): Promise<DedupeIndex> {
    const index = new DedupeIndex(dir, opts)
    await mkdir(join(dir, 'keys'), { recursive: true })
    const cp = await readJsonFile<{ nextSeq: number }>(join(dir, 'checkpoint.json'))
    index.persisted = cp?.nextSeq ?? 0
    return index
  }

  /** The log sequence up to which every event's key is on disk (the sink's checkpoint). */
  get persistedSeq(): number {
    return this.persisted
  }

  stats(): DedupeStats {
    let bytes = 0
    for (const p of this.partitions.values()) bytes += p.bytes
    return {
      partitionsInMemory: this.partitions.size,
      bytesInMemory: bytes,
      persistedSeq: this.persisted,
    }
  }

  /** Resolves once keys are persisted for every log sequence below `seq`. */
  waitPersisted(seq: number): Promise<void> {
    if (this.persisted >= seq) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ seq, resolve }))
  }

  /** Loads and pins the partitions of `hours`, for a claim. */
  async acquire(hours: number[]): Promise<Lease> {
    const distinct = [...new Set(hours)]
    const parts = await Promise.all(distinct.map((h) => this.partition(h)))
    for (const p of parts) p.pins++
    return new Lease(this, new Map(distinct.map((h, i) => [h, parts[i]!])))
  }

  /** @internal */
  touch(p: Partition): void {
    p.lastUsed = ++this.clock
  }

  /** @internal Called when a lease ends. */
  released(parts: Iterable<Partition>, needSeq: number): void {
    for (const p of parts) {
      p.pins--
      if (needSeq > p.needSeq) p.needSeq = needSeq
    }
    this.evict()
  }

  private async partition(hour: number): Promise<Partition> {
    const have = this.partitions.get(hour)
    if (have) return have
    let pending = this.loading.get(hour)
    if (!pending) {
      pending = this.withLock(hour, async () => {
        const p = new Partition()
        let data: Buffer
        try {
          data = await readFile(this.fileOf(hour))
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          data = Buffer.alloc(0)
        }
        const n = Math.floor(data.length / KEY_BYTES)
        const keys = new Uint32Array(n * 4)
        for (let i = 0; i < n * 4; i++) keys[i] = data.readUInt32LE(i * 4)
        for (let i = 0; i < n; i++) p.insert(keys, i * 4)
        this.partitions.set(hour, p)
        return p
      }).finally(() => this.loading.delete(hour))
      this.loading.set(hour, pending)
    }
    return pending
  }

  /**
   * The sink's side: appends the keys of acknowledged records to their partition files (durably),
   * adds them to loaded partitions, then commits `upTo` as the checkpoint.
   */
  async persist(records: CloudTrailRecord[], upTo: number): Promise<void> {
    const ids: string[] = []
    const times: number[] = []
    for (const r of records) {
      const t = typeof r.eventTime === 'string' ? Date.parse(r.eventTime) : NaN
      if (typeof r.eventID !== 'string' || r.eventID === '' || Number.isNaN(t)) continue
      ids.push(r.eventID)
      times.push(t)
    }
    const { keys, hours } = keyBatch(ids, times)
    const byHour = new Map<number, number[]>()
    for (let i = 0; i < hours.length; i++) {
      const h = hours[i]!
      let list = byHour.get(h)
      if (!list) byHour.set(h, (list = []))
      list.push(i * 4)
    }
    await Promise.all(
      [...byHour].map(([hour, offsets]) =>
        this.withLock(hour, async () => {
          const buf = Buffer.allocUnsafe(offsets.length * KEY_BYTES)
          offsets.forEach((o, j) => {
            for (let w = 0; w < 4; w++) buf.writeUInt32LE(keys[o + w]!, j * KEY_BYTES + w * 4)
          })
          await this.append(hour, buf)
          const p = this.partitions.get(hour)
          if (p) for (const o of offsets) p.insert(keys, o)
        }),
      ),
    )
    await writeJsonFileAtomic(join(this.dir, 'checkpoint.json'), { nextSeq: upTo })
    this.persisted = upTo
    const ready = this.waiters.filter((w) => w.seq <= upTo)
    this.waiters = this.waiters.filter((w) => w.seq > upTo)
    for (const w of ready) w.resolve()
    this.evict()
  }

  private async append(hour: number, data: Buffer): Promise<void> {
    const path = this.fileOf(hour)
    const dir = path.slice(0, path.lastIndexOf('/'))
    const fresh = !this.madeDirs.has(dir)
    if (fresh) {
      await mkdir(dir, { recursive: true })
      this.madeDirs.add(dir)
    }
    const fh = await open(path, 'a+')
    try {
      const { size } = await fh.stat()
      // A torn key from a crash would misalign every later one: cut it (the sink rewrites it).
      if (size % KEY_BYTES !== 0) await fh.truncate(size - (size % KEY_BYTES))
      await fh.write(data)
      await fh.datasync()
    } finally {
      await fh.close()
    }
    if (fresh) await syncDir(dir)
  }

  private fileOf(hour: number): string {
    const iso = new Date(hour * HOUR_MS).toISOString()
    return join(
      this.dir,
      'keys',
      iso.slice(0, 4),
      iso.slice(5, 7),
      iso.slice(8, 10),
      `${iso.slice(11, 13)}.keys`,
    )
  }

  private withLock<T>(hour: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(hour) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.then(
      () => undefined,
      () => undefined,
    )
    this.locks.set(hour, tail)
    void tail.then(() => {
      if (this.locks.get(hour) === tail) this.locks.delete(hour)
    })
    return run
  }

  private evict(): void {
    let total = 0
    for (const p of this.partitions.values()) total += p.bytes
    if (total <= this.budget) return
    const idle = [...this.partitions]
      .filter(([, p]) => p.pins === 0 && p.needSeq <= this.persisted)
      .sort((x, y) => x[1].lastUsed - y[1].lastUsed)
    for (const [hour, p] of idle) {
      if (total <= this.budget) break
      this.partitions.delete(hour)
      total -= p.bytes
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}

/** Pinned partitions for one batch: claim its keys, then either commit or give them back. */
export class Lease {
  private claimed: number[] = []
  private batch: KeyBatch | undefined
  private ended = false

  constructor(
    private readonly index: DedupeIndex,
    private readonly parts: Map<number, Partition>,
  ) {}

  /** Synchronously claims every key not yet present; `fresh[i]` is 1 for the new ones. */
  claim(batch: KeyBatch): Uint8Array {
    const fresh = new Uint8Array(batch.hours.length)
    this.batch = batch
    for (let i = 0; i < batch.hours.length; i++) {
      const p = this.parts.get(batch.hours[i]!)
      if (!p) throw new Error('ERR_DEDUPE_LEASE: partition not acquired')
      if (p.insert(batch.keys, i * 4)) {
        fresh[i] = 1
        this.claimed.push(i)
      }
    }
    for (const p of this.parts.values()) this.index.touch(p)
    return fresh
  }

  /** The claimed events are in the log below `seqEnd`; the sink will persist them. */
  commit(seqEnd: number): void {
    if (this.ended) return
    this.ended = true
    this.index.released(this.parts.values(), seqEnd)
  }

  /** The append failed: the claimed keys are given back. */
  abort(): void {
    if (this.ended) return
    this.ended = true
    const batch = this.batch
    if (batch && this.claimed.length > 0) {
      const byHour = new Map<number, number[]>()
      for (const i of this.claimed) {
        const h = batch.hours[i]!
        byHour.set(h, [...(byHour.get(h) ?? []), i * 4])
      }
      for (const [h, offsets] of byHour) this.parts.get(h)!.remove(batch.keys, offsets)
    }
    this.index.released(this.parts.values(), 0)
  }
}

/** The pipeline sink that keeps the dedupe index in step with the event log. */
export class DedupeSink implements Sink {
  readonly name = 'import-dedupe'

  constructor(readonly index: DedupeIndex) {}

  accepts(): boolean {
    return true
  }

  async checkpoint(): Promise<number> {
    return this.index.persistedSeq
  }

  async write(entries: LogEntry[], upTo: number): Promise<void> {
    await this.index.persist(
      entries.map((e) => e.record),
      upTo,
    )
  }
}
