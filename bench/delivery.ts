/**
 * @module bench/delivery
 * Trail delivery throughput: events per second routed by a multi-region trail's selectors,
 * spooled durably (fsync + atomic checkpoint per batch, as the pipeline calls the sink), sealed
 * and written as gzipped `{"Records":[...]}` log files into the embedded object store.
 *
 *   npx tsx bench/delivery.ts [--events 200000] [--batch 5000] [--kms]
 *
 * `--kms` gives the trail a KmsKeyId: the embedded store then encrypts every file at rest.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SigningKeyStore } from '../src/digest/keystore.js'
import { TrailDelivery } from '../src/delivery/trail-delivery.js'
import { defaultEventSelectors, type Trail } from '../src/domains/trails/model.js'
import { LocalObjectStore } from '../src/objectstore/local-store.js'
import { MasterKeyStore } from '../src/objectstore/master-keys.js'
import { systemClock } from '../src/shared/clock.js'
import { createLogger } from '../src/telemetry/logger.js'
import { EventGenerator } from './generator.js'
import { arg, flag, int, mib, ms, peakRss, table } from './util.js'

const N = arg('events', 'BENCH_DELIVERY_EVENTS', 200_000)
const BATCH = arg('batch', 'BENCH_DELIVERY_BATCH', 5000)
const ACCOUNT = '111122223333'
const KMS = flag('kms')

async function main(): Promise<void> {
  const now = Date.now()
  const events = EventGenerator.load({ seed: 11 })
    .batch(N, now - 60_000, now - 1000)
    .map((r) => ({
      ...r,
      recipientAccountId: ACCOUNT,
      userIdentity: { ...r.userIdentity, accountId: ACCOUNT },
      eventCategory: 'Management',
      managementEvent: true,
    }))
  const dir = await mkdtemp(join(tmpdir(), 'opentrail-bench-delivery-'))
  try {
    const store = await LocalObjectStore.open(join(dir, 'buckets'), {
      masterKeys: await MasterKeyStore.open(join(dir, 'keys')),
    })
    await store.createBucket('bench-bucket')
    const trail: Trail = {
      name: 'bench',
      accountId: ACCOUNT,
      homeRegion: 'us-east-1',
      s3BucketName: 'bench-bucket',
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: true,
      logFileValidationEnabled: true,
      isOrganizationTrail: false,
      eventSelectors: defaultEventSelectors(),
      hasCustomEventSelectors: false,
      insightSelectors: [],
      tags: [],
      isLogging: true,
      startLoggingTime: new Date(now - 3600_000).toISOString(),
      createdAt: new Date(now - 3600_000).toISOString(),
      ...(KMS ? { kmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/bench` } : {}),
    }
    const keys = await SigningKeyStore.open(join(dir, 'keys'), systemClock, {
      rotationSeconds: 86_400,
    })
    const sink = await TrailDelivery.open({
      dir: join(dir, 'delivery'),
      store,
      trails: { all: () => [trail] },
      keys,
      clock: systemClock,
      logger: createLogger('silent'),
      deliveryIntervalSeconds: 300,
      digestIntervalSeconds: 3600,
    })

    const t0 = performance.now()
    let routed = 0
    for (let i = 0; i < N; i += BATCH) {
      const entries = events
        .slice(i, i + BATCH)
        .map((record, j) => ({ seq: i + j, record }))
        .filter((e) => sink.accepts(e.record))
      routed += entries.length
      await sink.write(entries, Math.min(N, i + BATCH))
    }
    const t1 = performance.now()
    await sink.flush()
    const t2 = performance.now()
    await sink.close()
    const files = (await store.listObjects('bench-bucket', { prefix: 'AWSLogs/' })).objects
    table(`Trail delivery${KMS ? ' (KmsKeyId: encrypted at rest)' : ''}`, [
      ['events', int(N)],
      ['routed to the trail', int(routed)],
      ['spool (route + fsync + checkpoint)', `${int((N / (t1 - t0)) * 1000)} events/s`],
      ['seal + gzip + put', ms(t2 - t1)],
      ['end to end', `${int((N / (t2 - t0)) * 1000)} events/s`],
      ['log files', int(files.length)],
      ['gzip bytes per event', (files.reduce((a, f) => a + f.size, 0) / N).toFixed(0)],
      ['peak RSS', mib(peakRss())],
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
