/**
 * LakeService with a controlled clock: PENDING_DELETION lasts 7 days and then the store and its
 * table are gone; retention deletes old events in the hourly sweep; stopped ingestion routes
 * nothing; queries that run past the timeout are TIMED_OUT, cancelled ones CANCELLED.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CloudTrailRecord } from '../../events/record.js'
import { LakeEngine } from '../../lake/engine.js'
import { LakeService, type LakeQuery } from './service.js'

const SCOPE = { accountId: '111122223333', region: 'us-east-1' }
const DAY = 86_400_000

function record(i: number, time: Date): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'iam.amazonaws.com',
    eventName: 'ListUsers',
    awsRegion: 'us-east-1',
    sourceIPAddress: '10.0.0.1',
    userIdentity: { type: 'IAMUser', principalId: 'AIDA', accountId: SCOPE.accountId },
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    readOnly: true,
    managementEvent: true,
    recipientAccountId: SCOPE.accountId,
    eventCategory: 'Management',
  } as unknown as CloudTrailRecord
}

async function settle(q: LakeQuery): Promise<LakeQuery> {
  while (q.status === 'QUEUED' || q.status === 'RUNNING' || !q.endedAt) {
    await new Promise((r) => setTimeout(r, 10))
  }
  return q
}

describe('LakeService', () => {
  let dir: string
  let engine: LakeEngine
  let svc: LakeService
  let now = Date.parse('2026-03-01T00:00:00Z')
  let seq = 0
  const clock = { now: () => new Date(now) }

  const ingest = async (records: CloudTrailRecord[]) => {
    const sink = engine.sink(() => svc.routed())
    const entries = records
      .map((record) => ({ seq: seq++, record }))
      .filter((e) => sink.accepts(e.record))
    await sink.write(entries, seq)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-lake-service-'))
    engine = await LakeEngine.open(join(dir, 'lake.duckdb'))
    svc = await LakeService.open({
      file: join(dir, 'stores.json'),
      engine,
      clock,
      queryTimeoutMs: 200,
    })
  })
  after(async () => {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps a deleted store PENDING_DELETION for 7 days, then drops it', async () => {
    const st = await svc.create(SCOPE, {
      name: 'temp',
      tags: [],
      terminationProtectionEnabled: false,
    })
    await ingest([record(1, new Date(now))])
    await svc.delete(SCOPE, st.id)
    assert.equal(svc.find(SCOPE, st.id).status, 'PENDING_DELETION')
    assert.equal(svc.routed().length, 0)
    now += 7 * DAY - 1000
    await svc.sweep()
    assert.equal(svc.find(SCOPE, st.id).status, 'PENDING_DELETION')
    now += 1000
    await svc.sweep()
    assert.throws(() => svc.find(SCOPE, st.id), { name: 'EventDataStoreNotFoundException' })
    await assert.rejects(engine.count(st.id))
  })

  it('deletes events older than the retention period and routes nothing while stopped', async () => {
    const st = await svc.create(SCOPE, { name: 'kept', tags: [], retentionPeriod: 7 })
    await ingest([record(10, new Date(now - 8 * DAY)), record(11, new Date(now - 6 * DAY))])
    assert.equal(await engine.count(st.id), 2)
    await svc.sweep()
    assert.equal(await engine.count(st.id), 1)
    await svc.setIngestion(SCOPE, st.id, false)
    await ingest([record(12, new Date(now))])
    assert.equal(await engine.count(st.id), 1)
    await svc.setIngestion(SCOPE, st.id, true)
    await ingest([record(13, new Date(now))])
    assert.equal(await engine.count(st.id), 2)
  })

  it('times out and cancels queries', async () => {
    const st = svc.list(SCOPE).find((s) => s.name === 'kept')!
    const slow = `SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3 AND EXISTS (SELECT 1 FROM ${st.id})`
    // range() is not a store: the sandbox refuses it before it runs.
    await assert.rejects(
      svc.startQuery(SCOPE, slow, () => undefined),
      {
        name: 'InvalidQueryStatementException',
      },
    )
    const heavy = `SELECT count(*) FROM ${st.id} a, ${st.id} b, ${st.id} c, ${st.id} d, ${st.id} e, ${st.id} f, ${st.id} g, ${st.id} h, ${st.id} i, ${st.id} j, ${st.id} k, ${st.id} l, ${st.id} m, ${st.id} n, ${st.id} o, ${st.id} p, ${st.id} q, ${st.id} r, ${st.id} s, ${st.id} t, ${st.id} u, ${st.id} v, ${st.id} w, ${st.id} x, ${st.id} y, ${st.id} z WHERE md5(concat(a.eventID, z.eventID, m.eventID)) = 'x'`
    // 2^26 rows of md5: far beyond 200 ms.
    const q = await settle(await svc.startQuery(SCOPE, heavy, () => undefined))
    assert.equal(q.status, 'TIMED_OUT')

    const c = await svc.startQuery(SCOPE, heavy, () => undefined)
    svc.cancelQuery(SCOPE, c.id)
    assert.equal(c.status, 'CANCELLED')
    assert.throws(() => svc.cancelQuery(SCOPE, c.id), { name: 'InactiveQueryException' })

    await settle(c).catch(() => undefined)
    // The engine is free again.
    const ok = await settle(
      await svc.startQuery(SCOPE, `SELECT count(*) FROM ${st.id}`, () => undefined),
    )
    assert.equal(ok.status, 'FINISHED')
  })

  it('keeps finished queries on disk for 7 days, across a reopen, then sweeps them', async () => {
    const st = svc.list(SCOPE).find((s) => s.name === 'kept')!
    const q = await settle(
      await svc.startQuery(SCOPE, `SELECT eventID FROM ${st.id} ORDER BY eventID`, () => undefined),
    )
    assert.equal(q.status, 'FINISHED')
    await svc.flush()
    const page = await svc.results(SCOPE, q.id, 1, 1)
    assert.deepEqual(page.rows, [[record(13, new Date(now)).eventID]])
    assert.equal(page.total, 2)
    const files = await readdir(join(dir, 'lake-queries'))
    assert.ok(files.includes(`${q.id}.json`) && files.includes(`${q.id}.jsonl`), 'files written')

    // Another service on the same files (a restart) answers the same.
    const again = await LakeService.open({ file: join(dir, 'stores.json'), engine, clock })
    const q2 = again.query(SCOPE, q.id)
    assert.equal(q2.status, 'FINISHED')
    assert.deepEqual(q2.stats, q.stats)
    assert.deepEqual(
      (await again.results(SCOPE, q.id, 0, 1000)).rows,
      (await svc.results(SCOPE, q.id)).rows,
    )
    assert.deepEqual(
      again.listQueries(SCOPE, st.id).map((x) => x.id),
      svc.listQueries(SCOPE, st.id).map((x) => x.id),
    )

    now += 7 * DAY - 1000
    await again.sweep()
    assert.equal(again.query(SCOPE, q.id).status, 'FINISHED')
    now += 1000
    await again.sweep()
    assert.throws(() => again.query(SCOPE, q.id), { name: 'QueryIdNotFoundException' })
    assert.equal(again.listQueries(SCOPE, st.id).length, 0)
    const left = await readdir(join(dir, 'lake-queries'))
    assert.ok(!left.some((f) => f.startsWith(q.id)), 'files swept')
  })
})
