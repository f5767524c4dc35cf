/**
 * Test helper for crash tests: a fixed free port (a restarted server must come back on the same
 * URL), clients calling in a loop and keeping the request IDs of acknowledged calls, SIGKILL and
 * restart of a `serve` child process, and waiting until every acknowledged call is found.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { spawnServer, type ServerProcess } from './process.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

export interface CallLoop {
  /** Request IDs of the calls that got a response. */
  readonly acked: Set<string>
  /** Calls that failed (a dead server). */
  readonly errors: number
  /** With `strict`: the first error answer from a live server, or a response without an ID. */
  readonly unexpected: string | undefined
  /** Waits for `n` more acknowledged calls (a server that never answers fails the test). */
  moreAcks(n: number): Promise<void>
  /** Stops the clients and waits for them. */
  stop(): Promise<void>
}

/**
 * `workers` clients making `call` in a loop until `stop()`. `call` resolves with the request ID
 * of the response. With `strict`, only a dead server may fail a call: an error answer (one with
 * an HTTP status) is recorded in `unexpected` and fails `moreAcks`.
 */
export function callLoop(
  call: () => Promise<string | undefined>,
  workers: number,
  opts: { strict?: boolean } = {},
): CallLoop {
  const acked = new Set<string>()
  let errors = 0
  let unexpected: string | undefined
  let running = true
  const worker = async () => {
    while (running) {
      try {
        const id = await call()
        if (id) acked.add(id)
        else if (opts.strict) unexpected ??= 'a response without a request ID'
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } }
        if (opts.strict && e.$metadata?.httpStatusCode !== undefined)
          unexpected ??= `${e.name}: ${e.message}`
        errors++
        await sleep(5)
      }
    }
  }
  const running$ = Array.from({ length: workers }, worker)
  return {
    acked,
    get errors() {
      return errors
    },
    get unexpected() {
      return unexpected
    },
    async moreAcks(n) {
      const floor = acked.size + n
      const deadline = Date.now() + 30_000
      while (acked.size < floor) {
        if (opts.strict) assert.equal(unexpected, undefined)
        assert.ok(Date.now() < deadline, `no ${n} acknowledged calls within 30 s`)
        await sleep(5)
      }
    },
    async stop() {
      running = false
      await Promise.all(running$)
    },
  }
}

/**
 * `kills` times: lets `acksBetween` more calls through, waits a random moment (up to
 * `maxPauseMs`), kills the server with SIGKILL and starts it again with the same arguments; then
 * waits for `acksBetween` more. The clients are stopped at the end, also on failure (looping
 * clients would keep the test process alive for ever). Returns the server now running and the
 * number of acknowledged calls at each kill.
 */
export async function killAndRestart(
  proc: ServerProcess,
  args: string[],
  load: CallLoop,
  o: {
    kills: number
    maxPauseMs: number
    acksBetween?: number
    onRestart?: (p: ServerProcess) => void
  },
): Promise<{ proc: ServerProcess; ackedAtKills: number[] }> {
  const acksBetween = o.acksBetween ?? 30
  const ackedAtKills: number[] = []
  try {
    for (let k = 0; k < o.kills; k++) {
      await load.moreAcks(acksBetween)
      await sleep(Math.random() * o.maxPauseMs)
      ackedAtKills.push(load.acked.size)
      assert.equal(await proc.kill('SIGKILL'), 'SIGKILL')
      // A restart replays the log: on a loaded machine it may take longer than a first start.
      proc = await spawnServer(args, {}, 120_000)
      o.onRestart?.(proc)
    }
    await load.moreAcks(acksBetween)
  } finally {
    await load.stop()
  }
  return { proc, ackedAtKills }
}

/**
 * Counts (`count()`: request ID → times stored) until every acknowledged ID is there or the
 * deadline passes, then asserts that none is missing. Returns the last counts.
 */
export async function waitForEveryAck(
  acked: Iterable<string>,
  count: () => Promise<Map<string, number>>,
  o: { timeoutMs?: number; pollMs?: number } = {},
): Promise<Map<string, number>> {
  const ids = [...acked]
  const deadline = Date.now() + (o.timeoutMs ?? 30_000)
  for (;;) {
    const counts = await count()
    const missing = ids.filter((id) => !counts.has(id))
    if (missing.length === 0 || Date.now() > deadline) {
      assert.deepEqual(missing, [], `${missing.length} of ${ids.length} acknowledged calls lost`)
      return counts
    }
    await sleep(o.pollMs ?? 200)
  }
}
