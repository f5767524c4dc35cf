/**
 * Encryption at rest of trail log and digest files (a trail's KmsKeyId), end to end. Embedded store:
 * the files are ciphertext on disk, HEAD/GET show SSE-KMS with the trail's key ARN, GetObject
 * returns plaintext only to callers allowed kms:Decrypt on the key, and `opentrail validate-logs`
 * and the AWS CLI's `validate-logs` read the chain through the S3 API as valid. S3 adapter
 * (moto_server): every PutObject asks the bucket for SSE-KMS with the trail's key.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { ImportClient } from '../../src/import/client.js'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { commandExists, OPENTRAIL_BIN as BIN, runCommand } from '../helpers/process.js'
import { s3Client } from '../helpers/s3.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const ACCOUNT = '111122223333'
const BUCKET = 'encrypted-trail-bucket'
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:alias/trail-key`
const READER = { accessKeyId: 'AKIAREADER0000000001', secretAccessKey: 'reader-secret-key-0001' }
const DECRYPTOR = { accessKeyId: 'AKIADECRYPT000000001', secretAccessKey: 'decrypt-secret-key-001' }

const accounts = [
  {
    accountId: ACCOUNT,
    users: [
      {
        name: 'reader',
        policies: [
          'AWSCloudTrail_ReadOnlyAccess',
          { Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
        ],
        accessKeys: [READER],
      },
      {
        name: 'decryptor',
        policies: [
          {
            Statement: [
              { Effect: 'Allow', Action: 's3:*', Resource: '*' },
              { Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN },
            ],
          },
        ],
        accessKeys: [DECRYPTOR],
      },
    ],
    roles: [],
  },
]

async function listKeys(s3: S3Client): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'AWSLogs/' }))
  return (r.Contents ?? []).map((o) => o.Key!).sort()
}

async function getBytes(s3: S3Client, key: string): Promise<Buffer> {
  const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  return Buffer.from(await o.Body!.transformToByteArray())
}

/** Starts a logging trail with KmsKeyId and waits for a log file and two digests. */
async function encryptedTrail(ts: TestServer, s3: S3Client) {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  const ct = ts.client()
  const created = await ct.send(
    new CreateTrailCommand({
      Name: 'sealed',
      S3BucketName: BUCKET,
      EnableLogFileValidation: true,
      KmsKeyId: 'alias/trail-key',
    }),
  )
  assert.equal(created.KmsKeyId, KEY_ARN)
  await ct.send(new StartLoggingCommand({ Name: 'sealed' }))
  const requestId = (await ct.send(new DescribeTrailsCommand({}))).$metadata.requestId!
  const keys = await waitFor('a log file and two digests', async () => {
    const ks = await listKeys(s3)
    const logs = ks.filter((k) => k.includes('/CloudTrail/'))
    const digests = ks.filter((k) => k.includes('/CloudTrail-Digest/'))
    return logs.length > 0 && digests.length >= 2 ? { logs, digests } : undefined
  })
  return { trailArn: created.TrailARN!, requestId, ...keys }
}

describe('encryption at rest (e2e, embedded store)', () => {
  let ts: TestServer
  let admin: S3Client
  let trailArn: string
  let requestId: string
  let logs: string[]
  let digests: string[]

  before(async () => {
    ts = await startTestServer({ deliveryIntervalSeconds: 1, digestIntervalSeconds: 2, accounts })
    admin = s3Client(ts.url, ts)
    ;({ trailArn, requestId, logs, digests } = await encryptedTrail(ts, admin))
  })
  after(async () => {
    await ts?.close()
  })

  it('keeps log and digest files as ciphertext on disk, under a sealed master key', async () => {
    for (const key of [logs[0]!, digests[0]!]) {
      const onDisk = await readFile(join(ts.dataDir, 'buckets', BUCKET, key))
      assert.ok(onDisk.length > 0)
      assert.ok(!(onDisk[0] === 0x1f && onDisk[1] === 0x8b), `${key} is not gzip on disk`)
      assert.throws(() => gunzipSync(onDisk))
    }
    const kms = JSON.parse(await readFile(join(ts.dataDir, 'keys/kms-keys.json'), 'utf8')) as {
      keys: { name: string }[]
    }
    assert.deepEqual(
      kms.keys.map((k) => k.name),
      [KEY_ARN],
    )
  })

  it('shows SSE-KMS with the key ARN in HEAD and GET, and serves plaintext to the owner', async () => {
    for (const key of [logs[0]!, digests[0]!]) {
      const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
      assert.equal(head.ServerSideEncryption, 'aws:kms')
      assert.equal(head.SSEKMSKeyId, KEY_ARN)
      const got = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      assert.equal(got.ServerSideEncryption, 'aws:kms')
      assert.equal(got.SSEKMSKeyId, KEY_ARN)
      const json = JSON.parse(
        gunzipSync(Buffer.from(await got.Body!.transformToByteArray())).toString(),
      ) as Record<string, unknown>
      assert.ok(key.includes('Digest') ? 'logFiles' in json : 'Records' in json)
    }
    const all: Record<string, unknown>[] = []
    for (const key of await listKeys(admin))
      if (key.includes('/CloudTrail/'))
        all.push(
          ...(
            JSON.parse(gunzipSync(await getBytes(admin, key)).toString()) as {
              Records: Record<string, unknown>[]
            }
          ).Records,
        )
    assert.ok(all.some((r) => r['requestID'] === requestId))
  })

  it('needs kms:Decrypt on the key to GET (not to HEAD or list)', async () => {
    const reader = s3Client(ts.url, READER)
    const key = logs[0]!
    const head = await reader.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.equal(head.SSEKMSKeyId, KEY_ARN)
    assert.ok((await listKeys(reader)).includes(key))
    await assert.rejects(reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })), {
      name: 'AccessDenied',
      message: new RegExp(`not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`),
    })
    const decryptor = s3Client(ts.url, DECRYPTOR)
    assert.ok(
      gunzipSync(await getBytes(decryptor, key))
        .toString()
        .startsWith('{"Records":'),
    )
  })

  it('imports the encrypted files through the S3 API with a key allowed to decrypt', async () => {
    // An s3:// import reads with the server's own credentials (here from the environment).
    const imports = new ImportClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: async () => ({
        accessKeyId: ts.accessKeyId,
        secretAccessKey: ts.secretAccessKey,
      }),
    })
    const run = async (as: { accessKeyId: string; secretAccessKey: string }) => {
      const saved = { ...process.env }
      process.env['AWS_ACCESS_KEY_ID'] = as.accessKeyId
      process.env['AWS_SECRET_ACCESS_KEY'] = as.secretAccessKey
      try {
        let info = await imports.start({
          Source: `s3://${BUCKET}/AWSLogs/${ACCOUNT}/CloudTrail/`,
          S3EndpointUrl: ts.url,
        })
        while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
          await new Promise((r) => setTimeout(r, 50))
          info = await imports.get(info.ImportId)
        }
        return { info, failures: await imports.failures(info.ImportId) }
      } finally {
        process.env = saved
      }
    }
    const ok = await run(DECRYPTOR)
    assert.equal(ok.info.ImportStatus, 'COMPLETED', ok.info.ErrorMessage)
    assert.deepEqual(ok.failures, [])
    const stats = ok.info.ImportStatistics
    assert.ok(Number(stats['FilesCompleted']) >= logs.length)
    // The live events are already stored: re-reading them adds nothing, and every one is recognised.
    assert.equal(stats['EventsImported'], 0)
    assert.ok(Number(stats['DuplicatesSkipped']) > 0)

    const denied = await run(READER)
    assert.ok(denied.failures.length > 0 || denied.info.ImportStatus === 'FAILED')
  })

  it('validates as a valid chain with opentrail validate-logs and the AWS CLI', async (t) => {
    const st = await ts.client().send(new GetTrailStatusCommand({ Name: 'sealed' }))
    assert.equal(st.LatestDeliveryError, undefined)
    const start = new Date(Date.now() - 3600_000).toISOString()
    const ours = await runCommand(
      process.execPath,
      [
        BIN,
        'validate-logs',
        '--trail-arn',
        trailArn,
        '--start-time',
        start,
        '--endpoint-url',
        ts.url,
        '--no-progress',
      ],
      {
        AWS_ACCESS_KEY_ID: ts.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_ENDPOINT_URL: undefined,
        AWS_ENDPOINT_URL_S3: undefined,
        AWS_ENDPOINT_URL_CLOUDTRAIL: undefined,
      },
    )
    assert.equal(ours.code, 0, ours.stdout + ours.stderr)
    assert.match(ours.stdout, /(\d+)\/\1 digest files valid/)
    assert.match(ours.stdout, /(\d+)\/\1 log files valid/)

    // A caller without kms:Decrypt cannot validate: every file is reported, nothing crashes.
    const denied = await runCommand(
      process.execPath,
      [
        BIN,
        'validate-logs',
        '--trail-arn',
        trailArn,
        '--start-time',
        start,
        '--endpoint-url',
        ts.url,
        '--no-progress',
      ],
      {
        AWS_ACCESS_KEY_ID: READER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: READER.secretAccessKey,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_ENDPOINT_URL: undefined,
        AWS_ENDPOINT_URL_S3: undefined,
        AWS_ENDPOINT_URL_CLOUDTRAIL: undefined,
      },
    )
    assert.equal(denied.code, 1, denied.stdout + denied.stderr)
    assert.match(denied.stderr, /Digest file\ts3:\/\/.*\tINVALID: .*AccessDenied|not authorized/)
    assert.match(denied.stdout, /No valid digests found in range/)

    if (!(await commandExists('aws'))) return t.skip('aws is not on PATH')
    const theirs = await runCommand(
      'aws',
      ['cloudtrail', 'validate-logs', '--trail-arn', trailArn, '--start-time', start],
      {
        AWS_ENDPOINT_URL_CLOUDTRAIL: ts.url,
        AWS_ENDPOINT_URL_S3: ts.url,
        AWS_ACCESS_KEY_ID: ts.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_CONFIG_FILE: '/nonexistent',
      },
    )
    assert.equal(theirs.code, 0, theirs.stdout + theirs.stderr)
    assert.match(theirs.stdout, /(\d+)\/\1 digest files valid/)
  })
})

describe('encryption at rest (e2e, S3 adapter on moto_server)', () => {
  let moto: MotoServer | undefined
  let ts: TestServer
  let s3: S3Client
  let skip: string | undefined

  before(async () => {
    moto = await startMotoServer()
    if (!moto) {
      skip = 'moto_server is not on PATH'
      return
    }
    ts = await startTestServer({
      deliveryIntervalSeconds: 1,
      digestIntervalSeconds: 2,
      accounts,
      s3: { endpoint: moto.endpoint, accessKeyId: 'test', secretAccessKey: 'test' },
    })
    s3 = s3Client(moto.endpoint, { accessKeyId: 'test', secretAccessKey: 'test' })
  })
  after(async () => {
    await ts?.close()
    await moto?.stop()
  })

  it('asks the bucket for SSE-KMS with the trail key on every log and digest file', async (t) => {
    if (skip) return t.skip(skip)
    const { logs, digests } = await encryptedTrail(ts, s3)
    for (const key of [...logs, ...digests]) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
      assert.equal(head.ServerSideEncryption, 'aws:kms', key)
      assert.equal(head.SSEKMSKeyId, KEY_ARN, key)
    }
  })
})
