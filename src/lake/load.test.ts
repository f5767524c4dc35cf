import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { auditLines, loadLines, timestampMicros } from './load.js'
import { LAKE_COLUMNS } from './rows.js'

type Obj = Record<string, unknown>

let db: DuckDBInstance
let conn: DuckDBConnection
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ot-load-'))
  db = await DuckDBInstance.create(':memory:')
  conn = await db.connect()
  await conn.run(`SET TimeZone = 'UTC'`)
})
after(async () => {
  conn.closeSync()
  db.closeSync()
  await rm(dir, { recursive: true, force: true })
})

async function table(): Promise<void> {
  await conn.run(`DROP TABLE IF EXISTS t; CREATE TABLE t (${LAKE_COLUMNS})`)
}

async function rows(sql: string): Promise<Obj[]> {
  const r = await conn.runAndReadAll(sql)
  return r.getRowObjectsJson() as Obj[]
}

/** What the Lake's MAP(VARCHAR, VARCHAR) holds for a JSON value (computed here independently). */
function asMap(v: unknown): Record<string, string> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue
    out[k] = typeof x === 'string' ? x : JSON.stringify(x)
  }
  return out
}

/** A DuckDB map read back through to_json (an object, or null). */
const mapOf = (v: unknown): Record<string, string> | null =>
  v === null ? null : (JSON.parse(v as string) as Record<string, string>)

const record = (i: number): Obj => ({
  eventVersion: '1.08',
  eventTime: `2026-01-0${1 + (i % 9)}T0${i % 10}:00:00Z`,
  eventSource: i % 3 ? 's3.amazonaws.com' : 'iam.amazonaws.com',
  eventName: ['GetObject', 'PutObject', 'CreateUser'][i % 3],
  awsRegion: 'us-east-1',
  userAgent: i % 5 ? 'aws-cli/2.15' : 'é ü 日本 🚀 \u0000' + 'x'.repeat(i % 20),
  errorCode: i % 4 === 0 ? 'AccessDenied' : undefined,
  userIdentity:
    i % 11 === 0
      ? { type: 'AWSService', invokedBy: 'cloudtrail.amazonaws.com' }
      : {
          type: 'AssumedRole',
          arn: `arn:aws:sts::111122223333:assumed-role/r/${i % 13}`,
          accountId: '111122223333',
          sessionContext:
            i % 2
              ? {
                  attributes: {
                    creationDate: '2026-01-01T00:00:00+02:00',
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
          nested: { a: [1, 2, { b: 'c' }] },
          flag: true,
          n: i,
          gone: null,
        },
  responseElements: i % 2 ? {} : undefined,
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
  managementEvent: i % 3 === 0 ? true : undefined,
  tlsDetails: i % 2 ? { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' } : undefined,
  insightDetails: i % 7 === 0 ? { state: 'Start', n: 1 } : undefined,
})

describe('lake/load: JSON lines through DuckDB read_json into the Lake schema', () => {
  it('loads CloudTrail records field by field as the Lake schema says (12,000 lines, several slices)', async () => {
    await table()
    const recs = Array.from({ length: 12_000 }, (_, i) => record(i))
    const n = await loadLines(
      conn,
      dir,
      't',
      'record',
      recs.map((r) => JSON.stringify(r)),
    )
    assert.equal(n, 12_000)
    const got = await rows(`SELECT eventID, epoch_us(eventTime)::VARCHAR AS t, eventName, userAgent,
      errorCode, userIdentity.type AS ut, userIdentity.arn AS arn, userIdentity.invokedBy AS invokedBy,
      epoch_us(userIdentity.sessionContext.attributes.creationDate)::VARCHAR AS created,
      userIdentity.sessionContext.sessionIssuer.arn AS issuer,
      to_json(userIdentity.sessionContext.webIdFederationData)::VARCHAR AS web,
      userIdentity.sessionContext IS NULL AS noSession,
      to_json(requestParameters)::VARCHAR AS rp, to_json(responseElements)::VARCHAR AS re,
      to_json(resources)::VARCHAR AS res, readOnly, managementEvent, tlsDetails.tlsVersion AS tls,
      insightDetails, eventData IS NULL AS noData
      FROM t ORDER BY eventID`)
    assert.equal(got.length, recs.length)
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i]!
      const g = got[i]!
      const ui = r['userIdentity'] as Obj
      const sc = ui['sessionContext'] as Obj | undefined
      assert.equal(g['eventID'], r['eventID'])
      assert.equal(g['t'], String(Date.parse(r['eventTime'] as string) * 1000))
      assert.equal(g['eventName'], r['eventName'])
      assert.equal(g['userAgent'], r['userAgent'])
      assert.equal(g['errorCode'], r['errorCode'] ?? null)
      assert.equal(g['ut'], ui['type'])
      assert.equal(g['arn'], ui['arn'] ?? null)
      assert.equal(g['invokedBy'], ui['invokedBy'] ?? null)
      assert.equal(g['noSession'], sc === undefined)
      if (sc) {
        assert.equal(g['created'], String(Date.UTC(2025, 11, 31, 22) * 1000))
        assert.equal(g['issuer'], 'arn:aws:iam::111122223333:role/r')
        assert.deepEqual(mapOf(g['web']), asMap(sc['webIdFederationData']))
      }
      assert.deepEqual(mapOf(g['rp']), asMap(r['requestParameters']))
      assert.deepEqual(mapOf(g['re']), asMap(r['responseElements']))
      const res = r['resources'] as Obj[] | undefined
      assert.deepEqual(
        g['res'] === null ? null : JSON.parse(g['res'] as string),
        res === undefined
          ? null
          : res.map((x) => ({
              accountId: x['accountId'] ?? null,
              type: x['type'] ?? null,
              arn: x['ARN'] ?? null,
              arnPrefix: x['ARNPrefix'] ?? null,
            })),
      )
      assert.equal(g['readOnly'], r['readOnly'])
      assert.equal(g['managementEvent'], r['managementEvent'] ?? null)
      assert.equal(g['tls'], (r['tlsDetails'] as Obj | undefined)?.['tlsVersion'] ?? null)
      assert.equal(
        g['insightDetails'],
        r['insightDetails'] ? JSON.stringify(r['insightDetails']) : null,
      )
      assert.equal(g['noData'], true)
    }
  })

  it('takes a value of the wrong JSON type as NULL, never failing the batch', async () => {
    await table()
    const odd = [
      { eventID: 'ro', readOnly: 'true', eventTime: 'not a time' },
      { eventID: 'res', resources: {} },
      { eventID: 'ui', userIdentity: 'someone' },
      { eventID: 'rp', requestParameters: 'text', responseElements: [1, 2] },
      { eventID: 'num', eventName: 5 },
    ]
    const n = await loadLines(
      conn,
      dir,
      't',
      'record',
      odd.map((r) => JSON.stringify(r)),
    )
    assert.equal(n, odd.length)
    const got = await rows(
      `SELECT eventID, eventTime, resources, requestParameters, responseElements, eventName FROM t ORDER BY eventID`,
    )
    const by = new Map(got.map((g) => [g['eventID'], g]))
    assert.equal(by.get('ro')!['eventTime'], null)
    assert.equal(by.get('res')!['resources'], null)
    assert.equal(by.get('rp')!['requestParameters'], null)
    assert.equal(by.get('rp')!['responseElements'], null)
    assert.equal(by.get('num')!['eventName'], '5')
  })

  it('loads audit lines: CloudTrail fields on top, the caller eventData as sent, metadata', async () => {
    await table()
    const now = new Date('2026-11-23T12:00:00.123Z')
    const datas: Obj[] = Array.from({ length: 300 }, (_, i) => ({
      version: '1.0',
      userIdentity: {
        type: 'CustomUser',
        principalId: `u${i}`,
        details: { team: 'a', n: i, none: null },
      },
      eventSource: 'app.example.com',
      eventName: i % 2 ? 'Login' : 'Export',
      eventTime: i % 3 ? `2026-01-01T00:00:0${i % 10}.123456Z` : '2026-01-01T02:00:00+02:00',
      UID: `uid-${i}`,
      requestParameters: { doc: `d${i}`, nested: { a: [i] } },
      responseElements: i % 5 ? undefined : { ok: true },
      errorCode: i % 7 === 0 ? 'Denied' : undefined,
      sourceIPAddress: '192.0.2.1',
      recipientAccountId: '111122223333',
      additionalEventData: { note: '日本 🚀' },
      userAgent: 'app/1.0',
    }))
    // Pretty-printed eventData (raw line breaks as whitespace) must stay one line.
    const texts = datas.map((d, i) =>
      i % 4 === 0 ? JSON.stringify(d, null, 2) : JSON.stringify(d),
    )
    const line = auditLines({
      region: 'eu-west-1',
      accountId: '111122223333',
      channelArn: 'arn:aws:cloudtrail:eu-west-1:111122223333:channel/c',
      ingestionTime: now,
    })
    const lines = texts.map((t, i) =>
      line(`id-${String(i).padStart(4, '0')}`, t, timestampMicros(datas[i]!['eventTime'])),
    )
    assert.ok(
      lines.every((l) => !l.includes('\n')),
      'one line each',
    )
    assert.equal(await loadLines(conn, dir, 't', 'audit', lines), 300)
    const got = await rows(`SELECT eventID, epoch_us(eventTime)::VARCHAR AS t, eventVersion,
      eventCategory, eventType, awsRegion, recipientAccountId, eventSource, eventName, errorCode,
      userIdentity IS NULL AS noUser, eventData.UID AS uid, eventData.eventTime AS rawTime,
      eventData.userIdentity.principalId AS pid, to_json(eventData.userIdentity.details)::VARCHAR AS details,
      to_json(eventData.requestParameters)::VARCHAR AS rp, to_json(eventData.responseElements)::VARCHAR AS re,
      to_json(eventData.additionalEventData)::VARCHAR AS add, eventData.sourceIPAddress AS ip,
      epoch_us(metadata.ingestionTime)::VARCHAR AS ing, metadata.channelARN AS channel
      FROM t ORDER BY eventID`)
    for (let i = 0; i < 300; i++) {
      const d = datas[i]!
      const g = got[i]!
      const ui = d['userIdentity'] as Obj
      assert.equal(g['t'], String(timestampMicros(d['eventTime'])))
      assert.equal(g['eventVersion'], '1.0')
      assert.equal(g['eventCategory'], 'ActivityAuditLog')
      assert.equal(g['eventType'], 'ActivityLog')
      assert.equal(g['awsRegion'], 'eu-west-1')
      assert.equal(g['recipientAccountId'], '111122223333')
      assert.equal(g['eventSource'], 'app.example.com')
      assert.equal(g['eventName'], d['eventName'])
      assert.equal(g['errorCode'], d['errorCode'] ?? null)
      assert.equal(g['noUser'], true)
      assert.equal(g['uid'], d['UID'])
      assert.equal(g['rawTime'], d['eventTime'])
      assert.equal(g['pid'], ui['principalId'])
      assert.deepEqual(mapOf(g['details']), asMap(ui['details']))
      assert.deepEqual(mapOf(g['rp']), asMap(d['requestParameters']))
      assert.deepEqual(mapOf(g['re']), asMap(d['responseElements']))
      assert.deepEqual(mapOf(g['add']), asMap(d['additionalEventData']))
      assert.equal(g['ip'], '192.0.2.1')
      assert.equal(g['ing'], String(now.getTime() * 1000))
      assert.equal(g['channel'], 'arn:aws:cloudtrail:eu-west-1:111122223333:channel/c')
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.ndjson')),
      [],
      'batch files removed',
    )
  })

  it('commits or rolls back with the connection transaction', async () => {
    await table()
    await conn.run('BEGIN TRANSACTION')
    await loadLines(conn, dir, 't', 'record', [JSON.stringify(record(1))])
    await conn.run('ROLLBACK')
    assert.deepEqual(await rows(`SELECT count(*)::INTEGER AS n FROM t`), [{ n: 0 }])
    await conn.run('BEGIN TRANSACTION')
    await loadLines(conn, dir, 't', 'record', [JSON.stringify(record(2))])
    await conn.run('COMMIT')
    assert.deepEqual(await rows(`SELECT count(*)::INTEGER AS n FROM t`), [{ n: 1 }])
  })

  it('reads times in UTC: offsets applied, microsecond fractions, unreadable values as null', () => {
    assert.equal(timestampMicros('2026-01-01T00:00:00Z'), Date.UTC(2026, 0, 1) * 1000)
    assert.equal(timestampMicros('2026-01-01T02:00:00+02:00'), Date.UTC(2026, 0, 1) * 1000)
    assert.equal(timestampMicros('2026-01-01T00:00:00.000001Z'), Date.UTC(2026, 0, 1) * 1000 + 1)
    assert.equal(timestampMicros('2026-01-01 00:00:00-0130'), Date.UTC(2026, 0, 1, 1, 30) * 1000)
    assert.equal(timestampMicros('nonsense'), null)
    assert.equal(timestampMicros('2026-13-01T00:00:00Z'), null)
    assert.equal(timestampMicros('2026-04-31T00:00:00Z'), null)
    assert.equal(timestampMicros('2026-01-01T24:00:00Z'), null)
    assert.equal(timestampMicros('Thu, 01 Jan 2026 00:00:00 GMT'), Date.UTC(2026, 0, 1) * 1000)
    assert.equal(timestampMicros(42), null)
  })
})
