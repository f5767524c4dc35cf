/**
 * @module import/parse-worker
 * The worker side of the parse pool: one FileParser per open file; replies carry the parsed chunk
 * (its typed arrays transferred) or the error's name, code and message.
 */
import { parentPort } from 'node:worker_threads'
import { FileParser } from './file-parser.js'
import type { WorkerReply, WorkerRequest } from './parse-pool.js'

const parsers = new Map<number, FileParser>()
const port = parentPort!

port.on('message', (m: WorkerRequest) => {
  try {
    switch (m.op) {
      case 'open':
        parsers.set(m.id, new FileParser(m.opts!))
        port.postMessage({ seq: m.seq, ok: true } satisfies WorkerReply)
        return
      case 'push': {
        const p = parsers.get(m.id)
        if (!p) throw new Error('ERR_IMPORT_WORKER: unknown file')
        p.scanOnly = m.scanOnly ?? false
        const c = m.chunk!
        const out = p.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength))
        port.postMessage({ seq: m.seq, ok: true, out } satisfies WorkerReply, [
          out.timesMs.buffer as ArrayBuffer,
          out.keys.buffer as ArrayBuffer,
        ])
        return
      }
      case 'end': {
        const p = parsers.get(m.id)
        if (!p) throw new Error('ERR_IMPORT_WORKER: unknown file')
        parsers.delete(m.id)
        port.postMessage({ seq: m.seq, ok: true, counts: p.end() } satisfies WorkerReply)
        return
      }
      case 'close':
        parsers.delete(m.id)
        port.postMessage({ seq: m.seq, ok: true } satisfies WorkerReply)
        return
    }
  } catch (err) {
    parsers.delete(m.id)
    const e = err as Error & { code?: string }
    port.postMessage({
      seq: m.seq,
      ok: false,
      error: { name: e.name, message: e.message, ...(e.code ? { code: e.code } : {}) },
    } satisfies WorkerReply)
  }
})
