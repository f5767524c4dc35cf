/**
 * The recording gateway in front of a real moto_server: HTTPS towards the clients (tlsDetails), recording alongside the
 * response (waitForRecord: false), an upstream that is down, and a 200 MB upload streamed in
 * bounded memory.
 * Shared setup: test/helpers/gateway.ts.
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { Readable } from 'node:stream'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { sdkError } from '../helpers/raw.js'
import { s3Client as newS3Client } from '../helpers/s3.js'
import { waitFor } from '../helpers/wait.js'
import { gatewayContext, MIB, type Params } from '../helpers/gateway.js'
import type { TestServer } from '../helpers/server.js'

describe('recording gateway in front of moto_server: transport', () => {
  let ts: TestServer
  let gw: string
  let skip: string | undefined
  const { admin, s3Client, recorded, inTrail } = gatewayContext((c) => ({ ts, gw, skip } = c))
  // The bucket these tests use (gateway.test.ts makes its own in its SDK test).
  before(async () => {
    if (skip) return
    const s3 = s3Client()
    await s3.send(new CreateBucketCommand({ Bucket: 'gw-sdk' }))
    s3.destroy()
  })

  it('serves HTTPS and records tlsDetails', async (t) => {
    if (skip) return t.skip(skip)
    const url = ts.server.gateways[2]!.url
    assert.match(url, /^https:/)
    const s3 = newS3Client(url, admin(), {
      requestHandler: { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) },
    })
    const listed = await s3.send(new ListBucketsCommand({}))
    const ev = await recorded('ListBuckets', listed.$metadata.requestId!)
    const tls = ev['tlsDetails'] as Params
    assert.match(String(tls['tlsVersion']), /^TLSv1\.[23]$/)
    assert.ok(tls['cipherSuite'], 'the cipher suite is recorded')
    assert.equal(tls['clientProvidedHostHeader'], new URL(url).host)
    assert.equal((ev['additionalEventData'] as Params)['CipherSuite'], tls['cipherSuite'])
    s3.destroy()
  })

  it('records with waitForRecord: false as well', async (t) => {
    if (skip) return t.skip(skip)
    const s3 = s3Client(admin(), ts.server.gateways[3]!.url)
    const listed = await s3.send(new ListBucketsCommand({}))
    assert.ok(listed.Buckets?.some((b) => b.Name === 'gw-sdk'))
    const ev = await recorded('ListBuckets', listed.$metadata.requestId!)
    assert.equal(ev.errorCode, undefined)
    assert.equal(ev.userIdentity?.accessKeyId, ts.accessKeyId)
    s3.destroy()
  })

  it('answers ServiceUnavailable when the upstream is down, and records it', async (t) => {
    if (skip) return t.skip(skip)
    const s3 = s3Client(admin(), ts.server.gateways[1]!.url)
    const down = await sdkError(s3.send(new ListBucketsCommand({})))
    assert.equal(down.status, 503)
    assert.equal(down.name, 'ServiceUnavailable')
    const ev = await recorded('ListBuckets', down.requestId)
    assert.equal(ev.errorCode, 'ServiceUnavailable')
    assert.match(ev.errorMessage ?? '', /could not reach the upstream/)
    s3.destroy()
  })

  it('streams a 200 MB upload in bounded memory; a client that disconnects leaves nothing behind', async (t) => {
    if (skip) return t.skip(skip)
    const size = 200 * MIB
    const piece = Buffer.alloc(MIB, 'z')
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < size / MIB; i++) yield piece
      })(),
    )
    // The SDK sends a stream of unknown hash as UNSIGNED-PAYLOAD without flexible checksums.
    const s3 = newS3Client(gw, admin(), { requestChecksumCalculation: 'WHEN_REQUIRED' })
    const before = process.memoryUsage().rss
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin', Body: body, ContentLength: size }),
      )
    } finally {
      clearInterval(sampler)
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin' }))
    assert.equal(head.ContentLength, size)
    const growth = peak - before
    t.diagnostic(`RSS growth during the 200 MB upload: ${(growth / MIB).toFixed(1)} MiB`)
    assert.ok(growth < size / 2, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`)
    const ev = await inTrail(
      'the 200 MB PutObject',
      (e) => (e['requestParameters'] as Params | null)?.['key'] === 'big.bin',
    )
    assert.equal((ev['additionalEventData'] as Params)['bytesTransferredIn'], size)

    // The download streams back the same way.
    const downBefore = process.memoryUsage().rss
    let downPeak = downBefore
    const downSampler = setInterval(
      () => (downPeak = Math.max(downPeak, process.memoryUsage().rss)),
      20,
    )
    let received = 0
    let got
    try {
      got = await s3.send(new GetObjectCommand({ Bucket: 'gw-sdk', Key: 'big.bin' }))
      for await (const c of got.Body as AsyncIterable<Buffer>) received += c.length
    } finally {
      clearInterval(downSampler)
    }
    assert.equal(received, size)
    t.diagnostic(
      `RSS growth during the download: ${((downPeak - downBefore) / MIB).toFixed(1)} MiB`,
    )
    assert.ok(downPeak - downBefore < size / 2)
    const getEv = await inTrail(
      'the 200 MB GetObject',
      (e) => e.requestID === got.$metadata.requestId,
    )
    assert.equal((getEv['additionalEventData'] as Params)['bytesTransferredOut'], size)

    // A client that sends 1 MiB of a declared 8 MiB and hangs up: recorded, nothing stored.
    const url = new URL(gw)
    const signer = new SignatureV4({
      credentials: admin(),
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
        path: '/gw-sdk/partial.bin',
        headers: {
          host: url.host,
          'content-length': String(8 * MIB),
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      }),
    )
    await new Promise<void>((resolve) => {
      const req = request({
        method: 'PUT',
        host: url.hostname,
        port: url.port,
        path: '/gw-sdk/partial.bin',
        headers: signed.headers,
      })
      req.on('error', () => resolve())
      req.write(Buffer.alloc(MIB, 'p'), () => setTimeout(() => req.destroy(), 200))
      req.on('close', () => resolve())
    })
    const aborted = await inTrail(
      'the aborted PutObject',
      (e) => (e['requestParameters'] as Params | null)?.['key'] === 'partial.bin',
    )
    assert.equal(aborted.errorCode, 'IncompleteBody')
    await waitFor('no call in flight', async () =>
      ts.server.gateways[0]!.status().inflight === 0 ? true : undefined,
    )
    const none = await sdkError(
      s3.send(new HeadObjectCommand({ Bucket: 'gw-sdk', Key: 'partial.bin' })),
    )
    assert.equal(none.name, 'NotFound')
    s3.destroy()
  })
})
