/**
 * The Lake's query time on N rows (default 10,000,000) without the hours a load through the sink
 * takes on this machine: the store's table is created by the engine (the Lake schema), then filled
 * by DuckDB itself with synthetic rows (SQL over range(): 400 event names over 30 sources, 2,000
 * users, 30 days, 5 % errors of 8 codes). The four queries of bench/lake.ts then run through the
 * StartQuery path (prepare: check and rewrite; execute: the sandboxed engine), 3 runs each.
 *
 *   npx tsx bench/lake-10m.ts [--rows 10000000] [--dir /tmp/lake-10m]
 *
 * This measures queries only; load throughput is bench/lake.ts's figure.
 */
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LakeEngine } from '../src/lake/engine.js'
import { tableOf } from '../src/lake/sql.js'

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback
}
const ROWS = Number(flag('rows', '10000000'))
const DIR = flag('dir', '/tmp/lake-10m')
const STORE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'

async function main(): Promise<void> {
  await rm(DIR, { recursive: true, force: true })
  await mkdir(DIR, { recursive: true })
  const file = join(DIR, 'lake.duckdb')
  let engine = await LakeEngine.open(file, { memoryLimit: '4GB' })
  await engine.ensureTable(STORE)
  await engine.close()

  const t0 = performance.now()
  const db = await DuckDBInstance.create(file, { threads: '2', memory_limit: '4GB' })
  const con = await db.connect()
  await con.run(`
    INSERT INTO ${tableOf(STORE)} BY NAME
    SELECT
      TIMESTAMP '2026-10-01' + to_seconds((i * 7919) % (30 * 86400)) AS eventTime,
      'svc' || (i % 30) || '.amazonaws.com' AS eventSource,
      'Op' || ((i * 31) % 400) AS eventName,
      'us-east-1' AS awsRegion,
      '10.0.' || (i % 250) || '.' || (i % 97) AS sourceIPAddress,
      'aws-cli/2.9' AS userAgent,
      CASE WHEN i % 20 = 0 THEN ['AccessDenied', 'ThrottlingException', 'ValidationException',
        'NoSuchEntity', 'InvalidParameter', 'ResourceNotFound', 'Conflict', 'InternalError'][1 + (i // 20) % 8]
        END AS errorCode,
      {'type': 'IAMUser', 'principalId': 'AID' || (i % 2000),
       'arn': 'arn:aws:iam::123456789012:user/u' || (i % 2000), 'accountId': '123456789012',
       'accessKeyId': 'AKIA' || (i % 2000), 'userName': 'u' || (i % 2000), 'invokedBy': NULL,
       'identityProvider': NULL, 'credentialId': NULL, 'sessionContext': NULL} AS userIdentity,
      'e' || i AS eventID,
      (i % 3 <> 0) AS readOnly,
      'AwsApiCall' AS eventType,
      true AS managementEvent,
      '123456789012' AS recipientAccountId,
      'Management' AS eventCategory
    FROM range(${ROWS}) t(i)`)
  con.closeSync()
  db.closeSync()
  const loadS = (performance.now() - t0) / 1000
  const size = (await stat(file)).size

  engine = await LakeEngine.open(file, { memoryLimit: '4GB' })
  const count = Number((await timed(engine, `SELECT count(*) FROM ${STORE}`)).first)
  const day = '2026-10-15'
  const user = 'arn:aws:iam::123456789012:user/u42'
  const queries: [string, string][] = [
    ['group-by eventName', `SELECT eventName, count(*) AS n FROM ${STORE} GROUP BY eventName`],
    [
      'one user, 1-day window',
      `SELECT eventTime, eventName, sourceIPAddress FROM ${STORE}
       WHERE userIdentity.arn = '${user}'
         AND eventTime >= timestamp '${day} 00:00:00' AND eventTime < timestamp '${day} 00:00:00' + INTERVAL 1 DAY`,
    ],
    [
      'top 10 error codes',
      `SELECT errorCode, count(*) AS n FROM ${STORE} WHERE errorCode IS NOT NULL
       GROUP BY errorCode ORDER BY n DESC LIMIT 10`,
    ],
    [
      'join: writes by users with AccessDenied',
      `SELECT a.userIdentity.arn AS arn, count(*) AS n FROM ${STORE} a
       JOIN (SELECT DISTINCT userIdentity.arn AS arn FROM ${STORE} WHERE errorCode = 'AccessDenied') d
         ON a.userIdentity.arn = d.arn
       WHERE a.readOnly = false GROUP BY 1 ORDER BY n DESC LIMIT 10`,
    ],
  ]
  const table: Record<string, unknown>[] = []
  for (const [name, sql] of queries) {
    const ms: number[] = []
    let rows = 0
    for (let r = 0; r < 3; r++) {
      const t = await timed(engine, sql)
      ms.push(t.ms)
      rows = t.rows
    }
    ms.sort((a, b) => a - b)
    table.push({ query: name, rows, 'best ms': ms[0]!.toFixed(0), 'median ms': ms[1]!.toFixed(0) })
  }
  await engine.close()
  console.log(
    `Lake, ${count.toLocaleString('en')} rows (filled by DuckDB in ${loadS.toFixed(1)} s; ` +
      `${(size / 2 ** 20).toFixed(0)} MiB on disk)`,
  )
  console.table(table)
  await rm(DIR, { recursive: true, force: true })
}

async function timed(
  engine: LakeEngine,
  sql: string,
): Promise<{ ms: number; rows: number; first: unknown }> {
  const t0 = performance.now()
  const p = await engine.prepare(sql, () => undefined)
  const out = await engine.executeAll(p.sql, p.tables, { timeoutMs: 600_000 })
  return { ms: performance.now() - t0, rows: out.rows.length, first: out.rows[0]?.[0] }
}

await main()
