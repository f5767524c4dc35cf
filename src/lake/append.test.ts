import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance, listValue, type DuckDBConnection } from '@duckdb/node-api'
import type { CloudTrailRecord } from '../events/record.js'
import { chunkWriterFor, timestampMicros } from './append.js'
import { auditRow, LAKE_COLUMNS, lakeRow } from './rows.js'

/** DuckDB's own JSON-to-STRUCT cast of the same rows: the independent reference. */
const ROW_TYPE = `STRUCT(${LAKE_COLUMNS.replace(/\s+/g, ' ')})`

let db: DuckDBInstance
let conn: DuckDBConnection

before(async () => {
  db = await DuckDBInstance.create(':memory:')
  conn = await db.connect()
})
after(() => {
  conn.closeSync()
  db.closeSync()
})

async function both(rows: Record<string, unknown>[]): Promise<void> {
  await conn.run(`DROP TABLE IF EXISTS a; DROP TABLE IF EXISTS b`)
  await conn.run(`CREATE TABLE a (${LAKE_COLUMNS}); CREATE TABLE b (${LAKE_COLUMNS})`)
  await conn.run(
    `INSERT INTO a BY NAME SELECT r.* FROM (SELECT CAST(x::JSON AS ${ROW_TYPE}) AS r FROM (SELECT unnest($1::VARCHAR[]) AS x))`,
    [listValue(rows.map((r) => JSON.stringify(r)))],
  )
  await (await chunkWriterFor(conn, 'b')).append(conn, 'b', rows)
}

async function scalar(sql: string): Promise<unknown> {
  return (await conn.runAndReadAll(sql)).getRows()[0]![0]
}

/** Rows in one table and not the other, both ways (as multisets), and both counts. */
async function assertSame(n: number): Promise<void> {
  assert.equal(await scalar(`SELECT count(*) FROM b`), BigInt(n))
  assert.equal(await scalar(`SELECT count(*) FROM a`), BigInt(n))
  assert.equal(
    await scalar(`SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)`),
    0n,
  )
  assert.equal(
    await scalar(`SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)`),
    0n,
  )
}

const record = (i: number, extra: Partial<Record<string, unknown>> = {}): CloudTrailRecord =>
  ({
    eventVersion: '1.08',
    eventTime: `2026-01-0${1 + (i % 9)}T0${i % 10}:00:00Z`,
    eventSource: i % 3 ? 's3.amazonaws.com' : 'iam.amazonaws.com',
    eventName: ['GetObject', 'PutObject', 'CreateUser'][i % 3],
    awsRegion: 'us-east-1',
    sourceIPAddress: `10.0.${i % 7}.${i % 250}`,
    userAgent: i % 5 ? 'aws-cli/2.15' : 'é ü 日本 🚀 ' + 'x'.repeat(i % 20),
    errorCode: i % 4 === 0 ? 'AccessDenied' : undefined,
    userIdentity:
      i % 11 === 0
        ? { type: 'AWSService', invokedBy: 'cloudtrail.amazonaws.com' }
        : {
            type: 'AssumedRole',
            principalId: `AROA:${i % 13}`,
            arn: `arn:aws:sts::111122223333:assumed-role/r/${i % 13}`,
            accountId: '111122223333',
            accessKeyId: `ASIA${String(i).padStart(12, '0')}`,
            sessionContext:
              i % 2
                ? {
                    attributes: {
                      creationDate: '2026-01-01T00:00:00Z',
                      mfaAuthenticated: 'false',
                    },
                    sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/r' },
                    webIdFederationData:
                      i % 3 ? {} : { federatedProvider: 'x', attributes: { a: 1 } },
                  }
                : undefined,
          },
    requestParameters:
      i % 6 === 0
        ? null
        : {
            bucketName: `b-${i % 4}`,
            key: 'k'.repeat(i % 16),
            nested: { a: [1, 2, { b: 'c' }] },
            flag: true,
            n: i,
          },
    responseElements: i % 2 ? {} : undefined,
    requestID: `req-${i}`,
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    readOnly: i % 3 === 0,
    resources:
      i % 4 === 1
        ? []
        : i % 4 === 2
          ? [
              { accountId: '111122223333', type: 'AWS::S3::Object', ARN: `arn:aws:s3:::b/${i}` },
              { type: 'AWS::S3::Bucket', ARNPrefix: 'arn:aws:s3:::b' },
            ]
          : undefined,
    eventType: 'AwsApiCall',
    managementEvent: i % 3 === 0 ? true : undefined,
    recipientAccountId: '111122223333',
    tlsDetails:
      i % 2 ? { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' } : undefined,
    ...extra,
  }) as unknown as CloudTrailRecord

describe('lake/append: typed data chunks through the appender', () => {
  it('writes CloudTrail rows exactly as DuckDB casts their JSON (5,000 rows, several chunks)', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => lakeRow(record(i)))
    await both(rows)
    await assertSame(5000)
    // Spot checks against the source values.
    assert.equal(
      await scalar(`SELECT requestParameters['nested'] FROM b WHERE eventID LIKE '%000000000007'`),
      '{"a":[1,2,{"b":"c"}]}',
    )
    assert.equal(await scalar(`SELECT count(*) FROM b WHERE requestParameters IS NULL`), 834n)
    assert.equal(await scalar(`SELECT count(*) FROM b WHERE len(resources) = 0`), 1250n)
    assert.equal(
      await scalar(`SELECT resources[2].arnPrefix FROM b WHERE eventID LIKE '%000000000002'`),
      'arn:aws:s3:::b',
    )
    assert.equal(
      await scalar(
        `SELECT strftime(max(eventTime), '%Y-%m-%dT%H:%M:%S') FROM b WHERE userAgent LIKE 'é%'`,
      ),
      Array.from({ length: 5000 }, (_, i) => record(i))
        .filter((r) => r.userAgent!.startsWith('é'))
        .map((r) => r.eventTime.slice(0, 19))
        .sort()
        .at(-1),
    )
  })

  it('writes audit rows (eventData, metadata) exactly as DuckDB casts their JSON', async () => {
    const rows = Array.from({ length: 300 }, (_, i) =>
      auditRow({
        eventID: `e-${i}`,
        region: 'eu-west-1',
        accountId: '111122223333',
        channelArn: 'arn:aws:cloudtrail:eu-west-1:111122223333:channel/c',
        ingestionTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i)),
        eventData: {
          version: '1.0',
          userIdentity: {
            type: 'CustomUser',
            principalId: `u-${i % 7}`,
            details: i % 2 ? { team: 'a', level: i } : undefined,
          },
          eventSource: 'app',
          eventName: 'Login',
          eventTime: '2026-01-02T03:04:05.123456Z',
          UID: `uid-${i}`,
          requestParameters: i % 3 ? { a: 'b' } : {},
          recipientAccountId: '111122223333',
        },
      }),
    )
    await both(rows)
    await assertSame(300)
    assert.equal(
      await scalar(`SELECT strftime(eventTime, '%Y-%m-%d %H:%M:%S.%f') FROM b LIMIT 1`),
      '2026-01-02 03:04:05.123456',
    )
  })

  it('handles empty strings, 12- and 13-byte strings, NULs in text and repeated values', async () => {
    const texts = [
      '',
      'x',
      '123456789012',
      '1234567890123',
      'a\u0000b',
      'ü'.repeat(6),
      'ü'.repeat(7),
    ]
    const rows = Array.from({ length: 100 }, (_, i) =>
      lakeRow(record(i, { errorMessage: texts[i % texts.length], annotation: texts[(i * 3) % 7] })),
    )
    await both(rows)
    await assertSame(100)
  })

  it('commits or rolls back with the connection transaction', async () => {
    await conn.run(`DROP TABLE IF EXISTS c; CREATE TABLE c (${LAKE_COLUMNS})`)
    const w = await chunkWriterFor(conn, 'c')
    await conn.run('BEGIN TRANSACTION')
    await w.append(conn, 'c', [lakeRow(record(1))])
    await conn.run('ROLLBACK')
    assert.equal(await scalar(`SELECT count(*) FROM c`), 0n)
    await conn.run('BEGIN TRANSACTION')
    await w.append(conn, 'c', [lakeRow(record(1)), lakeRow(record(2))])
    await conn.run('COMMIT')
    assert.equal(await scalar(`SELECT count(*) FROM c`), 2n)
  })

  it('reads times in UTC: offsets applied, microsecond fractions, unreadable values as NULL', async () => {
    const cases = [
      '2026-03-04T05:06:07Z',
      '2026-03-04T05:06:07.5Z',
      '2026-03-04T05:06:07.123456Z',
      '2026-03-04T05:06:07+02:00',
      '2026-03-04T05:06:07-0530',
      '2026-03-04 05:06:07',
      '1969-12-31T23:59:59.999999Z',
    ]
    for (const c of cases) {
      // DuckDB's TIMESTAMPTZ cast applies the offset (its plain TIMESTAMP cast drops it); the
      // Lake's eventTime is UTC.
      const expected = await scalar(`SELECT epoch_us(CAST('${c}' AS TIMESTAMPTZ))`)
      assert.equal(BigInt(timestampMicros(c)!), expected, c)
    }
    assert.equal(timestampMicros('not a time'), null)
    assert.equal(timestampMicros(42), null)
  })
})
