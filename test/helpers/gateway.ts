/**
 * Test helper for the recording-gateway suites (test/e2e/gateway*.test.ts): moto_server as the
 * upstream, a server with four gateways (plain, an upstream that is down, HTTPS, waitForRecord:
 * false), a trail with an S3 data-event selector, the AWS CLI and SDK clients signing with
 * OpenTrail keys, and finding the calls again (LookupEvents, delivered log files).
 */
import { after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { lookupAll, type Recorded } from './raw.js'
import { s3Client as newS3Client } from './s3.js'
import { startTestServer, type TestServer } from './server.js'
import { waitFor } from './wait.js'
import { awsEnv, runAws, type AwsRun } from './aws-cli.js'

export const ACCOUNT = '111122223333'
export const LIMITED = {
  accessKeyId: 'AKIAGWLIMITED0000001',
  secretAccessKey: 'gw-limited-secret-0000001',
}
export const UNKNOWN = {
  accessKeyId: 'AKIAGWUNKNOWN0000001',
  secretAccessKey: 'gw-unknown-secret-000001',
}
export const MIB = 1024 * 1024

const accounts = [
  {
    accountId: ACCOUNT,
    users: [
      {
        name: 'limited',
        policies: [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['s3:*', 'events:*', 'sns:*'], Resource: '*' },
              { Effect: 'Deny', Action: 's3:CreateBucket', Resource: '*' },
              { Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::gw-sdk/secret/*' },
              {
                Effect: 'Deny',
                Action: ['events:DeleteEventBus', 'sns:DeleteTopic'],
                Resource: '*',
              },
              // Scoped to one topic: the ARN in the call's TopicArn parameter is what IAM sees.
              {
                Effect: 'Deny',
                Action: 'sns:GetTopicAttributes',
                Resource: 'arn:aws:sns:us-east-1:123456789012:gw-topic',
              },
            ],
          },
        ],
        accessKeys: [LIMITED],
      },
    ],
    roles: [],
  },
]

export type Key = { accessKeyId: string; secretAccessKey: string }
export type Params = Record<string, unknown>

export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export interface GatewayReady {
  ts: TestServer
  /** The plain gateway's URL. */
  gw: string
  moto: MotoServer | undefined
  /** Why the suite skips (no moto_server), if it does. */
  skip: string | undefined
}

/**
 * Registers the suite's hooks (call it inside a describe); `ready` gets the server, the gateway
 * URL and moto_server once they are there.
 */
export function gatewayContext(ready: (c: GatewayReady) => void) {
  let moto: MotoServer | undefined
  let ts: TestServer
  let gw: string
  let skip: string | undefined
  let certDir: string | undefined
  const TRAIL_BUCKET = 'gw-trail-logs'
  /** Runs the AWS CLI against `endpoint`, with the bootstrap administrator's key. */
  function aws(args: string[], endpoint = gw): Promise<AwsRun> {
    const env = awsEnv(
      ts,
      ts.dataDir,
      { AWS_DEFAULT_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1' },
      { PATH: process.env['PATH'] ?? '' },
    )
    return runAws(['--endpoint-url', endpoint, ...args], { env, cwd: ts.dataDir })
  }
  async function ok(args: string[], endpoint = gw): Promise<string> {
    const r = await aws(args, endpoint)
    assert.equal(r.code, 0, `aws ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }
  const admin = (): Key => ({ accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey })
  const s3Client = (key: Key = admin(), endpoint = gw) => newS3Client(endpoint, key)
  /** The management event named `name` whose request ID is `requestId` (or that `pred` picks). */
  async function recorded(
    name: string,
    pred: string | ((e: Recorded) => boolean),
  ): Promise<Recorded> {
    const client = ts.client()
    const pick = typeof pred === 'string' ? (e: Recorded) => e.requestID === pred : pred
    return waitFor(`a recorded ${name}`, async () =>
      (await lookupAll(client, [{ AttributeKey: 'EventName', AttributeValue: name }])).find(pick),
    )
  }
  /** Every record the data-event trail delivered so far. */
  async function delivered(): Promise<Recorded[]> {
    const store = ts.server.objectStore
    const out: Recorded[] = []
    let startAfter: string | undefined
    do {
      const list = await store.listObjects(TRAIL_BUCKET, {
        prefix: 'AWSLogs/',
        ...(startAfter ? { startAfter } : {}),
      })
      for (const o of list.objects) {
        if (!o.key.includes('/CloudTrail/')) continue
        const body = (await store.getObject(TRAIL_BUCKET, o.key)).body
        out.push(...(JSON.parse(gunzipSync(body).toString()) as { Records: Recorded[] }).Records)
      }
      startAfter = list.nextStartAfter
    } while (startAfter)
    return out
  }
  const inTrail = (what: string, pred: (e: Recorded) => boolean) =>
    waitFor(what, async () => (await delivered()).find(pred))

  before(async () => {
    moto = await startMotoServer()
    if (!moto) {
      skip = 'moto_server is not on PATH'
      ready({ ts, gw, moto, skip })
      return
    }
    const upstream = { accessKeyId: 'test', secretAccessKey: 'test' }
    // A self-signed certificate for a gateway that serves HTTPS.
    certDir = await mkdtemp(join(tmpdir(), 'opentrail-gw-tls-'))
    const tls = { certFile: join(certDir, 'cert.pem'), keyFile: join(certDir, 'key.pem') }
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      tls.keyFile,
      '-out',
      tls.certFile,
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '2',
    ])
    assert.equal(made.status, 0, `openssl failed: ${String(made.stderr)}`)
    ts = await startTestServer({
      accounts,
      deliveryIntervalSeconds: 1,
      gateways: [
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream },
        // An upstream that is down.
        { listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${await closedPort()}`, ...upstream },
        // HTTPS towards the clients.
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream, tls },
        // Records alongside the response instead of before its end.
        { listen: '127.0.0.1:0', upstream: moto.endpoint, ...upstream, waitForRecord: false },
      ],
    })
    gw = ts.server.gateways[0]!.url
    // A trail with an S3 data-event selector, delivering to OpenTrail's embedded store.
    await ts.server.objectStore.createBucket(TRAIL_BUCKET)
    const client = ts.client()
    await client.send(new CreateTrailCommand({ Name: 'gw-data', S3BucketName: TRAIL_BUCKET }))
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: 'gw-data',
        EventSelectors: [
          {
            ReadWriteType: 'All',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }],
          },
        ],
      }),
    )
    await client.send(new StartLoggingCommand({ Name: 'gw-data' }))
    ready({ ts, gw, moto, skip })
  })
  after(async () => {
    await ts?.close()
    await moto?.stop()
    if (certDir) await rm(certDir, { recursive: true, force: true })
  })

  return { aws, ok, admin, s3Client, recorded, delivered, inTrail }
}
