import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventGenerator } from '../../../bench/generator.js'
import type { CloudTrailRecord } from '../../events/record.js'
import type { LookupAttributeKey, LookupQuery } from '../history-port.js'
import { isHistoryEvent, usernameOf } from './history-rows.js'
import { DuckDbHistoryStore } from './history-store.js'
import { BLOCK_ROWS } from './block-index.js'
import { encodeRecord, decodeRecord } from './record-codec.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const N = BLOCK_ROWS * 2 + 1000

function attrOf(r: CloudTrailRecord, key: LookupAttributeKey): string[] {
  switch (key) {
    case 'EventId':
      return [r.eventID]
    case 'EventName':
      return [r.eventName]
    case 'EventSource':
      return [r.eventSource]
    case 'ReadOnly':
      return r.readOnly === undefined ? [] : [String(r.readOnly)]
    case 'Username':
      return [usernameOf(r)]
    case 'AccessKeyId':
      return r.userIdentity?.accessKeyId ? [r.userIdentity.accessKeyId] : []
    case 'ResourceType':
      return (r.resources ?? []).map((x) => x.type ?? '')
    case 'ResourceName':
      return (r.resources ?? []).map((x) => x.ARN ?? '')
  }
}

describe('record codec', () => {
  it('rebuilds every sample shape byte for byte', () => {
    const gen = EventGenerator.load({ seed: 3 })
    for (let i = 0; i < 5000; i++) {
      const r = gen.next(T0 + i * 1000)
      const text = JSON.stringify(r)
      const t = Date.parse(r.eventTime)
      const enc = encodeRecord(r, text, t, r.recipientAccountId)
      const back = decodeRecord(enc.skeleton, {
        eventId: r.eventID,
        requestId: enc.requestId,
        eventTime: enc.eventTime,
        timeMs: t,
        sourceIp: enc.sourceIp,
        userAgent: enc.userAgent,
        region: r.awsRegion,
        account: r.recipientAccountId,
        who: enc.who,
      })
      assert.equal(back, text)
    }
  })

  it('keeps a record that contains the hole marker whole', () => {
    const r = { eventID: 'x', eventTime: '2026-01-01T00:00:00Z', note: '\u0000i' } as never
    const text = JSON.stringify(r)
    assert.equal(encodeRecord(r, text, T0, '').skeleton, text)
  })
})

describe('DuckDB history store', () => {
  let dir: string
  let store: DuckDbHistoryStore
  let events: { seq: number; record: CloudTrailRecord }[]

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-history-'))
    store = await DuckDbHistoryStore.open(join(dir, 'h.duckdb'))
    const gen = EventGenerator.load({ seed: 5, accounts: 1 })
    events = gen
      .batch(N, T0, T0 + N * 60_000)
      .map((record, seq) => ({ seq, record }))
      .filter((e) => isHistoryEvent(e.record))
    for (let i = 0; i < events.length; i += 3000) {
      const part = events.slice(i, i + 3000)
      await store.write(part, part[part.length - 1]!.seq + 1)
    }
  })

  after(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const expected = (q: LookupQuery) =>
    events
      .filter((e) => {
        const r = e.record
        const t = Date.parse(r.eventTime)
        return (
          r.recipientAccountId === q.accountId &&
          r.awsRegion === q.region &&
          t >= q.start.getTime() &&
          t <= q.end.getTime() &&
          q.attributes.every((a) => attrOf(r, a.key).includes(a.value)) &&
          (!q.after || t < q.after.timeMs || (t === q.after.timeMs && e.seq < q.after.seq))
        )
      })
      .sort(
        (a, b) => Date.parse(b.record.eventTime) - Date.parse(a.record.eventTime) || b.seq - a.seq,
      )
      .slice(0, q.limit)
      .map((e) => ({ seq: e.seq, body: JSON.stringify(e.record) }))

  it('answers lookups like a full scan would, for every attribute, with exact bodies', async () => {
    const pick = events[Math.floor(events.length / 3)]!.record
    const base = {
      accountId: pick.recipientAccountId,
      region: pick.awsRegion,
      category: 'management' as const,
      start: new Date(T0),
      end: new Date(T0 + N * 60_000),
      limit: 51,
    }
    const keys: LookupAttributeKey[] = [
      'EventId',
      'EventName',
      'ReadOnly',
      'Username',
      'EventSource',
      'AccessKeyId',
    ]
    const queries: LookupQuery[] = [{ ...base, attributes: [] }]
    for (const key of keys)
      queries.push({ ...base, attributes: [{ key, value: attrOf(pick, key)[0]! }] })
    const withRes = events.find((e) => (e.record.resources ?? []).length > 0)!.record
    for (const key of ['ResourceType', 'ResourceName'] as const)
      queries.push({
        ...base,
        accountId: withRes.recipientAccountId,
        region: withRes.awsRegion,
        attributes: [{ key, value: attrOf(withRes, key)[0]! }],
      })
    queries.push({
      ...base,
      start: new Date(T0 + 3_600_000 * 100),
      end: new Date(T0 + 3_600_000 * 101),
      attributes: [],
    })
    queries.push({ ...base, attributes: [{ key: 'EventName', value: 'NoSuchEvent' }] })
    for (const q of queries) {
      const got = await store.lookup(q)
      assert.deepEqual(
        got.map((r) => ({ seq: r.seq, body: r.body })),
        expected(q),
        JSON.stringify(q.attributes),
      )
      // The next page continues strictly after the last row.
      const last = got[got.length - 1]
      if (last) {
        const q2 = { ...q, after: { timeMs: last.timeMs, seq: last.seq } }
        assert.deepEqual(
          (await store.lookup(q2)).map((r) => ({ seq: r.seq, body: r.body })),
          expected(q2),
        )
      }
    }
  })

  it('stores records with huge fields and NUL characters (the appender path)', async () => {
    const base = events[0]!.record
    const next = (await store.checkpoint()) + 1000
    const big = { ...base, eventID: 'big-1', eventName: 'x'.repeat(2_200_000) }
    const nul = { ...base, eventID: 'nul-1', userAgent: 'a\u0000b' }
    await store.write(
      [
        { seq: next, record: big },
        { seq: next + 1, record: nul },
      ],
      next + 2,
    )
    for (const r of [big, nul]) {
      const got = await store.lookup({
        accountId: r.recipientAccountId,
        region: r.awsRegion,
        category: 'management',
        start: new Date(0),
        end: new Date(T0 + N * 60_000),
        attributes: [{ key: 'EventId', value: r.eventID }],
        limit: 2,
      })
      assert.equal(got.length, 1)
      assert.equal(got[0]!.body, JSON.stringify(r))
    }
    events.push({ seq: next, record: big }, { seq: next + 1, record: nul })
  })

  it('rebuilds its skip index and dictionary after reopening', async () => {
    await store.close()
    store = await DuckDbHistoryStore.open(join(dir, 'h.duckdb'))
    assert.equal(await store.checkpoint(), events[events.length - 1]!.seq + 1)
    const pick = events[events.length - 7]!.record
    const q: LookupQuery = {
      accountId: pick.recipientAccountId,
      region: pick.awsRegion,
      category: 'management',
      start: new Date(T0),
      end: new Date(T0 + N * 60_000),
      attributes: [{ key: 'EventId', value: pick.eventID }],
      limit: 5,
    }
    assert.deepEqual(
      (await store.lookup(q)).map((r) => r.body),
      [JSON.stringify(pick)],
    )
  })
})
