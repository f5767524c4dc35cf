/**
 * LookupEvents end to end with the AWS SDK: the eight attributes, ANDed attributes, time ranges,
 * MaxResults, NextToken stability while events arrive, ordering, region and account scoping,
 * EventCategory insight, and visibility within a second of the call.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  ListTrailsCommand,
  LookupEventsCommand,
  type CloudTrailClient,
  type Event,
  type LookupAttribute,
  type LookupAttributeKey,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { findRecorded, lookupAll, sdkError, type Recorded } from '../helpers/raw.js'

const ACCOUNT = '111122223333'
const OTHER = '444455556666'
const key = (name: string) => ({
  accessKeyId: `AKIA${name.toUpperCase().padEnd(16, '0')}`,
  secretAccessKey: `${name}-secret-key-00000000`,
})
const user = (name: string) => ({
  name,
  policies: ['AWSCloudTrail_FullAccess'],
  accessKeys: [key(name)],
})

const attr = (AttributeKey: string, AttributeValue: string): LookupAttribute => ({
  AttributeKey: AttributeKey as LookupAttributeKey,
  AttributeValue,
})
const record = (e: Event) => JSON.parse(e.CloudTrailEvent!) as Recorded
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('e2e LookupEvents', () => {
  let ts: TestServer
  let admin: CloudTrailClient
  let alice: CloudTrailClient
  let bob: CloudTrailClient
  let trailArn: string
  let createId: string
  let statusId: string
  let bobDescribeId: string

  const lookup = (input: LookupEventsCommandInput, c: CloudTrailClient = admin) =>
    c.send(new LookupEventsCommand(input))

  before(async () => {
    ts = await startTestServer({
      accounts: [
        {
          accountId: ACCOUNT,
          users: [user('alice'), user('bob'), user('pager'), user('fresh'), user('bulk')],
          roles: [],
        },
        { accountId: OTHER, users: [user('outsider')], roles: [] },
      ],
    })
    admin = ts.client()
    alice = ts.client(key('alice'))
    bob = ts.client(key('bob'))
    const created = await alice.send(
      new CreateTrailCommand({ Name: 'lookup-trail', S3BucketName: 'lookup-bucket' }),
    )
    trailArn = created.TrailARN!
    createId = created.$metadata.requestId!
    bobDescribeId = (await bob.send(new DescribeTrailsCommand({}))).$metadata.requestId!
    statusId = (await bob.send(new GetTrailStatusCommand({ Name: 'lookup-trail' }))).$metadata
      .requestId!
    await findRecorded(admin, statusId, [attr('Username', 'bob')])
  })
  after(async () => {
    await ts.close()
  })

  it('returns the AWS Event shape, consistent with the CloudTrailEvent record', async () => {
    const r = await lookup({ LookupAttributes: [attr('EventName', 'CreateTrail')] })
    assert.equal(r.Events?.length, 1)
    const e = r.Events![0]!
    const rec = record(e)
    assert.equal(rec.requestID, createId)
    assert.equal(e.EventId, rec.eventID)
    assert.equal(e.EventName, 'CreateTrail')
    assert.equal(e.ReadOnly, 'false')
    assert.equal(e.AccessKeyId, key('alice').accessKeyId)
    assert.equal(e.Username, 'alice')
    assert.equal(e.EventSource, 'cloudtrail.amazonaws.com')
    assert.ok(e.EventTime instanceof Date)
    assert.equal(e.EventTime.toISOString().replace('.000Z', 'Z'), rec['eventTime'])
    assert.deepEqual(e.Resources, [
      { ResourceType: 'AWS::CloudTrail::Trail', ResourceName: trailArn },
    ])
  })

  describe('each of the eight lookup attributes', () => {
    it('EventId finds exactly that event', async () => {
      const all = await lookup({ LookupAttributes: [attr('Username', 'bob')] })
      const target = all.Events!.find((e) => record(e).requestID === statusId)!
      const r = await lookup({ LookupAttributes: [attr('EventId', target.EventId!)] })
      assert.deepEqual(
        r.Events?.map((e) => e.EventId),
        [target.EventId],
      )
      const none = await lookup({
        LookupAttributes: [attr('EventId', '00000000-0000-0000-0000-000000000000')],
      })
      assert.deepEqual(none.Events, [])
    })

    it('EventName', async () => {
      const r = await lookupAll(admin, [attr('EventName', 'GetTrailStatus')])
      assert.deepEqual(
        r.map((e) => e.requestID),
        [statusId],
      )
    })

    it('ReadOnly true and false', async () => {
      const ro = await lookupAll(admin, [attr('ReadOnly', 'true')])
      const rw = await lookupAll(admin, [attr('ReadOnly', 'false')])
      assert.ok(ro.every((e) => e.readOnly === true))
      assert.ok(rw.every((e) => e.readOnly === false))
      assert.ok(ro.some((e) => e.requestID === statusId))
      assert.ok(!ro.some((e) => e.requestID === createId))
      assert.ok(rw.some((e) => e.requestID === createId))
    })

    it('Username', async () => {
      const r = await lookupAll(admin, [attr('Username', 'bob')])
      assert.deepEqual(new Set(r.map((e) => e.requestID)), new Set([bobDescribeId, statusId]))
      assert.ok(r.every((e) => e.userIdentity?.userName === 'bob'))
    })

    it('ResourceType', async () => {
      const r = await lookup({ LookupAttributes: [attr('ResourceType', 'AWS::CloudTrail::Trail')] })
      assert.ok(r.Events!.length >= 2)
      assert.ok(
        r.Events!.every((e) =>
          e.Resources?.some((x) => x.ResourceType === 'AWS::CloudTrail::Trail'),
        ),
      )
      assert.ok(r.Events!.some((e) => record(e).requestID === createId))
      assert.ok(!r.Events!.some((e) => record(e).requestID === bobDescribeId))
      const none = await lookup({ LookupAttributes: [attr('ResourceType', 'AWS::S3::Bucket')] })
      assert.deepEqual(none.Events, [])
    })

    it('ResourceName', async () => {
      const r = await lookupAll(admin, [attr('ResourceName', trailArn)])
      assert.deepEqual(new Set(r.map((e) => e.requestID)), new Set([createId, statusId]))
      const none = await lookupAll(admin, [attr('ResourceName', trailArn + '-other')])
      assert.deepEqual(none, [])
    })

    it('EventSource', async () => {
      const r = await lookupAll(admin, [attr('EventSource', 'cloudtrail.amazonaws.com')])
      assert.ok(r.some((e) => e.requestID === createId))
      assert.ok(r.every((e) => e['eventSource'] === 'cloudtrail.amazonaws.com'))
      assert.deepEqual(await lookupAll(admin, [attr('EventSource', 'ec2.amazonaws.com')]), [])
    })

    it('AccessKeyId', async () => {
      const r = await lookupAll(admin, [attr('AccessKeyId', key('bob').accessKeyId)])
      assert.deepEqual(new Set(r.map((e) => e.requestID)), new Set([bobDescribeId, statusId]))
    })

    it('rejects unknown keys, empty values and a key given twice', async () => {
      const bad = await sdkError(lookup({ LookupAttributes: [attr('Colour', 'blue')] }))
      assert.equal(bad.name, 'InvalidLookupAttributesException')
      const empty = await sdkError(lookup({ LookupAttributes: [attr('EventName', '')] }))
      assert.equal(empty.name, 'InvalidLookupAttributesException')
      const twice = await sdkError(
        lookup({
          LookupAttributes: [attr('EventName', 'CreateTrail'), attr('EventName', 'ListTrails')],
        }),
      )
      assert.equal(twice.name, 'InvalidLookupAttributesException')
    })
  })

  it('combines several attributes with AND (OpenTrail extension)', async () => {
    const both = await lookupAll(admin, [
      attr('Username', 'bob'),
      attr('EventName', 'DescribeTrails'),
    ])
    assert.deepEqual(
      both.map((e) => e.requestID),
      [bobDescribeId],
    )
    const three = await lookupAll(admin, [
      attr('ReadOnly', 'true'),
      attr('ResourceName', trailArn),
      attr('AccessKeyId', key('bob').accessKeyId),
    ])
    assert.deepEqual(
      three.map((e) => e.requestID),
      [statusId],
    )
    const disjoint = await lookupAll(admin, [
      attr('Username', 'alice'),
      attr('EventName', 'GetTrailStatus'),
    ])
    assert.deepEqual(disjoint, [])
  })

  it('StartTime and EndTime bound the results; a reversed range is InvalidTimeRangeException', async () => {
    const fresh = ts.client(key('fresh'))
    const before = (await fresh.send(new ListTrailsCommand({}))).$metadata.requestId!
    // Wait for the next whole second: event times have one-second resolution.
    await sleep(1000 - (Date.now() % 1000) + 20)
    const boundary = new Date(Math.floor(Date.now() / 1000) * 1000)
    const afterId = (await fresh.send(new ListTrailsCommand({}))).$metadata.requestId!
    await findRecorded(admin, afterId, [attr('Username', 'fresh')])
    const ids = async (range: { StartTime?: Date; EndTime?: Date }) =>
      (await lookupAll(admin, [attr('Username', 'fresh')], range)).map((e) => e.requestID)

    assert.deepEqual(await ids({}), [afterId, before])
    assert.deepEqual(await ids({ StartTime: boundary }), [afterId])
    assert.deepEqual(await ids({ EndTime: new Date(boundary.getTime() - 1) }), [before])
    assert.deepEqual(
      await ids({ StartTime: new Date(boundary.getTime() - 60_000), EndTime: new Date() }),
      [afterId, before],
    )
    assert.deepEqual(await ids({ EndTime: new Date(boundary.getTime() - 3_600_000) }), [])
    assert.deepEqual(
      await ids({
        StartTime: new Date(Date.now() + 3_600_000),
        EndTime: new Date(Date.now() + 7_200_000),
      }),
      [],
    )

    const e = await sdkError(
      lookup({ StartTime: new Date(), EndTime: new Date(Date.now() - 60_000) }),
    )
    assert.equal(e.name, 'InvalidTimeRangeException')
    assert.match(e.message, /Start time must be before end time/)
    assert.ok(e.status >= 400 && e.status < 500)
    const future = await sdkError(lookup({ StartTime: new Date(Date.now() + 3_600_000) }))
    assert.equal(future.name, 'InvalidTimeRangeException')
  })

  it('MaxResults 1-50 (default 50); anything else is InvalidMaxResultsException', async () => {
    const bulk = ts.client(key('bulk'))
    const ids = await Promise.all(
      Array.from({ length: 55 }, () => bulk.send(new ListTrailsCommand({}))),
    )
    // The 55 calls ran concurrently, so no single one is the last to land: wait for all of them.
    await ts.server.pipeline.drain()
    await findRecorded(admin, ids[54]!.$metadata.requestId!, [attr('Username', 'bulk')])
    const byBulk = [attr('Username', 'bulk')]
    for (const n of [1, 7, 50]) {
      const r = await lookup({ LookupAttributes: byBulk, MaxResults: n })
      assert.equal(r.Events?.length, n)
      assert.ok(r.NextToken)
    }
    const dflt = await lookup({ LookupAttributes: byBulk })
    assert.equal(dflt.Events?.length, 50)
    const rest = await lookup({ LookupAttributes: byBulk, NextToken: dflt.NextToken })
    assert.equal(rest.Events?.length, 5)
    assert.equal(rest.NextToken, undefined)
    for (const bad of [0, 51, -1, 1000]) {
      const e = await sdkError(lookup({ MaxResults: bad }))
      assert.equal(e.name, 'InvalidMaxResultsException', String(bad))
    }
  })

  it('returns newest first, and NextToken pages are stable while new events arrive', async () => {
    const pager = ts.client(key('pager'))
    const calls: string[] = []
    for (let i = 0; i < 23; i++)
      calls.push((await pager.send(new ListTrailsCommand({}))).$metadata.requestId!)
    await findRecorded(admin, calls[calls.length - 1]!, [attr('Username', 'pager')])

    const seen: string[] = []
    const extra: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await lookup({
        LookupAttributes: [attr('Username', 'pager')],
        MaxResults: 4,
        NextToken: token,
      })
      pages++
      for (const e of page.Events ?? []) seen.push(record(e).requestID!)
      token = page.NextToken
      if (token) assert.equal(page.Events?.length, 4)
      // More calls by the same user between pages; they are newer than the first page.
      const more = await Promise.all([
        pager.send(new ListTrailsCommand({})),
        pager.send(new ListTrailsCommand({})),
      ])
      extra.push(...more.map((m) => m.$metadata.requestId!))
      await findRecorded(admin, extra[extra.length - 1]!, [attr('Username', 'pager')])
    } while (token)

    assert.equal(pages, 6)
    assert.equal(new Set(seen).size, seen.length, 'no duplicates across pages')
    assert.deepEqual(seen, [...calls].reverse(), 'no gaps, newest first')
    // A new lookup sees everything, still newest first.
    const now = (await lookupAll(admin, [attr('Username', 'pager')])).map((e) => e.requestID)
    assert.equal(now.length, calls.length + extra.length)
    assert.deepEqual(now.slice(-calls.length), [...calls].reverse())
    assert.deepEqual(new Set(now.slice(0, extra.length)), new Set(extra))
  })

  it('event times never increase down the pages', async () => {
    const all = await lookup({ MaxResults: 50 })
    const times = all.Events!.map((e) => e.EventTime!.getTime())
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! >= times[i]!)
  })

  it('InvalidNextTokenException for garbage and for a token reused with other parameters', async () => {
    const first = await lookup({ LookupAttributes: [attr('Username', 'pager')], MaxResults: 2 })
    const token = first.NextToken!
    assert.ok(token)
    const cases: LookupEventsCommandInput[] = [
      { NextToken: 'garbage' },
      { NextToken: '!!!!' },
      { NextToken: Buffer.from('null').toString('base64') },
      { NextToken: Buffer.from('{"t":1,"s":1,"f":"x"}').toString('base64') },
      { NextToken: token },
      { NextToken: token, LookupAttributes: [attr('Username', 'alice')] },
      { NextToken: token, LookupAttributes: [attr('EventName', 'ListTrails')] },
      {
        NextToken: token,
        LookupAttributes: [attr('Username', 'pager')],
        EndTime: new Date(),
      },
    ]
    for (const c of cases) {
      const e = await sdkError(lookup(c))
      assert.equal(e.name, 'InvalidNextTokenException', JSON.stringify(c))
      assert.ok(e.status >= 400 && e.status < 500)
    }
    // Nor is a management-events token for Insights events.
    const byName = await lookup({
      LookupAttributes: [attr('EventName', 'ListTrails')],
      MaxResults: 1,
    })
    const insight = await sdkError(
      lookup({
        LookupAttributes: [attr('EventName', 'ListTrails')],
        NextToken: byName.NextToken,
        EventCategory: 'insight',
      }),
    )
    assert.equal(insight.name, 'InvalidNextTokenException')
    // A token from another region is not valid here either.
    const eu = ts.client({ region: 'eu-west-1' })
    const e = await sdkError(
      lookup({ NextToken: token, LookupAttributes: [attr('Username', 'pager')] }, eu),
    )
    assert.equal(e.name, 'InvalidNextTokenException')
    // The token itself still works with the parameters it was issued for (and any MaxResults).
    const next = await lookup({
      LookupAttributes: [attr('Username', 'pager')],
      MaxResults: 3,
      NextToken: token,
    })
    assert.equal(next.Events?.length, 3)
  })

  // Regression: token numbers must be safe integers, or the token is refused (never a 500).
  it('a tampered token is refused, never an internal error', async () => {
    const first = await lookup({ LookupAttributes: [attr('Username', 'bob')], MaxResults: 1 })
    const decoded = JSON.parse(Buffer.from(first.NextToken!, 'base64').toString()) as Record<
      string,
      unknown
    >
    const failures: string[] = []
    for (const change of [
      { t: 1.5 },
      { t: 1e300 },
      { t: -1e300 },
      { s: 0.5 },
      { s: 1e300 },
      { t: '1' },
    ]) {
      const forged = Buffer.from(JSON.stringify({ ...decoded, ...change })).toString('base64')
      const res = await lookup({
        LookupAttributes: [attr('Username', 'bob')],
        NextToken: forged,
      }).then(
        () => 'ok',
        (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
          e.$metadata?.httpStatusCode === 400 ? 'ok' : `${e.name}: ${e.message}`,
      )
      if (res !== 'ok') failures.push(`${JSON.stringify(change)} -> ${res}`)
    }
    assert.deepEqual(failures, [])
  })

  it('is scoped to the region the call was signed for', async () => {
    const aliceEu = ts.client({ ...key('alice'), region: 'eu-west-1' })
    const euCall = (await aliceEu.send(new ListTrailsCommand({}))).$metadata.requestId!
    const eu = ts.client({ region: 'eu-west-1' })
    const inEu = await findRecorded(eu, euCall, [attr('Username', 'alice')])
    assert.equal(inEu.awsRegion, 'eu-west-1')
    const inUs = await lookupAll(admin, [attr('Username', 'alice')])
    assert.ok(!inUs.some((e) => e.requestID === euCall))
    assert.ok(inUs.some((e) => e.requestID === createId))
    const euAll = await lookupAll(eu, [attr('Username', 'alice')])
    assert.ok(!euAll.some((e) => e.requestID === createId))
  })

  it('is scoped to the caller account', async () => {
    const outsider = ts.client(key('outsider'))
    const call = (await outsider.send(new ListTrailsCommand({}))).$metadata.requestId!
    const own = await findRecorded(outsider, call, [attr('Username', 'outsider')])
    assert.equal(own.recipientAccountId, OTHER)
    assert.ok(!(await lookupAll(admin)).some((e) => e.requestID === call))
    assert.ok(!(await lookupAll(outsider)).some((e) => e.requestID === createId))
  })

  it('EventCategory insight returns no management events', async () => {
    assert.ok((await lookup({})).Events!.length > 0)
    const r = await lookup({ EventCategory: 'insight' })
    assert.deepEqual(r.Events, [])
    assert.equal(r.NextToken, undefined)
    const byName = await lookup({
      EventCategory: 'insight',
      LookupAttributes: [attr('EventName', 'CreateTrail')],
    })
    assert.deepEqual(byName.Events, [])
    const e = await sdkError(
      lookup({ EventCategory: 'insight', LookupAttributes: [attr('Username', 'alice')] }),
    )
    assert.equal(e.name, 'InvalidLookupAttributesException')
  })

  it('an event is visible within one second of the call', async () => {
    const latencies: number[] = []
    for (let i = 0; i < 5; i++) {
      const res = await bob.send(new DescribeTrailsCommand({}))
      const t0 = Date.now()
      const id = res.$metadata.requestId!
      for (;;) {
        const r = await lookup({
          LookupAttributes: [attr('Username', 'bob'), attr('EventName', 'DescribeTrails')],
          MaxResults: 5,
        })
        if (r.Events?.some((e) => record(e).requestID === id)) break
        assert.ok(Date.now() - t0 < 1000, `call ${i} not visible after ${Date.now() - t0} ms`)
        await sleep(10)
      }
      latencies.push(Date.now() - t0)
    }
    assert.ok(Math.max(...latencies) < 1000, latencies.join(','))
  })
})
