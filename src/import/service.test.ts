import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { CloudTrailRecord } from '../events/record.js'
import type { ImportBatch } from './target.js'
import { systemClock } from '../shared/clock.js'
import { createLogger } from '../telemetry/logger.js'
import { ImportService } from './service.js'
import type { ImportTarget, WriteResult } from './target.js'

/** An in-memory target: dedupe by eventID; can be made to wait before each write. */
class MemoryTarget implements ImportTarget {
  readonly description = 'memory'
  readonly events = new Map<string, CloudTrailRecord>()
  writes = 0
  gate: Promise<void> | undefined
  constructor(private readonly retention?: number) {}
  retentionDays() {
    return this.retention
  }
  async ready() {}
  async write(batch: ImportBatch): Promise<WriteResult> {
    await this.gate
    this.writes++
    let written = 0
    const records = Array.from({ length: batch.length }, (_, i) => batch.record(i))
    for (const r of records) {
      if (this.events.has(r.eventID)) continue
      this.events.set(r.eventID, r)
      written++
    }
    return { written, duplicates: records.length - written }
  }
}

const rec = (i: number) => ({
  eventVersion: '1.08',
  eventID: `id-${i}`,
  eventTime: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace('.000', ''),
  eventSource: 's3.amazonaws.com',
  eventName: 'GetObject',
  awsRegion: 'us-east-1',
  recipientAccountId: '111122223333',
  userIdentity: { type: 'IAMUser' },
})

async function fixture(files: number, per: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'import-src-'))
  for (let f = 0; f < files; f++) {
    const records = Array.from({ length: per }, (_, i) => rec(f * per + i))
    await writeFile(
      join(dir, `f${String(f).padStart(3, '0')}.json.gz`),
      gzipSync(JSON.stringify({ Records: records })),
    )
  }
  return dir
}

async function service(target: ImportTarget, jobs?: string, stageBytes?: number) {
  return ImportService.open({
    dir: jobs ?? (await mkdtemp(join(tmpdir(), 'import-jobs-'))),
    target,
    logger: createLogger('silent'),
    clock: systemClock,
    batchSize: 7,
    ...(stageBytes ? { stageBytes } : {}),
  })
}

describe('ImportService', () => {
  it('resumes a stopped import from its manifest without reading finished files again', async () => {
    const src = await fixture(10, 20)
    const target = new MemoryTarget()
    const jobs = await mkdtemp(join(tmpdir(), 'import-jobs-'))
    const svc = await service(target, jobs)
    let open!: () => void
    target.gate = new Promise((r) => (open = r))
    const started = await svc.start({ source: src, concurrency: 2 })
    await new Promise((r) => setTimeout(r, 50))
    // Let a few writes through, then stop while others wait.
    open()
    target.gate = undefined
    while (target.writes < 9) await new Promise((r) => setImmediate(r))
    const stopped = await svc.stop(started.importId)
    assert.equal(stopped.status, 'STOPPED')
    const done = stopped.statistics.filesCompleted
    assert.ok(done > 0 && done < 10, String(done))

    const resumed = await svc.start({ source: src, concurrency: 2 })
    assert.equal(resumed.importId, started.importId)
    const final = await svc.wait(started.importId)
    assert.equal(final.status, 'COMPLETED')
    assert.equal(final.statistics.filesCompleted, 10)
    assert.equal(final.statistics.eventsImported, 200)
    assert.equal(target.events.size, 200)
  })

  it('marks an import interrupted by a crash as STOPPED and resumes it', async () => {
    const src = await fixture(3, 5)
    const target = new MemoryTarget()
    const jobs = await mkdtemp(join(tmpdir(), 'import-jobs-'))
    const svc = await service(target, jobs)
    const first = await svc.wait((await svc.start({ source: src })).importId)
    assert.equal(first.status, 'COMPLETED')
    // Pretend the process died mid-import: status IN_PROGRESS, one file missing from the manifest.
    const jobDir = join(jobs, first.importId)
    const info = JSON.parse(await readFile(join(jobDir, 'job.json'), 'utf8')) as { status: string }
    info.status = 'IN_PROGRESS'
    await writeFile(join(jobDir, 'job.json'), JSON.stringify(info))
    const lines = (await readFile(join(jobDir, 'files.jsonl'), 'utf8')).split('\n')
    await writeFile(join(jobDir, 'files.jsonl'), lines.slice(0, 2).join('\n') + '\n{"k":"torn')
    const again = await service(target, jobs)
    assert.equal(again.get(first.importId)!.status, 'STOPPED')
    const resumed = await again.start({ source: src })
    assert.equal(resumed.importId, first.importId)
    const final = await again.wait(first.importId)
    assert.equal(final.status, 'COMPLETED')
    assert.equal(final.statistics.filesCompleted, 3)
    // The re-read file's events were already there: duplicates, not new events.
    assert.equal(final.statistics.eventsImported, 10)
    assert.equal(final.statistics.duplicatesSkipped, 5)
    assert.equal(target.events.size, 15)
  })

  it('reads a file over the staging limit twice and writes it all; a bad large file writes nothing', async () => {
    const src = await fixture(2, 50)
    const big = JSON.stringify({ Records: Array.from({ length: 50 }, (_, i) => rec(1000 + i)) })
    await writeFile(join(src, 'zz-truncated.json'), big.slice(0, big.length - 10))
    const target = new MemoryTarget()
    const svc = await service(target, undefined, 500)
    const final = await svc.wait((await svc.start({ source: src })).importId)
    assert.equal(final.statistics.eventsImported, 100)
    assert.equal(final.statistics.filesFailed, 1)
    assert.equal(target.events.size, 100)
    assert.ok(![...target.events.keys()].some((k) => k === 'id-1000'))
  })

  it('with retention: refuses, skips or imports older events as asked', async () => {
    const src = await fixture(2, 5)
    const target = new MemoryTarget(30)
    const svc = await service(target)
    const refused = await svc.wait((await svc.start({ source: src })).importId)
    assert.equal(refused.status, 'FAILED')
    assert.match(refused.errorMessage ?? '', /retention of 30 days/)
    assert.equal(target.events.size, 0)
    const skipped = await svc.wait(
      (await svc.start({ source: src, olderThanRetention: 'skip' })).importId,
    )
    assert.equal(skipped.statistics.eventsOlderThanRetention, 10)
    assert.equal(target.events.size, 0)
    const imported = await svc.wait(
      (await svc.start({ source: src, olderThanRetention: 'import' })).importId,
    )
    assert.equal(imported.statistics.eventsImported, 10)
  })

  it('--validate-digests imports only files whose hash a digest file in the tree lists', async () => {
    const src = await fixture(3, 4)
    const sha = async (n: string) =>
      createHash('sha256')
        .update(gunzipSync(await readFile(join(src, n))))
        .digest('hex')
    const digestDir = join(src, 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'us-east-1')
    await mkdir(digestDir, { recursive: true })
    const digest = {
      awsAccountId: '111122223333',
      logFiles: [
        { s3Bucket: 'b', s3Object: 'AWSLogs/x/f000.json.gz', hashValue: await sha('f000.json.gz') },
        { s3Bucket: 'b', s3Object: 'AWSLogs/x/f001.json.gz', hashValue: '00'.repeat(32) },
      ],
    }
    await writeFile(
      join(
        digestDir,
        '111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240101T000000Z.json.gz',
      ),
      gzipSync(JSON.stringify(digest)),
    )
    const target = new MemoryTarget()
    const svc = await service(target)
    const final = await svc.wait((await svc.start({ source: src, validateDigests: true })).importId)
    assert.equal(final.statistics.eventsImported, 4)
    const failures = await svc.failures(final.importId)
    assert.deepEqual(
      failures.map((f) => [f.location, f.errorType]),
      [
        ['f001.json.gz', 'DigestMismatch'],
        ['f002.json.gz', 'NoDigest'],
      ],
    )
  })
})
