/**
 * @module objectstore/testing/moto-server
 * Test support: starts `moto_server` (a real S3-protocol server) on a free loopback port as a child
 * process, waits until it answers, and stops it. Returns undefined when `moto_server` is not on PATH,
 * so callers can skip with a message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

export interface MotoServer {
  endpoint: string
  port: number
  stop(): Promise<void>
}

export function motoAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' }).status === 0
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function waitUntilAnswering(url: string, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`)
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`moto_server did not answer at ${url} in ${ms} ms`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

export async function startMotoServer(): Promise<MotoServer | undefined> {
  if (!motoAvailable()) return undefined
  const port = await freePort()
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000)
  })
  const endpoint = `http://127.0.0.1:${port}`
  try {
    await waitUntilAnswering(endpoint, child, 30_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err })
  }
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
