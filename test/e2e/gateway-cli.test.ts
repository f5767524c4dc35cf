/**
 * `opentrail serve --gateway HOST:PORT=UPSTREAM_URL` as a user runs it: the upstream credentials
 * come from the standard AWS environment variables, a call through the gateway reaches moto and is
 * recorded; without upstream credentials, or with a malformed flag, serve refuses to start.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { lookupAll } from '../helpers/raw.js'
import { spawnServer, type ServerProcess } from '../helpers/process.js'
import { readAdminKey } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

/** Runs `opentrail serve` expecting it to exit; its exit code and output. */
function serveFails(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

describe('opentrail serve --gateway', () => {
  let moto: MotoServer | undefined
  let dataDir: string
  let server: ServerProcess | undefined
  let skip: string | undefined

  before(async () => {
    moto = await startMotoServer()
    if (!moto) skip = 'moto_server is not on PATH'
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-gw-cli-'))
  })
  after(async () => {
    await server?.kill('SIGTERM')
    await moto?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('starts a gateway with upstream credentials from AWS_* variables and records through it', async (t) => {
    if (skip) return t.skip(skip)
    server = await spawnServer(
      ['--data-dir', dataDir, '--gateway', `127.0.0.1:0=${moto!.endpoint}`],
      {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        OPENTRAIL_LOG_LEVEL: 'silent',
      },
    )
    const line = await new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + 10_000
      const check = () => {
        const m = /Recording gateway (http:\/\/\S+) -> (\S+)/.exec(server!.output())
        if (m) return resolve(m[1]!)
        if (Date.now() > deadline) return reject(new Error(server!.output()))
        setTimeout(check, 50)
      }
      check()
    })
    assert.match(server.output(), new RegExp(`-> ${moto!.endpoint}`))
    const key = await readAdminKey(dataDir)
    const s3 = new S3Client({
      endpoint: line,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
      maxAttempts: 1,
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'gw-cli-flag' }))
    const listed = await s3.send(new ListBucketsCommand({}))
    assert.ok(listed.Buckets?.some((b) => b.Name === 'gw-cli-flag'))
    const ct = new CloudTrailClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
      maxAttempts: 1,
    })
    const deadline = Date.now() + 10_000
    for (;;) {
      const found = await lookupAll(ct, [
        { AttributeKey: 'EventName', AttributeValue: 'CreateBucket' },
      ])
      const ev = found.find((e) => e['eventSource'] === 's3.amazonaws.com')
      if (ev) {
        assert.equal(
          (ev['requestParameters'] as Record<string, unknown>)['bucketName'],
          'gw-cli-flag',
        )
        break
      }
      if (Date.now() > deadline) assert.fail('CreateBucket through the gateway was not recorded')
      await new Promise((r) => setTimeout(r, 200))
    }
    s3.destroy()
    ct.destroy()
  })

  it('refuses to start without upstream credentials or with a malformed --gateway', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-gw-cli-'))
    try {
      const noCreds = await serveFails(
        ['--data-dir', dir, '--gateway', '127.0.0.1:0=http://127.0.0.1:9'],
        {},
      )
      assert.equal(noCreds.code, 2)
      assert.match(noCreds.out, /no upstream credentials/)
      const bad = await serveFails(['--data-dir', dir, '--gateway', 'http://127.0.0.1:9'], {
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
      })
      assert.equal(bad.code, 2)
      assert.match(bad.out, /--gateway/)
      const notUrl = await serveFails(['--data-dir', dir, '--gateway', '127.0.0.1:0=ftp://x'], {
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
      })
      assert.equal(notUrl.code, 2)
      assert.match(notUrl.out, /upstream must be an http or https URL/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
