/**
 * A trail's bucket goes away while the trail is logging, on both object stores (the embedded store
 * through OpenTrail's S3 API, and moto_server through the S3 adapter): delivery fails and retries
 * with backoff, GetTrailStatus shows LatestDeliveryError, and once the bucket is back every call
 * made meanwhile is delivered, each exactly once. Files are read with the AWS SDK and plain zlib.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gunzipSync } from 'node:zlib'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { startMotoServer, type MotoServer } from '../../src/objectstore/testing/moto-server.js'
import { s3Client } from '../helpers/s3.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { waitFor as waitUntil } from '../helpers/wait.js'

const BUCKET = 'outage-bucket'

/** Delivery retries back off: a minute to wait by default. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000) =>
  waitUntil(what, fn, ms)

for (const variant of ['embedded store', 'S3 adapter, moto_server'] as const) {
  describe(`delivery through a bucket outage (e2e, ${variant})`, () => {
    let ts: TestServer
    let moto: MotoServer | undefined
    let s3: S3Client
    let skip: string | undefined

    before(async () => {
      if (variant === 'S3 adapter, moto_server') {
        moto = await startMotoServer()
        if (!moto) {
          skip = 'moto_server is not on PATH'
          return
        }
        ts = await startTestServer({
          deliveryIntervalSeconds: 1,
          s3: { endpoint: moto.endpoint, accessKeyId: 'test', secretAccessKey: 'test' },
        })
      } else {
        ts = await startTestServer({ deliveryIntervalSeconds: 1 })
      }
      s3 = s3Client(moto?.endpoint ?? ts.url, ts)
    })
    after(async () => {
      await ts?.close()
      await moto?.stop()
    })

    const keys = async () => {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'AWSLogs/' }))
      return (r.Contents ?? []).map((o) => o.Key!)
    }
    const requestIds = async () => {
      const ids: string[] = []
      for (const key of await keys()) {
        if (!key.includes('/CloudTrail/')) continue
        const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
        const body = gunzipSync(Buffer.from(await o.Body!.transformToByteArray())).toString()
        for (const r of (JSON.parse(body) as { Records: { requestID?: string }[] }).Records)
          if (r.requestID) ids.push(r.requestID)
      }
      return ids
    }

    it('retries, reports LatestDeliveryError, loses nothing and catches up', async (t) => {
      if (skip) return t.skip(skip)
      const ct = ts.client()
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
      await ct.send(new CreateTrailCommand({ Name: 'outage', S3BucketName: BUCKET }))
      await ct.send(new StartLoggingCommand({ Name: 'outage' }))
      const first = (await ct.send(new DescribeTrailsCommand({}))).$metadata.requestId!
      await waitFor('the first delivery', async () =>
        (await requestIds()).includes(first) ? true : undefined,
      )

      // The bucket goes away (emptied, then deleted).
      const existing = await keys()
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: BUCKET,
          Delete: { Objects: existing.map((Key) => ({ Key })) },
        }),
      )
      await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }))
      const during: string[] = []
      for (let i = 0; i < 5; i++)
        during.push((await ct.send(new DescribeTrailsCommand({}))).$metadata.requestId!)

      const failing = await waitFor('LatestDeliveryError', async () => {
        const st = await ct.send(new GetTrailStatusCommand({ Name: 'outage' }))
        return st.LatestDeliveryError ? st : undefined
      })
      assert.equal(failing.LatestDeliveryError, 'NoSuchBucket')
      assert.ok(failing.LatestDeliveryAttemptTime)
      assert.notEqual(failing.LatestDeliveryAttemptTime, failing.LatestDeliveryAttemptSucceeded)
      // Still failing a while later: retried, not dropped.
      await new Promise((r) => setTimeout(r, 1500))
      const still = await ct.send(new GetTrailStatusCommand({ Name: 'outage' }))
      assert.equal(still.LatestDeliveryError, 'NoSuchBucket')
      assert.ok(
        (still.LatestDeliveryAttemptTime ?? '') >= (failing.LatestDeliveryAttemptTime ?? ''),
      )

      // The bucket is back: everything made meanwhile arrives, once.
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
      const after = (await ct.send(new DescribeTrailsCommand({}))).$metadata.requestId!
      const ids = await waitFor('the calls made during the outage', async () => {
        const got = await requestIds()
        return [...during, after].every((id) => got.includes(id)) ? got : undefined
      })
      for (const id of [...during, after])
        assert.equal(ids.filter((x) => x === id).length, 1, `${id} delivered once`)
      const healed = await waitFor('the error to clear', async () => {
        const st = await ct.send(new GetTrailStatusCommand({ Name: 'outage' }))
        return st.LatestDeliveryError === undefined ? st : undefined
      })
      assert.ok(healed.LatestDeliveryTime instanceof Date)
    })
  })
}
