/**
 * The open storage layout: a store's events exported as Parquet per UTC day into the object store,
 * read back by a separate (unrestricted) DuckDB with Hive partitioning, as Athena or Trino would;
 * only changed days are rewritten; days emptied by retention are deleted; the locked-down engine
 * still refuses files outside its export directory.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { CloudTrailRecord } from '../events/record.js'
import { LocalObjectStore } from '../objectstore/local-store.js'
import { LakeEngine } from './engine.js'
import { ParquetExporter, partitionPrefix } from './export.js'
import { tableOf } from './sql.js'

const STORE = { id: '3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c', accountId: '111122223333' }

function record(i: number, day: number): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: `2026-03-0${day}T${String(i % 24).padStart(2, '0')}:00:00Z`,
    eventSource: 's3.amazonaws.com',
    eventName: i % 3 === 0 ? 'GetObject' : 'PutObject',
    awsRegion: 'us-east-1',
    sourceIPAddress: '10.0.0.1',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDA',
      arn: `arn:aws:iam::111122223333:user/u${i % 4}`,
      accountId: '111122223333',
      userName: `u${i % 4}`,
    },
    requestParameters: { bucketName: `b${i % 2}`, key: `k${i}` },
    resources: [{ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::b${i % 2}` }],
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    readOnly: i % 3 === 0,
    managementEvent: false,
    recipientAccountId: '111122223333',
    eventCategory: 'Data',
  } as unknown as CloudTrailRecord
}

describe('Lake Parquet export', () => {
  let dir: string
  let engine: LakeEngine
  let objects: LocalObjectStore
  let exporter: ParquetExporter
  let seq = 0

  const write = async (records: CloudTrailRecord[]) => {
    const sink = engine.sink(() => [
      { id: STORE.id, accountId: STORE.accountId, matches: () => true },
    ])
    const entries = records.map((record) => ({ seq: seq++, record }))
    await sink.write(entries, seq)
  }

  /** Downloads the exported files into a directory tree and reads them with plain DuckDB. */
  const readBack = async (): Promise<{ day: string; n: number; users: number }[]> => {
    const out = join(dir, `readback-${seq}`)
    const list = await objects.listObjects(exporter.bucket, { prefix: partitionPrefix(STORE) })
    for (const o of list.objects) {
      const file = join(out, o.key)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, (await objects.getObject(exporter.bucket, o.key)).body)
    }
    if (list.objects.length === 0) return []
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const r = await db.runAndReadAll(
      `SELECT CAST("date" AS VARCHAR) AS day, count(*) AS n, count(DISTINCT userIdentity.arn) AS users
       FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)
       WHERE element_at(requestParameters, 'bucketName') IS NOT NULL AND resources[1].arn LIKE 'arn:aws:s3:::%'
       GROUP BY ALL ORDER BY day`,
    )
    db.closeSync()
    return r
      .getRows()
      .map(([day, n, users]) => ({ day: String(day), n: Number(n), users: Number(users) }))
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-lake-export-'))
    engine = await LakeEngine.open(join(dir, 'lake.duckdb'), { workDir: join(dir, 'export') })
    await engine.ensureTable(STORE.id)
    objects = await LocalObjectStore.open(join(dir, 'buckets'))
    exporter = new ParquetExporter(engine, objects, 'opentrail-lake', join(dir, 'state.json'))
  })
  after(async () => {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('writes one Parquet file per day in Hive partitions, readable as a table', async () => {
    await write([...Array(30).keys()].map((i) => record(i, 1 + (i % 3))))
    assert.deepEqual(await exporter.run([STORE]), { written: 3, deleted: 0 })
    const keys = (await objects.listObjects('opentrail-lake', { prefix: 'lake/' })).objects.map(
      (o) => o.key,
    )
    assert.deepEqual(keys, [
      `lake/account=111122223333/eds=${STORE.id}/date=2026-03-01/events.parquet`,
      `lake/account=111122223333/eds=${STORE.id}/date=2026-03-02/events.parquet`,
      `lake/account=111122223333/eds=${STORE.id}/date=2026-03-03/events.parquet`,
    ])
    assert.deepEqual(await readBack(), [
      { day: '2026-03-01', n: 10, users: 4 },
      { day: '2026-03-02', n: 10, users: 4 },
      { day: '2026-03-03', n: 10, users: 4 },
    ])
  })

  it('rewrites only changed days, and deletes days emptied by retention', async () => {
    assert.deepEqual(await exporter.run([STORE]), { written: 0, deleted: 0 })
    await write([record(100, 2), record(101, 2)])
    assert.deepEqual(await exporter.run([STORE]), { written: 1, deleted: 0 })
    await engine.expire(STORE.id, new Date('2026-03-02T00:00:00Z'))
    assert.deepEqual(await exporter.run([STORE]), { written: 0, deleted: 1 })
    assert.deepEqual(await readBack(), [
      { day: '2026-03-02', n: 12, users: 4 },
      { day: '2026-03-03', n: 10, users: 4 },
    ])
    await exporter.remove(STORE)
    assert.deepEqual(await readBack(), [])
  })

  it('keeps the engine locked down outside its export directory', async () => {
    const p = await engine.prepare(`SELECT count(*) FROM ${STORE.id}`, () => undefined)
    assert.deepEqual(p.tables, [tableOf(STORE.id)])
    await assert.rejects(
      engine.executeAll(`COPY (SELECT 1) TO '${join(dir, 'x.csv')}'`, [], { timeoutMs: 5000 }),
    )
    await assert.rejects(
      engine.executeAll(`SELECT * FROM read_csv('/etc/passwd')`, [], { timeoutMs: 5000 }),
    )
    await assert.rejects(
      engine.executeAll(`SET enable_external_access = true`, [], { timeoutMs: 5000 }),
    )
  })
})
