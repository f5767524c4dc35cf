/**
 * StartQuery's QueryParameters and DeliveryS3Uri end to end, with the AWS SDK and the AWS CLI:
 * values bound to `?` / `'?'` placeholders as literals (hostile values stay text), AWS's errors for
 * a count mismatch, a missing bucket and bad URIs, and results written to OpenTrail's S3 in AWS's
 * layout (gzipped CSV equal to GetQueryResults, and a sign file verified as the AWS CLI v2's
 * `verify-query-results` does it, with the key from ListPublicKeys).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createPublicKey, verify } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  DescribeTrailsCommand,
  GetQueryResultsCommand,
  ListPublicKeysCommand,
  StartQueryCommand,
  type DescribeQueryCommandOutput,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3'
import { AWS_CLI_VERSION, awsCli, type AwsCli } from '../helpers/aws-cli.js'
import { s3Client } from '../helpers/s3.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

type Cells = string[][]

/** RFC 4180 CSV (quoted fields, doubled quotes) → rows of cells. */
function parseCsv(text: string): Cells {
  const rows: Cells = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += c
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell])
  return rows
}

describe('CloudTrail Lake StartQuery: QueryParameters and DeliveryS3Uri', () => {
  let ts: TestServer
  let client: CloudTrailClient
  let s3: S3Client
  let storeId: string

  const settle = async (QueryId: string): Promise<DescribeQueryCommandOutput> => {
    for (let i = 0; i < 600; i++) {
      const d = await client.send(new DescribeQueryCommand({ QueryId }))
      const running = d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING'
      if (!running && d.DeliveryStatus !== 'PENDING') return d
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`query ${QueryId} did not settle`)
  }

  /** Runs a statement with parameters; the result rows as cells (header first). */
  const run = async (QueryStatement: string, QueryParameters?: string[]): Promise<Cells> => {
    const { QueryId } = await client.send(
      new StartQueryCommand({ QueryStatement, ...(QueryParameters ? { QueryParameters } : {}) }),
    )
    const d = await settle(QueryId!)
    assert.equal(d.QueryStatus, 'FINISHED', d.ErrorMessage)
    return results(QueryId!)
  }

  /** Every row of GetQueryResults as cells, the column names first. */
  const results = async (QueryId: string): Promise<Cells> => {
    const out: Cells = []
    let NextToken: string | undefined
    do {
      const r = await client.send(new GetQueryResultsCommand({ QueryId, NextToken }))
      for (const row of r.QueryResultRows ?? []) {
        if (out.length === 0) out.push(row.map((c) => Object.keys(c)[0]!))
        out.push(row.map((c) => Object.values(c)[0]!))
      }
      NextToken = r.NextToken
    } while (NextToken)
    return out
  }

  before(async () => {
    ts = await startTestServer()
    client = ts.client()
    s3 = s3Client(ts.url, ts)
    const s = await client.send(new CreateEventDataStoreCommand({ Name: 'delivery-store' }))
    storeId = s.EventDataStoreArn!.split('/')[1]!
    for (let i = 0; i < 3; i++) await client.send(new DescribeTrailsCommand({}))
    await s3.send(new CreateBucketCommand({ Bucket: 'qresults' }))
    for (let i = 0; i < 200; i++) {
      const rows = await run(
        `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'DescribeTrails'`,
      )
      if (Number(rows[1]?.[0]) >= 3) break
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  after(async () => {
    s3?.destroy()
    await ts?.close()
  })

  it('binds QueryParameters to ? and quoted ? placeholders, in order', async () => {
    const rows = await run(
      `SELECT eventName, count(*) AS n FROM ${storeId} WHERE eventName = ? AND eventTime > '?' GROUP BY eventName`,
      ['DescribeTrails', '2000-01-01 00:00:00'],
    )
    assert.deepEqual(rows, [
      ['eventName', 'n'],
      ['DescribeTrails', '3'],
    ])
    // DescribeQuery shows the statement that ran.
    const { QueryId } = await client.send(
      new StartQueryCommand({
        QueryStatement: `SELECT 1 FROM ${storeId} WHERE eventName = ?`,
        QueryParameters: ["it's"],
      }),
    )
    const d = await settle(QueryId!)
    assert.equal(d.QueryString, `SELECT 1 FROM ${storeId} WHERE eventName = 'it''s'`)
    assert.equal(d.DeliveryS3Uri, undefined)
    assert.equal(d.DeliveryStatus, undefined)
  })

  it('treats hostile values as text, never as SQL', async () => {
    const count = `SELECT count(*) AS n FROM ${storeId} WHERE eventName = ?`
    for (const v of [
      "x' OR '1'='1",
      "DescribeTrails' OR '1'='1",
      `'; DROP TABLE ${storeId}; --`,
      "\\' OR 1=1 --",
      '$$ OR 1=1 $$',
    ]) {
      assert.deepEqual(await run(count, [v]), [['n'], ['0']], v)
    }
    // The value comes back verbatim, and the store is intact.
    assert.deepEqual(await run('SELECT ? AS v', ["x' OR '1'='1"]), [['v'], ["x' OR '1'='1"]])
    assert.deepEqual(await run(count, ['DescribeTrails']), [['n'], ['3']])
  })

  it('is not fooled by ? inside literals, identifiers and comments', async () => {
    const rows = await run(
      `SELECT 'why?' AS "q?", count(*) AS n FROM ${storeId} /* ? */ WHERE eventName = ? -- ?\n`,
      ['DescribeTrails'],
    )
    assert.deepEqual(rows, [
      ['q?', 'n'],
      ['why?', '3'],
    ])
  })

  it("answers a count mismatch and bad parameters with AWS's errors", async () => {
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT 1 FROM ${storeId} WHERE eventName = ?`,
          QueryParameters: ['a', 'b'],
        }),
      ),
      { name: 'InvalidQueryStatementException', message: /1 \? placeholder but 2/ },
    )
    await assert.rejects(
      client.send(new StartQueryCommand({ QueryStatement: `SELECT ? FROM ${storeId}` })),
      { name: 'InvalidQueryStatementException', message: /1 \? placeholder but 0/ },
    )
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT 1 FROM ${storeId}`,
          QueryParameters: Array.from({ length: 11 }, () => 'x'),
        }),
      ),
      { name: 'ValidationException' },
    )
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT ? FROM ${storeId}`,
          QueryParameters: ['x'.repeat(1025)],
        }),
      ),
      { name: 'ValidationException' },
    )
  })

  it('delivers gzipped CSV and a valid signed sign file to DeliveryS3Uri', async () => {
    const QueryStatement = `SELECT eventName, eventID, eventTime, 'a, "quoted" value' AS odd, NULL AS nothing FROM ${storeId} WHERE eventName = ? ORDER BY eventID`
    const { QueryId } = await client.send(
      new StartQueryCommand({
        QueryStatement,
        QueryParameters: ['DescribeTrails'],
        DeliveryS3Uri: 's3://qresults/lake/exports',
      }),
    )
    const d = await settle(QueryId!)
    assert.equal(d.QueryStatus, 'FINISHED')
    assert.equal(d.DeliveryS3Uri, 's3://qresults/lake/exports')
    assert.equal(d.DeliveryStatus, 'SUCCESS')

    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'qresults', Prefix: 'lake/exports/' }),
    )
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort()
    assert.equal(keys.length, 2, keys.join(' '))
    const m = new RegExp(
      `^lake/exports/AWSLogs/(\\d{12})/CloudTrail-Lake/Query/(\\d{4})/(\\d{2})/(\\d{2})/${QueryId}/result_1\\.csv\\.gz$`,
    ).exec(keys[0]!)
    assert.ok(m, keys[0])
    const folder = keys[0]!.slice(0, -'result_1.csv.gz'.length)
    assert.equal(keys[1], `${folder}result_sign.json`)

    const get = async (Key: string) =>
      Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: 'qresults', Key }))
        ).Body!.transformToByteArray(),
      )
    const gz = await get(keys[0]!)
    assert.deepEqual(parseCsv(gunzipSync(gz).toString('utf8')), await results(QueryId!))

    // The sign file, checked as `aws cloudtrail verify-query-results` (CLI v2) checks it.
    const sign = JSON.parse((await get(keys[1]!)).toString('utf8')) as {
      version: string
      region: string
      files: { fileHashValue: string; fileName: string }[]
      hashAlgorithm: string
      signatureAlgorithm: string
      queryCompleteTime: string
      hashSignature: string
      publicKeyFingerprint: string
    }
    assert.equal(sign.version, '1.0')
    assert.equal(sign.region, 'us-east-1')
    assert.equal(sign.hashAlgorithm, 'SHA-256')
    assert.equal(sign.signatureAlgorithm, 'SHA256withRSA')
    assert.match(sign.queryCompleteTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    assert.equal(sign.queryCompleteTime.slice(0, 10), `${m[2]}-${m[3]}-${m[4]}`)
    assert.deepEqual(sign.files, [
      {
        fileHashValue: createHash('sha256').update(gz).digest('hex'),
        fileName: 'result_1.csv.gz',
      },
    ])
    const completed = new Date(sign.queryCompleteTime)
    const { PublicKeyList } = await client.send(
      new ListPublicKeysCommand({
        StartTime: completed,
        EndTime: new Date(completed.getTime() + 20 * 86_400_000),
      }),
    )
    const pub = PublicKeyList?.find((k) => k.Fingerprint === sign.publicKeyFingerprint)
    assert.ok(pub, 'ListPublicKeys has the signing key')
    const key = createPublicKey({ key: Buffer.from(pub.Value!), format: 'der', type: 'pkcs1' })
    const signed = Buffer.from(sign.files.map((f) => f.fileHashValue).join(' '))
    assert.ok(verify('sha256', signed, key, Buffer.from(sign.hashSignature, 'hex')))
    assert.ok(
      !verify('sha256', Buffer.from('tampered'), key, Buffer.from(sign.hashSignature, 'hex')),
    )
  })

  it("refuses a missing bucket and bad URIs with AWS's errors", async () => {
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT 1 FROM ${storeId}`,
          DeliveryS3Uri: 's3://no-such-bucket/x',
        }),
      ),
      { name: 'S3BucketDoesNotExistException' },
    )
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT 1 FROM ${storeId}`,
          DeliveryS3Uri: 'https://qresults/x',
        }),
      ),
      { name: 'ValidationException' },
    )
    await assert.rejects(
      client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT 1 FROM ${storeId}`,
          DeliveryS3Uri: 's3://a..b/x',
        }),
      ),
      { name: 'InvalidS3BucketNameException' },
    )
  })

  describe('with the AWS CLI', { skip: AWS_CLI_VERSION ? false : 'aws CLI not installed' }, () => {
    let cli: AwsCli
    before(async () => {
      cli = await awsCli(ts, { region: 'us-east-1', tmpPrefix: 'opentrail-lake-delivery-cli-' })
    })
    after(() => cli?.close())

    it('start-query --query-parameters --delivery-s3-uri, then s3 cp of the result', async () => {
      const started = await cli.ok<{ QueryId: string }>(
        'cloudtrail',
        'start-query',
        '--query-statement',
        `SELECT eventName, count(*) AS n FROM ${storeId} WHERE eventName = ? GROUP BY eventName`,
        '--query-parameters',
        'DescribeTrails',
        '--delivery-s3-uri',
        's3://qresults/cli',
      )
      let d: Record<string, unknown> = {}
      for (let i = 0; i < 100; i++) {
        d = await cli.ok('cloudtrail', 'describe-query', '--query-id', started.QueryId)
        if (d['QueryStatus'] === 'FINISHED' && d['DeliveryStatus'] !== 'PENDING') break
        await new Promise((r) => setTimeout(r, 100))
      }
      assert.equal(d['DeliveryStatus'], 'SUCCESS')
      assert.equal(d['DeliveryS3Uri'], 's3://qresults/cli')
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'qresults', Prefix: 'cli/' }))
      const key = (listed.Contents ?? []).map((o) => o.Key!).find((k) => k.endsWith('.csv.gz'))
      assert.ok(key?.includes(`/CloudTrail-Lake/Query/`) && key.includes(started.QueryId), key)
      const local = join(cli.home, 'result_1.csv.gz')
      const cp = await cli.aws('s3', 'cp', '--no-progress', `s3://qresults/${key}`, local)
      assert.equal(cp.code, 0, cp.stderr)
      assert.deepEqual(parseCsv(gunzipSync(await readFile(local)).toString('utf8')), [
        ['eventName', 'n'],
        ['DescribeTrails', '3'],
      ])
    })

    it('start-query with a parameter count mismatch fails with InvalidQueryStatementException', async () => {
      const r = await cli.aws(
        'cloudtrail',
        'start-query',
        '--query-statement',
        `SELECT 1 FROM ${storeId}`,
        '--query-parameters',
        'extra',
      )
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /InvalidQueryStatementException/)
      const missing = await cli.aws(
        'cloudtrail',
        'start-query',
        '--query-statement',
        `SELECT 1 FROM ${storeId}`,
        '--delivery-s3-uri',
        's3://no-such-bucket',
      )
      assert.notEqual(missing.code, 0)
      assert.match(missing.stderr, /S3BucketDoesNotExistException/)
    })
  })
})
