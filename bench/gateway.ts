/**
 * @module bench/gateway
 * The recording gateway's cost, measured in one run against the same upstream:
 *
 * 1. Latency: sequential S3 HeadObject calls (AWS SDK, keep-alive) straight to moto_server and
 *    through the gateway, interleaved so both see the same load; p50/p99 and what the gateway adds
 *    (verify SigV4, IAM, re-sign, record the event durably in the pipeline, relay).
 * 2. Throughput: the same call from N concurrent clients, requests/s each way and their ratio.
 * 3. Uploads: one PUT of a generated body (UNSIGNED-PAYLOAD, streamed from one reused buffer) to
 *    moto directly and through the gateway, and a larger one through the gateway to a discarding
 *    upstream (to see the gateway's own ceiling); MB/s and the process's RSS during the upload.
 *
 *   npx tsx bench/gateway.ts [--calls 1000] [--concurrency 16] [--seconds 10]
 *                            [--upload-mb 1024] [--discard-mb 2048]
 */
import { randomBytes } from 'node:crypto'
import { createServer, request, Agent, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { startMotoServer } from '../src/objectstore/testing/moto-server.js'
import { startTestServer } from '../test/helpers/server.js'
import { arg, grid, int, mib, ms, summary, table } from './util.js'

const CALLS = arg('calls', 'BENCH_GATEWAY_CALLS', 1000)
const CONCURRENCY = arg('concurrency', 'BENCH_GATEWAY_CONCURRENCY', 16)
const SECONDS = arg('seconds', 'BENCH_GATEWAY_SECONDS', 10)
const UPLOAD_MB = arg('upload-mb', 'BENCH_GATEWAY_UPLOAD_MB', 1024)
const DISCARD_MB = arg('discard-mb', 'BENCH_GATEWAY_DISCARD_MB', 2048)
const MIB = 1024 * 1024
const UPSTREAM_KEY = { accessKeyId: 'test', secretAccessKey: 'test' }

type Key = { accessKeyId: string; secretAccessKey: string }

/** An upstream that reads every body to its end and answers 200: the gateway's own ceiling. */
async function discardingUpstream(): Promise<{ url: string; server: Server; bytes: () => number }> {
  let bytes = 0
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length))
    req.on('end', () => {
      res.writeHead(200, { etag: '"0"', 'x-amz-request-id': randomBytes(8).toString('hex') })
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, server, bytes: () => bytes }
}

function s3(endpoint: string, key: Key): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: key,
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
  })
}

/** One PUT of `size` bytes from a reused 1 MiB buffer; RSS sampled every 20 ms meanwhile. */
async function upload(
  endpoint: string,
  key: Key,
  path: string,
  size: number,
): Promise<{ seconds: number; rssBefore: number; rssPeak: number }> {
  const url = new URL(endpoint)
  const signer = new SignatureV4({
    credentials: key,
    region: 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: false,
  })
  const signed = await signer.sign(
    new HttpRequest({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path,
      headers: {
        host: url.host,
        'content-length': String(size),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    }),
  )
  global.gc?.()
  const rssBefore = process.memoryUsage().rss
  let rssPeak = rssBefore
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20)
  const piece = Buffer.alloc(MIB, 'u')
  const t0 = performance.now()
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { method: 'PUT', host: url.hostname, port: url.port, path, headers: signed.headers },
        (res) => {
          res.resume()
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          )
        },
      )
      req.on('error', reject)
      let sent = 0
      const write = () => {
        while (sent < size) {
          const n = Math.min(MIB, size - sent)
          sent += n
          if (!req.write(n === MIB ? piece : piece.subarray(0, n)))
            return void req.once('drain', write)
        }
        req.end()
      }
      write()
    })
  } finally {
    clearInterval(sampler)
  }
  return { seconds: (performance.now() - t0) / 1000, rssBefore, rssPeak }
}

async function main(): Promise<void> {
  const moto = await startMotoServer()
  if (!moto) throw new Error('moto_server is not on PATH')
  const discard = await discardingUpstream()
  const ts = await startTestServer({
    gateways: [
      { listen: '127.0.0.1:0', upstream: moto.endpoint, ...UPSTREAM_KEY },
      { listen: '127.0.0.1:0', upstream: discard.url, ...UPSTREAM_KEY },
      { listen: '127.0.0.1:0', upstream: moto.endpoint, ...UPSTREAM_KEY, waitForRecord: false },
    ],
  })
  const admin = { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey }
  const gw = ts.server.gateways[0]!.url
  const direct = s3(moto.endpoint, UPSTREAM_KEY)
  const via = s3(gw, admin)
  const alongside = s3(ts.server.gateways[2]!.url, admin)
  try {
    await direct.send(new CreateBucketCommand({ Bucket: 'bench' }))
    await direct.send(
      new PutObjectCommand({ Bucket: 'bench', Key: 'small', Body: 'x'.repeat(1024) }),
    )
    const head = new HeadObjectCommand({ Bucket: 'bench', Key: 'small' })
    for (let i = 0; i < 50; i++) {
      await direct.send(head)
      await via.send(head)
      await alongside.send(head)
    }

    // 1. Latency, interleaved.
    const d: number[] = []
    const g: number[] = []
    const a: number[] = []
    for (let i = 0; i < CALLS; i++) {
      for (const [client, out] of [
        [direct, d],
        [via, g],
        [alongside, a],
      ] as const) {
        const t = performance.now()
        await client.send(head)
        out.push(performance.now() - t)
      }
    }
    const sd = summary(d)
    const sg = summary(g)
    const sa = summary(a)
    grid(
      `HeadObject latency, ${int(CALLS)} sequential calls each way (AWS SDK, keep-alive)`,
      ['path', 'p50', 'p95', 'p99'],
      [
        ['straight to moto_server', ms(sd.p50), ms(sd.p95), ms(sd.p99)],
        ['gateway, response after the event is durable', ms(sg.p50), ms(sg.p95), ms(sg.p99)],
        ['  added', ms(sg.p50 - sd.p50), ms(sg.p95 - sd.p95), ms(sg.p99 - sd.p99)],
        ['gateway, waitForRecord: false', ms(sa.p50), ms(sa.p95), ms(sa.p99)],
        ['  added', ms(sa.p50 - sd.p50), ms(sa.p95 - sd.p95), ms(sa.p99 - sd.p99)],
      ],
    )

    // CPU time of this process per call, each way, the pipeline's sinks (Event History, trails,
    // ...) included: what a loaded machine stretches less than wall-clock latency.
    const cpuPerCall = async (client: S3Client): Promise<number> => {
      const c = process.cpuUsage()
      for (let i = 0; i < CALLS; i++) await client.send(head)
      await new Promise((r) => setTimeout(r, 2000))
      const used = process.cpuUsage(c)
      return (used.user + used.system) / 1000 / CALLS
    }
    const cd = await cpuPerCall(direct)
    const cg = await cpuPerCall(via)
    table(
      `CPU time of this process per call (${int(CALLS)} sequential calls, then 2 s to settle)`,
      [
        ['straight to moto_server (the SDK client alone)', ms(cd)],
        ['through the gateway, sinks included', ms(cg)],
        ['added by the gateway and the pipeline', ms(cg - cd)],
      ],
    )

    // 2. Throughput with CONCURRENCY clients for SECONDS each way.
    const rate = async (client: S3Client): Promise<number> => {
      let n = 0
      const end = performance.now() + SECONDS * 1000
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < end) {
            await client.send(head)
            n++
          }
        }),
      )
      return n / SECONDS
    }
    const rd = await rate(direct)
    const rg = await rate(via)
    const ra = await rate(alongside)
    table(`HeadObject throughput, ${CONCURRENCY} concurrent clients, ${SECONDS} s each way`, [
      ['straight to moto_server', `${int(rd)} req/s`],
      ['gateway (durable first)', `${int(rg)} req/s`],
      ['  gateway / direct', `${((rg / rd) * 100).toFixed(0)} %`],
      ['gateway, waitForRecord: false', `${int(ra)} req/s`],
      ['  gateway / direct', `${((ra / rd) * 100).toFixed(0)} %`],
    ])

    // 3. Uploads.
    const rows: (string | number)[][] = []
    const row = (what: string, size: number, r: Awaited<ReturnType<typeof upload>>) =>
      rows.push([
        what,
        mib(size),
        `${(size / MIB / r.seconds).toFixed(1)} MiB/s`,
        mib(r.rssBefore),
        mib(r.rssPeak),
        mib(r.rssPeak - r.rssBefore),
      ])
    const up = UPLOAD_MB * MIB
    row(
      'straight to moto_server',
      up,
      await upload(moto.endpoint, UPSTREAM_KEY, '/bench/direct', up),
    )
    row('through the gateway to moto', up, await upload(gw, admin, '/bench/via', up))
    const big = DISCARD_MB * MIB
    const gwDiscard = ts.server.gateways[1]!.url
    row(
      'through the gateway to a discarding upstream',
      big,
      await upload(gwDiscard, admin, '/bench/discard', big),
    )
    if (discard.bytes() !== big)
      throw new Error(`the discarding upstream got ${discard.bytes()} bytes`)
    grid(
      'One PUT (UNSIGNED-PAYLOAD, streamed); RSS of this process (server + gateway + client)',
      ['path', 'size', 'throughput', 'RSS before', 'RSS peak', 'growth'],
      rows,
    )
  } finally {
    direct.destroy()
    via.destroy()
    alongside.destroy()
    await ts.close()
    await moto.stop()
    discard.server.close()
  }
}

await main()
