/**
 * @module bench/validate-logs
 * `opentrail validate-logs` against the AWS CLI's `aws cloudtrail validate-logs` on the same
 * 24-hour chain, in the same run: 24 hourly digests and a log file every 5 minutes (288), served
 * by a started OpenTrail (CloudTrail API and S3 API on one endpoint). Reports both wall times, the
 * speed-up, and whether both tools reach the same verdicts (the summary counts).
 *
 *   npx tsx bench/validate-logs.ts [--events-per-file 200] [--runs 3] [--dir PATH] [--skip-aws]
 *
 * `--dir PATH` keeps the generated data directory and reuses it on the next run with the same
 * path; `--runs N` times each validator N times and reports the best (after one warm-up run).
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
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
import { arg, argString, flag, int, table } from './util.js'

const PER_FILE = arg('events-per-file', 'BENCH_VALIDATE_EVENTS_PER_FILE', 200)
const RUNS = arg('runs', 'BENCH_VALIDATE_RUNS', 3)
const KEEP = argString('dir')
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

/** Generates the 24-hour chain into `dataDir`; returns the trail ARN and the chain's start. */
async function generate(dataDir: string, dir: string): Promise<{ trailArn: string; t0: number }> {
  {
    // 1. A server creates the account, the bucket and the trail.
    const config = await loadConfig({ port: 0, dataDir }, {})
    const server = await startServer(config, { logger: createLogger('silent') })
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
    return { trailArn: created.TrailARN!, t0 }
  }
}

type Run = Awaited<ReturnType<typeof run>>

/** The best of `RUNS` timed runs after a warm-up run (page cache, server JIT). */
async function best(fn: () => Promise<Run>): Promise<{ best: Run; all: number[] }> {
  await fn()
  const runs: Run[] = []
  for (let i = 0; i < RUNS; i++) runs.push(await fn())
  const sorted = [...runs].sort((a, b) => a.ms - b.ms)
  return { best: sorted[0]!, all: runs.map((r) => r.ms) }
}

async function main(): Promise<void> {
  const dir = KEEP ?? (await mkdtemp(join(tmpdir(), 'opentrail-bench-validate-')))
  const dataDir = join(dir, 'data')
  const metaFile = join(dir, 'bench-chain.json')
  try {
    let meta = await readFile(metaFile, 'utf8')
      .then((t) => JSON.parse(t) as { trailArn: string; t0: number; perFile: number })
      .catch(() => undefined)
    if (!meta || meta.perFile !== PER_FILE) {
      await rm(dir, { recursive: true, force: true })
      await mkdir(dir, { recursive: true })
      meta = { ...(await generate(dataDir, dir)), perFile: PER_FILE }
      await writeFile(metaFile, JSON.stringify(meta))
    }
    const { trailArn, t0 } = meta
    const hour = 3600_000

    // 3. Both validators against the restarted server.
    const config = await loadConfig({ port: 0, dataDir }, {})
    const server = await startServer(config, { logger: createLogger('silent') })
    const key = await readAdminKey(dataDir)
    const start = new Date(t0).toISOString()
    const end = new Date(t0 + 24 * hour + 60_000).toISOString()
    const common = ['--trail-arn', trailArn, '--start-time', start, '--end-time', end]
    const ours = await best(() =>
      run(
        process.execPath,
        [BIN, 'validate-logs', ...common, '--endpoint-url', server.url, '--no-progress'],
        { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey },
      ),
    )
    const failed: Run = { code: null, stdout: '', stderr: 'skipped', ms: NaN }
    const theirs = flag('skip-aws')
      ? { best: failed, all: [] }
      : await best(() =>
          run('aws', ['cloudtrail', 'validate-logs', ...common], {
            AWS_ENDPOINT_URL_CLOUDTRAIL: server.url,
            AWS_ENDPOINT_URL_S3: server.url,
            AWS_ACCESS_KEY_ID: key.accessKeyId,
            AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
            AWS_CONFIG_FILE: '/nonexistent',
          }).catch((err: Error) => ({ ...failed, stderr: err.message })),
        )
    await server.close()
    const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    table(`validate-logs on a 24-hour chain (best of ${RUNS} runs after a warm-up)`, [
      ['digest files', '24 (hourly)'],
      ['log files', `288 (12 an hour) x ${int(PER_FILE)} events`],
      ['opentrail validate-logs', `${secs(ours.best.ms)} (exit ${ours.best.code})`],
      ['  all runs', ours.all.map(secs).join(', ')],
      ['aws cloudtrail validate-logs', `${secs(theirs.best.ms)} (exit ${theirs.best.code})`],
      ['  all runs', theirs.all.map(secs).join(', ')],
      ['speed-up', `${(theirs.best.ms / ours.best.ms).toFixed(1)}x`],
      ['opentrail verdict', verdict(ours.best.stdout) || ours.best.stderr.trim()],
      ['AWS CLI verdict', verdict(theirs.best.stdout) || theirs.best.stderr.trim()],
      ['same verdict', String(verdict(ours.best.stdout) === verdict(theirs.best.stdout))],
    ])
  } finally {
    if (!KEEP) await rm(dir, { recursive: true, force: true })
  }
}

await main()
