/**
 * @module bench/validate-logs
 * `opentrail validate-logs` against the AWS CLI's `aws cloudtrail validate-logs` on the same
 * 24-hour chain, in the same run: 24 hourly digests and a log file every 5 minutes (288), served
 * by a started OpenTrail (CloudTrail API and S3 API on one endpoint). Reports both wall times, the
 * speed-up, and whether both tools reach the same verdicts (the summary counts).
 *
 *   npx tsx bench/validate-logs.ts [--events-per-file 200]
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CloudTrailClient, CreateTrailCommand } from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { loadConfig } from '../src/config/load.js'
import { SigningKeyStore } from '../src/digest/keystore.js'
import { TrailDelivery } from '../src/delivery/trail-delivery.js'
import { openJsonTrailStore } from '../src/domains/trails/store.js'
import { startServer } from '../src/main.js'
import { LocalObjectStore } from '../src/objectstore/local-store.js'
import { createLogger } from '../src/telemetry/logger.js'
import { readAdminKey } from '../test/helpers/server.js'
import { EventGenerator } from './generator.js'
import { arg, int, table } from './util.js'

const PER_FILE = arg('events-per-file', 'BENCH_VALIDATE_EVENTS_PER_FILE', 200)
const BIN = fileURLToPath(new URL('../bin/opentrail.js', import.meta.url))
const BUCKET = 'bench-validate'

function run(cmd: string, args: string[], env: Record<string, string | undefined>) {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k]
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>(
    (resolve, reject) => {
      const t0 = performance.now()
      const child = spawn(cmd, args, { env: merged, stdio: 'pipe' })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      child.once('error', reject)
      child.once('exit', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }))
    },
  )
}

/** The summary's counts ("24/24 digest files valid", ...), the comparable verdict. */
const verdict = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => / files valid/.test(l))
    .join('; ')

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'opentrail-bench-validate-'))
  const dataDir = join(dir, 'data')
  try {
    // 1. A server creates the account, the bucket and the trail.
    const config = await loadConfig({ port: 0, dataDir }, {})
    let server = await startServer(config, { logger: createLogger('silent') })
    const key = await readAdminKey(dataDir)
    const s3 = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
    })
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    const ct = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials: key })
    const created = await ct.send(
      new CreateTrailCommand({
        Name: 'bench',
        S3BucketName: BUCKET,
        EnableLogFileValidation: true,
      }),
    )
    await server.close()

    // 2. 24 hours of delivery, replayed with a simulated clock into the same data directory.
    const hour = 3600_000
    const t0 = Math.floor(Date.now() / hour) * hour - 24 * hour
    let now = t0 + 1000
    const clock = { now: () => new Date(now) }
    const stored = (await openJsonTrailStore(join(dataDir, 'trails.json'))).all()[0]!
    const trail = { ...stored, isLogging: true, startLoggingTime: new Date(t0).toISOString() }
    const delivery = await TrailDelivery.open({
      dir: join(dir, 'replay-delivery'),
      store: await LocalObjectStore.open(join(dataDir, 'buckets')),
      trails: { all: () => [trail] },
      keys: await SigningKeyStore.open(join(dataDir, 'keys'), clock, {
        rotationSeconds: config.signingKeyRotationSeconds,
      }),
      clock,
      logger: createLogger('silent'),
      deliveryIntervalSeconds: 300,
      digestIntervalSeconds: 3600,
    })
    const gen = EventGenerator.load({ seed: 5 })
    await delivery.tick()
    let seq = 0
    for (let step = 0; step < 288; step++) {
      const from = t0 + step * 300_000
      now = from + 299_000
      const records = gen.batch(PER_FILE, from + 1000, now).map((r) => ({
        ...r,
        awsRegion: 'us-east-1',
        recipientAccountId: trail.accountId,
        userIdentity: { ...r.userIdentity, accountId: trail.accountId },
        eventCategory: 'Management',
        managementEvent: true,
      }))
      const entries = records.map((record) => ({ seq: seq++, record }))
      await delivery.write(entries, seq)
      await delivery.flush()
      now = from + 300_500
      await delivery.tick()
    }
    await delivery.close()

    // 3. Both validators against the restarted server.
    server = await startServer(config, { logger: createLogger('silent') })
    const start = new Date(t0).toISOString()
    const end = new Date(t0 + 24 * hour + 60_000).toISOString()
    const common = ['--trail-arn', created.TrailARN!, '--start-time', start, '--end-time', end]
    const ours = await run(
      process.execPath,
      [BIN, 'validate-logs', ...common, '--endpoint-url', server.url, '--no-progress'],
      { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey },
    )
    const theirs = await run('aws', ['cloudtrail', 'validate-logs', ...common], {
      AWS_ENDPOINT_URL_CLOUDTRAIL: server.url,
      AWS_ENDPOINT_URL_S3: server.url,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent',
    }).catch((err: Error) => ({ code: null, stdout: '', stderr: err.message, ms: NaN }))
    await server.close()
    table('validate-logs on a 24-hour chain', [
      ['digest files', '24 (hourly)'],
      ['log files', `288 x ${int(PER_FILE)} events`],
      ['opentrail validate-logs', `${(ours.ms / 1000).toFixed(2)} s (exit ${ours.code})`],
      ['aws cloudtrail validate-logs', `${(theirs.ms / 1000).toFixed(2)} s (exit ${theirs.code})`],
      ['speed-up', `${(theirs.ms / ours.ms).toFixed(1)}x`],
      ['opentrail verdict', verdict(ours.stdout) || ours.stderr.trim()],
      ['AWS CLI verdict', verdict(theirs.stdout) || theirs.stderr.trim()],
      ['same verdict', String(verdict(ours.stdout) === verdict(theirs.stdout))],
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
