/**
 * @module import/parse-pool
 * Runs FileParsers in worker threads (or in this thread when the pool has no workers). A file's
 * chunks go to one worker, in order; the decompressed bytes are copied into a transferable buffer,
 * and the results (texts, times, keys) come back the same way. Parsing in workers keeps the main
 * thread, which also runs the event log and every sink, free for the records that are new.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import {
  FileParser,
  RetentionRefused,
  type ParseCounts,
  type ParsedChunk,
  type ParserOptions,
} from './file-parser.js'
import { ScanError } from './scanner.js'

export interface ParserHandle {
  push(chunk: Buffer, scanOnly: boolean): Promise<ParsedChunk>
  end(): Promise<ParseCounts>
  close(): void
}

interface WireError {
  name: string
  code?: string
  message: string
}

export interface WorkerRequest {
  op: 'open' | 'push' | 'end' | 'close'
  id: number
  seq: number
  opts?: ParserOptions
  chunk?: Uint8Array
  scanOnly?: boolean
}

export interface WorkerReply {
  seq: number
  ok: boolean
  out?: ParsedChunk
  counts?: ParseCounts
  error?: WireError
}

/**
 * Default workers: `OPENTRAIL_IMPORT_WORKERS` when set (0 parses on the main thread), else one fewer
 * than the CPUs (the main thread needs one), at least 1, at most 4.
 */
export function defaultParseWorkers(env = process.env): number {
  const set = env['OPENTRAIL_IMPORT_WORKERS']
  if (set !== undefined && /^\d+$/.test(set.trim())) return Math.min(64, Number(set))
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

function revive(e: WireError): Error {
  if (e.name === 'OlderThanRetention') return new RetentionRefused(e.message)
  if (e.code === 'NotJson' || e.code === 'TruncatedJson' || e.code === 'UnbalancedJson')
    return new ScanError(e.code, e.message)
  return Object.assign(new Error(e.message), { name: e.name })
}

class PoolWorker {
  readonly worker: Worker
  private readonly pending = new Map<number, (r: WorkerReply) => void>()
  open = 0
  failed: Error | undefined
  private terminating = false

  constructor(onFail: (w: PoolWorker) => void) {
    this.worker = new Worker(new URL('./parse-worker-entry.js', import.meta.url))
    this.worker.on('message', (r: WorkerReply) => {
      const done = this.pending.get(r.seq)
      this.pending.delete(r.seq)
      // An idle worker must not keep the process alive; a busy one must (unref after `on`), and so
      // must one being terminated (a late reply must not unref it while close() awaits its exit).
      if (this.pending.size === 0 && !this.terminating) this.worker.unref()
      done?.(r)
    })
    const fail = (err: Error) => {
      if (!this.failed) onFail(this)
      this.failed ??= err
      for (const done of this.pending.values())
        done({ seq: -1, ok: false, error: { name: 'Error', message: err.message } })
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`import parse worker exited (${code})`)))
    this.worker.unref()
  }

  /** Ends the thread; resolves once it has exited. */
  terminate(): Promise<number> {
    this.terminating = true
    this.worker.ref()
    return this.worker.terminate()
  }

  request(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise((resolve) => {
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(req.seq, resolve)
      this.worker.postMessage(req, transfer)
    })
  }
}

export class ParsePool {
  private readonly workers: PoolWorker[] = []
  private nextId = 1
  private nextSeq = 1

  constructor(private readonly size = defaultParseWorkers()) {}

  open(opts: ParserOptions): ParserHandle {
    if (this.size <= 0) return localHandle(opts)
    // A worker that failed (crashed, or was terminated) is dropped at once; a new one takes its place.
    if (this.workers.length < this.size) this.workers.push(new PoolWorker((w) => this.drop(w)))
    const w = this.workers.reduce((a, b) => (b.open < a.open ? b : a))
    const id = this.nextId++
    w.open++
    let closed = false
    const call = async (req: Omit<WorkerRequest, 'seq' | 'id'>, transfer?: ArrayBuffer[]) => {
      const r = await w.request({ ...req, id, seq: this.nextSeq++ }, transfer)
      if (!r.ok) throw revive(r.error!)
      return r
    }
    void call({ op: 'open', opts }).catch(() => undefined)
    return {
      async push(chunk, scanOnly) {
        const copy = new Uint8Array(chunk)
        const r = await call({ op: 'push', chunk: copy, scanOnly }, [copy.buffer])
        return r.out!
      },
      async end() {
        return (await call({ op: 'end' })).counts!
      },
      close() {
        if (closed) return
        closed = true
        w.open--
        void call({ op: 'close' }).catch(() => undefined)
      },
    }
  }

  /** Parsers may be opened again after close (new workers start). */
  async close(): Promise<void> {
    const all = this.workers.splice(0)
    // Awaiting an exit keeps the event loop alive (PoolWorker.terminate refs the thread), else a
    // process with nothing else to do would end while close() is still pending.
    await Promise.all(all.map((w) => w.terminate()))
  }

  private drop(w: PoolWorker): void {
    const i = this.workers.indexOf(w)
    if (i >= 0) this.workers.splice(i, 1)
  }
}

function localHandle(opts: ParserOptions): ParserHandle {
  const p = new FileParser(opts)
  return {
    async push(chunk, scanOnly) {
      p.scanOnly = scanOnly
      return p.push(chunk)
    },
    async end() {
      return p.end()
    },
    close() {},
  }
}
