/**
 * @module pipeline/pipeline
 * Sources → log → router → sinks. `ingest` is the acknowledgement point for every source. One loop
 * per sink reads the log from that sink's checkpoint, routes by `accepts`, and retries with backoff
 * when the sink fails; the log releases segments every sink has passed.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { Logger } from '../telemetry/logger.js'
import type { EventLog } from './event-log.js'
import type { Sink } from './sink.js'

const BATCH = 50_000

export interface SinkStatus {
  name: string
  checkpoint: number
  lag: number
  lastError?: string
}

export class Pipeline<T = CloudTrailRecord> {
  private sinks: { sink: Sink<T>; checkpoint: number; lastError?: string }[] = []
  private running = false
  private loops: Promise<void>[] = []
  private progressWaiters: (() => void)[] = []

  constructor(
    private readonly log: EventLog<T>,
    private readonly logger: Logger,
  ) {}

  addSink(sink: Sink<T>): void {
    this.sinks.push({ sink, checkpoint: 0 })
  }

  /** Appends records durably; resolves when they are acknowledged (survive kill -9). */
  ingest(records: T[]): Promise<number> {
    return this.log.append(records)
  }

  async start(): Promise<void> {
    this.running = true
    for (const s of this.sinks) {
      s.checkpoint = await s.sink.checkpoint()
      this.loops.push(this.run(s))
    }
  }

  private async run(s: { sink: Sink<T>; checkpoint: number; lastError?: string }): Promise<void> {
    let backoff = 100
    while (this.running) {
      const b = s.sink.batching
      if (b) await this.linger(s.checkpoint, b)
      const entries = await this.log.read(s.checkpoint, b?.max ?? BATCH, 250)
      if (entries.length === 0) continue
      const upTo = entries[entries.length - 1]!.seq + 1
      const matched = entries.filter((e) => s.sink.accepts(e.record))
      try {
        await s.sink.write(matched, upTo)
        s.checkpoint = upTo
        s.lastError = undefined
        backoff = 100
        this.notifyProgress()
        await this.maybeRelease()
      } catch (err) {
        s.lastError = (err as Error).message
        this.logger.error({ sink: s.sink.name, err: s.lastError }, 'Sink write failed; retrying.')
        await new Promise((r) => setTimeout(r, backoff))
        backoff = Math.min(backoff * 2, 60_000)
      }
    }
  }

  /** Waits while fewer than `b.min` entries follow `from`, for at most `b.lingerMs`, unless drained. */
  private async linger(from: number, b: { min: number; lingerMs: number }): Promise<void> {
    const until = Date.now() + b.lingerMs
    while (
      this.running &&
      this.draining === 0 &&
      this.log.next() - from < b.min &&
      Date.now() < until
    ) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.lingerWakers = this.lingerWakers.filter((w) => w !== wake)
          resolve()
        }
        const timer = setTimeout(wake, 50)
        this.lingerWakers.push(wake)
      })
    }
  }

  private draining = 0
  private lingerWakers: (() => void)[] = []

  private async maybeRelease(): Promise<void> {
    const min = Math.min(...this.sinks.map((s) => s.checkpoint))
    await this.log.release(min)
  }

  private notifyProgress(): void {
    const w = this.progressWaiters
    this.progressWaiters = []
    for (const fn of w) fn()
  }

  /**
   * Resolves when every sink (or only the one named `sink`) has handled everything appended before
   * the call (tests, shutdown, a Lake query). Lingering sinks write at once meanwhile. A sink whose
   * last write failed is not waited for (it is retrying with backoff).
   */
  async drain(timeoutMs = 30_000, sink?: string): Promise<void> {
    const target = this.log.next()
    const deadline = Date.now() + timeoutMs
    const waited = this.sinks.filter((s) => sink === undefined || s.sink.name === sink)
    this.draining++
    for (const w of [...this.lingerWakers]) w()
    try {
      while (waited.some((s) => s.checkpoint < target && !(sink && s.lastError))) {
        if (Date.now() > deadline)
          throw new Error('ERR_PIPELINE_DRAIN: sinks did not catch up in time')
        await new Promise<void>((r) => {
          this.progressWaiters.push(r)
          setTimeout(r, 100)
        })
      }
    } finally {
      this.draining--
    }
  }

  status(): SinkStatus[] {
    const head = this.log.next()
    return this.sinks.map((s) => ({
      name: s.sink.name,
      checkpoint: s.checkpoint,
      lag: head - s.checkpoint,
      ...(s.lastError ? { lastError: s.lastError } : {}),
    }))
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    for (const s of this.sinks) await s.sink.close?.()
    await this.log.close()
  }
}
