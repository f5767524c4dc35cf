/**
 * LakeQueries with DeliveryS3Uri and QueryParameters, on a real engine and a local object store:
 * DeliveryStatus through a query's life (SUCCESS, FAILED for a failed query, CANCELLED), and a
 * delivery cut short by a restart written again from the rows on disk.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { CloudTrailRecord } from '../../events/record.js'
import { SigningKeyStore } from '../../digest/keystore.js'
import { LakeEngine } from '../../lake/engine.js'
import { tempLocalStore, type TempLocalStore } from '../../objectstore/testing.js'
import { QueryResultDelivery, resultFolder } from './query-delivery.js'
import { LakeService, type LakeQuery } from './service.js'

const SCOPE = { accountId: '111122223333', region: 'us-east-1' }

function record(i: number, name: string): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: '2026-03-01T00:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: name,
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

describe('LakeQueries: QueryParameters and DeliveryS3Uri', () => {
  let tmp: TempLocalStore
  let engine: LakeEngine
  let delivery: QueryResultDelivery
  let svc: LakeService
  let storeId: string
  const clock = { now: () => new Date('2026-03-01T12:00:00Z') }
  const allow = () => undefined

  const open = () =>
    LakeService.open({ file: join(tmp.root, 'stores.json'), engine, clock, delivery })

  /** Waits until the query ended and its delivery is no longer PENDING. */
  const settle = async (q: LakeQuery): Promise<LakeQuery> => {
    for (let i = 0; i < 1000; i++) {
      const running = q.status === 'QUEUED' || q.status === 'RUNNING'
      if (!running && q.delivery?.status !== 'PENDING') return q
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error('query did not settle')
  }

  before(async () => {
    tmp = await tempLocalStore('lake-queries-delivery')
    await tmp.store.createBucket('out')
    engine = await LakeEngine.open(join(tmp.root, 'lake.duckdb'))
    const keys = await SigningKeyStore.open(join(tmp.root, 'keys'), clock, {
      rotationSeconds: 86_400,
    })
    delivery = new QueryResultDelivery(tmp.store, keys)
    svc = await open()
    const st = await svc.create(SCOPE, {
      name: 'delivered',
      tags: [],
      terminationProtectionEnabled: false,
    })
    storeId = st.id
    const sink = engine.sink(() => svc.routed())
    const entries = [record(1, 'ListUsers'), record(2, 'ListRoles'), record(3, "it's")].map(
      (r, seq) => ({ seq, record: r }),
    )
    await sink.write(entries, entries.length)
  })
  after(async () => {
    await svc.flush()
    await engine.close()
    await tmp.remove()
  })

  it('binds parameters and delivers; a restart mid-delivery writes the files again', async () => {
    const q = await settle(
      await svc.startQuery(
        SCOPE,
        `SELECT eventName FROM ${storeId} WHERE eventName IN (?, '?') ORDER BY eventName`,
        allow,
        { parameters: ["it's", 'ListRoles'], deliveryS3Uri: 's3://out/p' },
      ),
    )
    assert.equal(q.status, 'FINISHED', q.error)
    assert.equal(q.statement.includes("'it''s'"), true)
    assert.deepEqual(q.delivery, { uri: 's3://out/p', region: 'us-east-1', status: 'SUCCESS' })
    const folder = resultFolder({ bucket: 'out', prefix: 'p' }, SCOPE.accountId, q.id, q.endedAt!)
    const csv = async () =>
      gunzipSync((await tmp.store.getObject('out', folder + 'result_1.csv.gz')).body).toString()
    assert.equal(await csv(), "eventName\nListRoles\nit's\n")

    // The server stopped after FINISHED was recorded but before the files were written.
    await svc.flush()
    await tmp.store.deleteObject('out', folder + 'result_1.csv.gz')
    await tmp.store.deleteObject('out', folder + 'result_sign.json')
    const recordFile = join(tmp.root, 'lake-queries', `${q.id}.json`)
    const rec = JSON.parse(await readFile(recordFile, 'utf8')) as { delivery: { status: string } }
    rec.delivery.status = 'PENDING'
    await writeFile(recordFile, JSON.stringify(rec))
    const again = await open()
    const q2 = await settle(again.query(SCOPE, q.id))
    assert.equal(q2.delivery?.status, 'SUCCESS')
    assert.equal(await csv(), "eventName\nListRoles\nit's\n")
    await tmp.store.headObject('out', folder + 'result_sign.json')
    await again.flush()
  })

  it('reports FAILED for a failed query and CANCELLED for a cancelled one', async () => {
    const failed = await settle(
      await svc.startQuery(SCOPE, `SELECT CAST(eventName AS INTEGER) FROM ${storeId}`, allow, {
        deliveryS3Uri: 's3://out/f',
      }),
    )
    assert.equal(failed.status, 'FAILED')
    assert.equal(failed.delivery?.status, 'FAILED')
    const heavy = `SELECT count(*) FROM ${'abcdefghijkl'
      .split('')
      .map((a) => `${storeId} ${a}`)
      .join(', ')} WHERE md5(concat(a.eventID, l.eventID)) = 'x'`
    const q = await svc.startQuery(SCOPE, heavy, allow, { deliveryS3Uri: 's3://out/c' })
    svc.cancelQuery(SCOPE, q.id)
    const c = await settle(q)
    assert.equal(c.status, 'CANCELLED')
    assert.equal(c.delivery?.status, 'CANCELLED')
    const listed = await tmp.store.listObjects('out', { prefix: 'c/' })
    assert.equal(listed.objects.length, 0)
  })

  it('refuses a missing bucket and a parameter count mismatch before queueing', async () => {
    await assert.rejects(
      svc.startQuery(SCOPE, `SELECT 1 FROM ${storeId}`, allow, { deliveryS3Uri: 's3://gone/x' }),
      { code: 'S3BucketDoesNotExistException' },
    )
    await assert.rejects(
      svc.startQuery(SCOPE, `SELECT 1 FROM ${storeId} WHERE eventName = ?`, allow, {}),
      { code: 'InvalidQueryStatementException' },
    )
  })
})
