/**
 * Import end to end on the real invictus trail files (test/fixtures/invictus): the import API on a
 * started server, then LookupEvents through the AWS SDK as a user of the events' own account. The
 * expected counts are computed here independently, with zlib and JSON.parse.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { LookupEventsCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { ImportClient, type WireFailure, type WireImport } from '../../src/import/client.js'
import { startMotoServer } from '../../src/objectstore/testing/moto-server.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/invictus/CloudTrail', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))
const ACCOUNT = '123837392027'
const AUDITOR = { accessKeyId: 'AKIAAUDITOR000000001', secretAccessKey: 'auditor-secret-key-0001' }
const OUTSIDER = {
  accessKeyId: 'AKIAOUTSIDER00000001',
  secretAccessKey: 'outsider-secret-key-0001',
}

interface Rec {
  eventID: string
  eventTime: string
  eventName: string
  [k: string]: unknown
}

// The independent count: every file's Records, read with zlib and JSON.parse.
const files = readdirSync(FIXTURE)
  .filter((n) => n.endsWith('.json.gz'))
  .sort()
const recordsOf = new Map<string, Rec[]>(
  files.map((f) => [
    f,
    (JSON.parse(gunzipSync(readFileSync(join(FIXTURE, f))).toString('utf8')) as { Records: Rec[] })
      .Records,
  ]),
)
const all = [...recordsOf.values()].flat()
const byId = new Map(all.map((r) => [r.eventID, r]))

const config = {
  retentionDays: 3650,
  accounts: [
    {
      accountId: ACCOUNT,
      users: [
        { name: 'auditor', policies: ['AWSCloudTrail_ReadOnlyAccess'], accessKeys: [AUDITOR] },
      ],
      roles: [],
    },
    {
      // Another account: the server's own (operator) account is the first one configured.
      accountId: '210987654321',
      users: [{ name: 'outsider', policies: ['AWSCloudTrail_FullAccess'], accessKeys: [OUTSIDER] }],
      roles: [],
    },
  ],
}

function client(
  ts: TestServer,
  key = { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
): ImportClient {
  return new ImportClient({
    endpoint: ts.url,
    region: 'us-east-1',
    credentials: async () => key,
  })
}

async function runImport(
  c: ImportClient,
  input: Record<string, unknown>,
): Promise<{ info: WireImport; failures: WireFailure[] }> {
  let info = await c.start(input)
  while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
    await new Promise((r) => setTimeout(r, 50))
    info = await c.get(info.ImportId)
  }
  return { info, failures: await c.failures(info.ImportId) }
}

async function lookupById(ct: CloudTrailClient, id: string): Promise<Record<string, unknown>[]> {
  const out = await ct.send(
    new LookupEventsCommand({
      LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: id }],
      StartTime: new Date('2020-01-01T00:00:00Z'),
    }),
  )
  return (out.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>)
}

async function allEventIds(ct: CloudTrailClient): Promise<string[]> {
  const ids: string[] = []
  let token: string | undefined
  do {
    const page = await ct.send(
      new LookupEventsCommand({
        StartTime: new Date('2023-07-10T00:00:00Z'),
        EndTime: new Date('2023-07-11T00:00:00Z'),
        MaxResults: 50,
        ...(token ? { NextToken: token } : {}),
      }),
    )
    for (const e of page.Events ?? []) ids.push(e.EventId!)
    token = page.NextToken
  } while (token)
  return ids
}

describe('import: the invictus trail files', () => {
  let ts: TestServer
  let work: string
  let auditor: CloudTrailClient
  // The file whose copy is corrupted in the first import: one with many records.
  const victim = [...recordsOf].sort((a, b) => b[1].length - a[1].length)[0]![0]
  const victimCount = recordsOf.get(victim)!.length

  before(async () => {
    ts = await startTestServer(config)
    work = await mkdtemp(join(tmpdir(), 'opentrail-import-'))
    auditor = ts.client(AUDITOR)
  })
  after(async () => {
    await ts.close()
    await rm(work, { recursive: true, force: true })
  })

  it('has 2,900 records in 55 files (counted with zlib + JSON.parse)', () => {
    assert.equal(files.length, 55)
    assert.equal(all.length, 2900)
    assert.equal(byId.size, 2900)
  })

  it('reports a corrupted copy of one file and imports all the others', async () => {
    const dir = join(work, 'corrupt')
    await mkdir(dir)
    for (const f of files) await copyFile(join(FIXTURE, f), join(dir, f))
    const bytes = await readFile(join(FIXTURE, victim))
    for (let i = 40; i < bytes.length - 20; i += 97) bytes[i] = bytes[i]! ^ 0x5a
    await writeFile(join(dir, victim), bytes)

    const { info, failures } = await runImport(client(ts), { Source: dir })
    const s = info.ImportStatistics
    assert.equal(info.ImportStatus, 'COMPLETED', info.ErrorMessage)
    assert.equal(s['FilesFound'], 55)
    assert.equal(s['FilesCompleted'], 54)
    assert.equal(s['FilesFailed'], 1)
    assert.equal(s['EventsImported'], 2900 - victimCount)
    assert.equal(s['DuplicatesSkipped'], 0)
    assert.equal(failures.length, 1)
    assert.equal(failures[0]!.Location, victim)
    assert.equal(failures[0]!.Kind, 'FILE')
    assert.match(failures[0]!.ErrorType, /CorruptGzip|TruncatedJson|NotJson|UnbalancedJson/)

    await ts.server.pipeline.drain()
    // Nothing of the corrupted file was written, not even the records before the damage.
    for (const r of recordsOf.get(victim)!.slice(0, 3))
      assert.deepEqual(await lookupById(auditor, r.eventID), [])
  })

  it('imports every event exactly once: the original files add only the missing file', async () => {
    const { info, failures } = await runImport(client(ts), { Source: FIXTURE })
    const s = info.ImportStatistics
    assert.equal(info.ImportStatus, 'COMPLETED')
    assert.deepEqual(failures, [])
    assert.equal(s['FilesCompleted'], 55)
    assert.equal(s['EventsImported'], victimCount)
    assert.equal(s['DuplicatesSkipped'], 2900 - victimCount)

    await ts.server.pipeline.drain()
    const ids = await allEventIds(auditor)
    assert.equal(ids.length, 2900)
    assert.equal(new Set(ids).size, 2900)
    for (const id of ids) assert.ok(byId.has(id), id)
  })

  it('adds nothing when the same files are imported again', async () => {
    const { info } = await runImport(client(ts), { Source: FIXTURE })
    assert.equal(info.ImportStatus, 'COMPLETED')
    assert.equal(info.ImportStatistics['EventsImported'], 0)
    assert.equal(info.ImportStatistics['DuplicatesSkipped'], 2900)
    await ts.server.pipeline.drain()
    assert.equal((await allEventIds(auditor)).length, 2900)
  })

  it('LookupEvents finds known events with their original records', async () => {
    // The ConsoleLogin without MFA and the DeleteTrail of the attack timeline, and a few more.
    const known = [
      all.find((r) => r.eventName === 'ConsoleLogin')!,
      all.find((r) => r.eventName === 'DeleteTrail')!,
      all.find((r) => r.eventName === 'PutBucketPolicy')!,
      all[0]!,
      all[all.length - 1]!,
    ]
    for (const r of known) {
      const found = await lookupById(auditor, r.eventID)
      assert.equal(found.length, 1, `${r.eventName} ${r.eventID}`)
      assert.deepEqual(found[0], r)
    }
    const logins = await auditor.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ConsoleLogin' }],
        StartTime: new Date('2023-07-10T00:00:00Z'),
      }),
    )
    assert.equal(logins.Events?.length, all.filter((r) => r.eventName === 'ConsoleLogin').length)
    // Scoped by account: another account sees none of them.
    assert.deepEqual(await lookupById(ts.client(OUTSIDER), known[0]!.eventID), [])
  })

  it('reports truncated JSON, a non-CloudTrail file and bad records; keeps anonymized values', async () => {
    const dir = join(work, 'bad')
    await mkdir(dir)
    const base = recordsOf.get(files[0]!)!
    const fresh = (i: number, extra: Record<string, unknown> = {}) => ({
      ...base[0]!,
      eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ...extra,
    })
    // Truncated: a valid start, cut in the middle of the third record.
    const truncated = JSON.stringify({ Records: [fresh(1), fresh(2), fresh(3)] })
    await writeFile(
      join(dir, 'truncated.json'),
      truncated.slice(0, Math.floor(truncated.length * 0.8)),
    )
    await writeFile(join(dir, 'not-cloudtrail.json'), JSON.stringify({ hello: 'world', n: [1, 2] }))
    await writeFile(join(dir, 'garbage.json.gz'), gzipSync('this is not json at all'))
    const anonymized = fresh(10, {
      awsRegion: 'us-north-2r',
      sourceIPAddress: '999.12.0.300',
      recipientAccountId: ACCOUNT,
    })
    const lines = [
      JSON.stringify(anonymized),
      JSON.stringify(fresh(11, { sourceIPAddress: '0.0.0.0' })),
      JSON.stringify({ ...fresh(12), eventID: undefined }),
      JSON.stringify(fresh(13, { eventTime: 'yesterday' })),
      JSON.stringify(fresh(14, { eventTime: undefined })),
      JSON.stringify(fresh(15, { requestParameters: { blob: 'x'.repeat(300 * 1024) } })),
      '{"eventID": "broken", "eventTime": tru}',
    ]
    await writeFile(join(dir, 'mixed.jsonl'), lines.join('\n') + '\n')

    const { info, failures } = await runImport(client(ts), { Source: dir })
    const s = info.ImportStatistics
    assert.equal(info.ImportStatus, 'COMPLETED')
    assert.equal(s['FilesFound'], 4)
    assert.equal(s['FilesCompleted'], 1)
    assert.equal(s['FilesFailed'], 3)
    assert.equal(s['EventsImported'], 2)
    assert.equal(s['RecordsRejected'], 5)
    assert.deepEqual(s.RejectedByReason, {
      MissingEventId: 1,
      InvalidEventTime: 1,
      MissingEventTime: 1,
      RecordTooLarge: 1,
      InvalidJson: 1,
    })
    const fileErrors = Object.fromEntries(
      failures.filter((f) => f.Kind === 'FILE').map((f) => [f.Location, f.ErrorType]),
    )
    assert.deepEqual(fileErrors, {
      'garbage.json.gz': 'NotJson',
      'not-cloudtrail.json': 'NotCloudTrail',
      'truncated.json': 'TruncatedJson',
    })
    const recordErrors = failures.filter((f) => f.Kind === 'RECORD')
    assert.equal(recordErrors.length, 5)
    assert.ok(recordErrors.every((f) => f.Location.startsWith('mixed.jsonl#')))

    await ts.server.pipeline.drain()
    // The complete records of the truncated file were not written.
    assert.deepEqual(await lookupById(auditor, fresh(1).eventID), [])
    // Anonymized values are kept as they are; the fake region is its own lookup scope.
    const north = ts.client({ ...AUDITOR, region: 'us-north-2r' })
    const [got] = await lookupById(north, anonymized.eventID)
    assert.deepEqual(got, anonymized)
    const [zero] = await lookupById(auditor, fresh(11).eventID)
    assert.equal(zero?.['sourceIPAddress'], '0.0.0.0')
  })

  it('applies the time window and account and region filters', async () => {
    const { info } = await runImport(client(ts), {
      Source: FIXTURE,
      StartEventTime: Date.parse('2023-07-10T12:00:00Z') / 1000,
      EndEventTime: Date.parse('2023-07-10T12:10:00Z') / 1000,
      Regions: ['us-east-1'],
      Accounts: [ACCOUNT],
    })
    const inWindow = all.filter(
      (r) => r.eventTime >= '2023-07-10T12:00:00Z' && r.eventTime <= '2023-07-10T12:10:00Z',
    ).length
    const s = info.ImportStatistics
    // Files delivered before the window are not even read.
    assert.ok(s['FilesSkipped']! > 0)
    assert.equal(s['DuplicatesSkipped'], inWindow)
    const other = await runImport(client(ts), { Source: FIXTURE, Accounts: ['111111111111'] })
    assert.equal(other.info.ImportStatistics['EventsFiltered'], 2900)
    assert.equal(other.info.ImportStatistics['DuplicatesSkipped'], 0)
  })

  it('refuses imports by principals of other accounts and without StartImport', async () => {
    await assert.rejects(client(ts, OUTSIDER).start({ Source: FIXTURE }), {
      name: 'AccessDeniedException',
      message: /only principals of the server's account 123837392027/,
    })
    await assert.rejects(client(ts, AUDITOR).start({ Source: FIXTURE }), {
      name: 'AccessDeniedException',
    })
    // Read-only principals of the server's account may follow imports.
    const list = await client(ts, AUDITOR).list()
    assert.ok(list.length >= 4)
    await assert.rejects(client(ts).start({ Source: join(work, 'nope') }), {
      name: 'InvalidImportSourceException',
    })
  })

  it('opentrail import runs against the server and prints a summary', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(
          process.execPath,
          [BIN, 'import', FIXTURE, '--endpoint-url', ts.url, '--region', 'us-east-1'],
          {
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: ts.accessKeyId,
              AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
              AWS_REGION: 'us-east-1',
            },
          },
        )
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
        child.on('exit', (code) => resolve({ code, stdout, stderr }))
      },
    )
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stderr, /COMPLETED/)
    assert.match(out.stderr, /0 imported, 2,900 duplicates skipped/)
  })

  it('imports from s3://bucket/prefix (moto_server)', async (t) => {
    const moto = await startMotoServer()
    if (!moto) {
      t.skip('moto_server is not on PATH')
      return
    }
    const saved = { ...process.env }
    process.env['AWS_ACCESS_KEY_ID'] = 'test'
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test'
    try {
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      })
      await s3.send(new CreateBucketCommand({ Bucket: 'trail-bucket' }))
      const prefix = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2023/07/10`
      for (const f of files.slice(0, 10))
        await s3.send(
          new PutObjectCommand({
            Bucket: 'trail-bucket',
            Key: `${prefix}/${f}`,
            Body: readFileSync(join(FIXTURE, f)),
          }),
        )
      const { info, failures } = await runImport(client(ts), {
        Source: `s3://trail-bucket/AWSLogs/${ACCOUNT}/`,
        S3EndpointUrl: moto.endpoint,
      })
      assert.equal(info.ImportStatus, 'COMPLETED', info.ErrorMessage)
      assert.deepEqual(failures, [])
      assert.equal(info.ImportStatistics['FilesCompleted'], 10)
      const expected = files.slice(0, 10).reduce((n, f) => n + recordsOf.get(f)!.length, 0)
      assert.equal(info.ImportStatistics['DuplicatesSkipped'], expected)
      s3.destroy()
    } finally {
      process.env = saved
      await moto.stop()
    }
  })
})

describe('import: retention', () => {
  let ts: TestServer
  before(async () => {
    ts = await startTestServer()
  })
  after(async () => {
    await ts.close()
  })

  it('refuses events older than Event History retention unless told what to do', async () => {
    const refused = await runImport(client(ts), { Source: FIXTURE })
    assert.equal(refused.info.ImportStatus, 'FAILED')
    assert.match(refused.info.ErrorMessage!, /older than Event History's retention of 90 days/)
    assert.equal(refused.info.ImportStatistics['EventsImported'], 0)

    const skipped = await runImport(client(ts), { Source: FIXTURE, OlderThanRetention: 'skip' })
    assert.equal(skipped.info.ImportStatus, 'COMPLETED')
    assert.equal(skipped.info.ImportStatistics['EventsOlderThanRetention'], 2900)
    assert.equal(skipped.info.ImportStatistics['EventsImported'], 0)

    const imported = await runImport(client(ts), { Source: FIXTURE, OlderThanRetention: 'import' })
    assert.equal(imported.info.ImportStatus, 'COMPLETED')
    assert.equal(imported.info.ImportStatistics['EventsOlderThanRetention'], 2900)
    assert.equal(imported.info.ImportStatistics['EventsImported'], 2900)
  })
})
