/**
 * Test helpers for notifications: an HTTP receiver that records webhook calls, an SMTP receiver
 * (the `smtp-server` package speaking real SMTP), a server started with notification settings,
 * and a signed SNS query-protocol call for OpenTrail's own actions.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SNSClient } from '@aws-sdk/client-sns'
import { SMTPServer } from 'smtp-server'
import { loadConfig } from '../../src/config/load.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { readAdminKey } from './server.js'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
  at: number
}

/** An HTTP receiver that records every POST and answers with `status()`. */
export async function receiver(status: () => number = () => 200): Promise<{
  url: string
  got: Received[]
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}> {
  const got: Received[] = []
  let waiters: (() => void)[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const s = status()
      if (s >= 200 && s < 300) {
        got.push({
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        })
      }
      res.writeHead(s)
      res.end()
      const w = waiters
      waiters = []
      for (const f of w) f()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    got,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} requests, got ${got.length}`)
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 100)
        })
      }
      return got
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

export interface Mail {
  from: string
  to: string[]
  data: string
}

export async function smtpReceiver(): Promise<{
  port: number
  mails: Mail[]
  close(): Promise<void>
}> {
  const mails: Mail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        })
        callback()
      })
    },
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.server.address() as AddressInfo).port
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) }
}

export async function until<T>(fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function startNotifyServer(
  dataDir: string,
  notifications: Record<string, unknown>,
): Promise<{
  server: RunningServer
  sns: SNSClient
  key: { accessKeyId: string; secretAccessKey: string }
}> {
  const config = { ...(await loadConfig({ port: 0, dataDir }, {})), notifications }
  const server = await startServer(config as typeof config, {
    logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
  })
  const key = await readAdminKey(dataDir)
  const sns = new SNSClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: key,
    maxAttempts: 1,
  })
  return { server, sns, key }
}

/** A signed query-protocol call (OpenTrail's own SNS actions have no SDK command). */
export async function queryCall(
  url: string,
  key: { accessKeyId: string; secretAccessKey: string },
  params: Record<string, string>,
): Promise<string> {
  const { SignatureV4 } = await import('@smithy/signature-v4')
  const { Hash } = await import('@smithy/hash-node')
  const { HttpRequest } = await import('@smithy/protocol-http')
  const u = new URL(url)
  const body = new URLSearchParams({ ...params, Version: '2010-03-31' }).toString()
  const signer = new SignatureV4({
    service: 'sns',
    region: 'us-east-1',
    credentials: key,
    sha256: Hash.bind(null, 'sha256'),
  })
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    }),
  )
  const res = await fetch(url + '/', { method: 'POST', headers: req.headers, body })
  return res.text()
}
