/**
 * Per-source Insights: an event data store's own view of the calls (its series, its stream, its
 * events with `insightSource`), data-event Insights on trails, and the event-data-store Insights
 * configuration (validation, persistence, routing of Insights events to the destination store).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { EventDataStore } from '../domains/lake/service.js'
import type { Trail } from '../domains/trails/model.js'
import { trailMatches } from '../domains/trails/selectors.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { RoutedStore } from '../lake/engine.js'
import type { LogEntry } from '../pipeline/event-log.js'
import { ServiceError } from '../shared/errors.js'
import { createLogger } from '../telemetry/logger.js'
import { EventDataStoreInsights, type LakeStores } from './event-data-stores.js'
import { keyString, parseKey } from './model.js'
import { InsightsSink, type InsightsScopes } from './sink.js'
import { generate } from './testing/synthetic.js'

const ACCOUNT = '111122223333'
const REGION = 'us-east-1'
const SRC = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:eventdatastore/src-store-0001`

const states = (rs: CloudTrailRecord[]) =>
  rs.map((r) => (r['insightDetails'] as { state: string }).state)

/** A day of sparse SendCommand calls, then a burst of 25 calls in 5 minutes. */
function stream(over: Partial<CloudTrailRecord> = {}): CloudTrailRecord[] {
  return [
    ...generate({
      accountId: ACCOUNT,
      region: REGION,
      start: new Date('2026-03-08T00:00:00Z'),
      minutes: 1440 + 600,
      apis: [{ eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', rate: 0.04 }],
      bursts: [
        {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'SendCommand',
          startMinute: 1440 + 540,
          minutes: 5,
          rate: 5,
        },
      ],
      seed: 9,
    }),
  ].map((r) => ({ ...r, ...over }))
}

function trail(insightSelectors: Trail['insightSelectors']): Trail {
  return {
    name: 't',
    accountId: ACCOUNT,
    homeRegion: REGION,
    isMultiRegionTrail: false,
    isLogging: true,
    includeGlobalServiceEvents: true,
    eventSelectors: { kind: 'basic', selectors: [] },
    insightSelectors,
  } as unknown as Trail
}

async function runSink(
  dir: string,
  records: CloudTrailRecord[],
  trails: Trail[],
  scopes: InsightsScopes[] = [],
) {
  const appended: CloudTrailRecord[] = []
  const sink = await InsightsSink.open({
    dir,
    clock: { now: () => new Date('2026-03-09T12:00:00Z') },
    logger: createLogger('silent'),
    trails: { all: () => trails },
    scopes,
    ingest: async (rs) => {
      appended.push(...rs)
      return 0
    },
    logHead: () => records.length,
    params: { warmupMinutes: 60 },
  })
  const entries: LogEntry[] = records.map((record, seq) => ({ seq, record }))
  await sink.write(entries, entries.length)
  return { sink, appended }
}

describe('insights scopes: per-source views and data-event Insights', () => {
  const dirs: string[] = []
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'insights-scopes-'))
    dirs.push(d)
    return d
  }
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('keys round-trip, and keys of older snapshots (six fields) still parse', () => {
    const k = {
      accountId: ACCOUNT,
      region: REGION,
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      insightType: 'ApiErrorRateInsight' as const,
      errorCode: 'AccessDenied',
      eventCategory: 'Data' as const,
      source: SRC,
    }
    assert.deepEqual(parseKey(keyString(k)), k)
    const old = [ACCOUNT, REGION, 'ssm.amazonaws.com', 'SendCommand', 'ApiCallRateInsight', '']
    assert.deepEqual(parseKey(old.join('\t')), {
      accountId: ACCOUNT,
      region: REGION,
      eventSource: 'ssm.amazonaws.com',
      eventName: 'SendCommand',
      insightType: 'ApiCallRateInsight',
      errorCode: '',
    })
    assert.equal(keyString(parseKey(old.join('\t'))), old.join('\t'))
  })

  it("counts a store's records in its own view and marks its Insights events with insightSource", async () => {
    const records = stream()
    const scopes: InsightsScopes = {
      sourcesOf: (r) => (r.eventName === 'SendCommand' ? [SRC] : []),
      enabled: (k) => k.source === SRC,
    }
    const { sink, appended } = await runSink(await tmp(), records, [], [scopes])
    // No trail has Insights: only the store's anomaly is emitted (both views see the burst).
    const emitted = sink.anomalies().filter((a) => a.emitted)
    assert.equal(emitted.length, 1)
    assert.equal(emitted[0]!.key.source, SRC)
    assert.equal(sink.anomalies().filter((a) => !a.emitted && !a.key.source).length, 1)
    assert.deepEqual(states(appended), ['Start', 'End'])
    for (const r of appended) assert.equal(r['insightSource'], SRC)
    // Such events are the store's: trails with Insights on do not log them.
    const t = trail([{ insightType: 'ApiCallRateInsight' }])
    assert.equal(trailMatches(t, appended[0]!), false)
    assert.equal(trailMatches(t, { ...appended[0]!, insightSource: undefined }), true)
    // Turning the store's Insights off forgets its view.
    assert.ok(sink.detector.seriesCount() >= 2)
    const before = sink.detector.seriesCount()
    await sink.forgetSource(SRC)
    assert.equal(sink.detector.seriesCount(), before - 1)
  })

  it('raises data-event Insights for a trail that selects the Data category, read calls included', async () => {
    const data = stream({ eventCategory: 'Data', managementEvent: false, readOnly: true })
    const on = await runSink(await tmp(), data, [
      trail([{ insightType: 'ApiCallRateInsight', eventCategories: ['Data'] }]),
    ])
    assert.deepEqual(states(on.appended), ['Start', 'End'])
    const d = on.appended[0]!['insightDetails'] as Record<string, unknown>
    assert.equal(d['eventCategory'], 'Data')
    assert.equal(d['insightType'], 'ApiCallRateInsight')
    // Routed only to trails whose selector names Data for the type.
    assert.equal(
      trailMatches(trail([{ insightType: 'ApiCallRateInsight' }]), on.appended[0]!),
      false,
    )
    assert.equal(
      trailMatches(
        trail([{ insightType: 'ApiCallRateInsight', eventCategories: ['Management', 'Data'] }]),
        on.appended[0]!,
      ),
      true,
    )
    // Management-only Insights count data calls but emit nothing for them.
    const off = await runSink(await tmp(), data, [trail([{ insightType: 'ApiCallRateInsight' }])])
    assert.deepEqual(off.appended, [])
    assert.equal(off.sink.anomalies().length, 1)
    assert.equal(off.sink.anomalies()[0]!.key.eventCategory, 'Data')
  })
})

// ---- the event-data-store configuration ----

function store(id: string, selectors: EventDataStore['advancedEventSelectors']): EventDataStore {
  return {
    id,
    arn: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:eventdatastore/${id}`,
    accountId: ACCOUNT,
    region: REGION,
    name: id,
    status: 'ENABLED',
    advancedEventSelectors: selectors,
    multiRegionEnabled: true,
    organizationEnabled: false,
    retentionPeriod: 7,
    terminationProtectionEnabled: false,
    billingMode: 'EXTENDABLE_RETENTION_PRICING',
    tags: [],
    createdTimestamp: '',
    updatedTimestamp: '',
  }
}

const mgmt = [{ name: 'm', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }]
const readOnlyMgmt = [
  {
    name: 'r',
    fieldSelectors: [
      { field: 'eventCategory', equals: ['Management'] },
      { field: 'readOnly', equals: ['true'] },
    ],
  },
]
const insight = [{ name: 'i', fieldSelectors: [{ field: 'eventCategory', equals: ['Insight'] }] }]

function fakeLake(stores: EventDataStore[]): LakeStores {
  const routed: RoutedStore[] = stores.map((st) => ({
    id: st.id,
    accountId: st.accountId,
    matches: (r) => r.eventCategory !== 'Insight' && st.advancedEventSelectors !== insight,
  }))
  return {
    find: (scope, ref) => {
      const id = ref.split('/').pop()!
      const st = stores.find((s) => s.id === id && s.accountId === scope.accountId)
      if (!st) {
        throw new ServiceError('EventDataStoreNotFoundException', `${ref} not found`)
      }
      return st
    },
    routed: () => routed,
  }
}

describe('event data store Insights: configuration and routing', () => {
  const dirs: string[] = []
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const scope = { accountId: ACCOUNT, region: REGION }

  async function open(stores: EventDataStore[], forgotten: string[] = []) {
    const dir = await mkdtemp(join(tmpdir(), 'insights-eds-'))
    dirs.push(dir)
    const file = join(dir, 'eds.json')
    const lake = fakeLake(stores)
    const o = {
      file,
      lake,
      clock: { now: () => new Date('2026-03-09T12:00:00Z') },
      forget: async (arn: string) => {
        forgotten.push(arn)
      },
    }
    return {
      eds: await EventDataStoreInsights.open(o),
      reopen: () => EventDataStoreInsights.open(o),
    }
  }

  const code = (name: string) => (e: unknown) => {
    assert.equal((e as ServiceError).code ?? (e as Error).name, name, String(e))
    return true
  }

  it('validates the selectors, the source and the destination', async () => {
    const { eds } = await open([
      store('src-store-0001', mgmt),
      store('dst-store-0001', insight),
      store('ro-store-00001', readOnlyMgmt),
    ])
    const put = (over: Record<string, unknown>) =>
      eds.put(scope, {
        eventDataStore: 'src-store-0001',
        insightsDestination: 'dst-store-0001',
        insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
        ...over,
      })
    await assert.rejects(
      put({ insightSelectors: [{ insightType: 'Nope' }] }),
      code('InvalidInsightSelectorsException'),
    )
    await assert.rejects(
      put({
        insightSelectors: [
          { insightType: 'ApiCallRateInsight' },
          { insightType: 'ApiCallRateInsight' },
        ],
      }),
      code('InvalidInsightSelectorsException'),
    )
    await assert.rejects(
      put({ insightSelectors: [{ insightType: 'ApiCallRateInsight', eventCategories: ['Data'] }] }),
      code('InvalidInsightSelectorsException'),
    )
    await assert.rejects(
      put({ eventDataStore: 'missing-0001' }),
      code('EventDataStoreNotFoundException'),
    )
    await assert.rejects(
      put({ insightsDestination: 'missing-0001' }),
      code('EventDataStoreNotFoundException'),
    )
    await assert.rejects(
      put({ insightsDestination: undefined }),
      code('InvalidParameterCombinationException'),
    )
    await assert.rejects(
      put({ insightsDestination: 'src-store-0001' }),
      code('InvalidParameterCombinationException'),
    )
    // The destination must collect Insights events; the source must log the management events.
    await assert.rejects(
      put({ insightsDestination: 'ro-store-00001' }),
      code('InvalidInsightSelectorsException'),
    )
    await assert.rejects(
      put({ eventDataStore: 'ro-store-00001' }),
      code('InvalidInsightSelectorsException'),
    )
    await put({
      eventDataStore: 'ro-store-00001',
      insightSelectors: [{ insightType: 'ApiErrorRateInsight' }],
    })
    assert.throws(() => eds.get(scope, 'src-store-0001'), code('InsightNotEnabledException'))
  })

  it('persists, routes Insights events to the destination only, and stops on empty selectors', async () => {
    const forgotten: string[] = []
    const src = store('src-store-0001', mgmt)
    const dst = store('dst-store-0001', insight)
    const other = store('oth-store-0001', insight)
    const { eds, reopen } = await open([src, dst, other], forgotten)
    const out = await eds.put(scope, {
      eventDataStore: src.arn,
      insightsDestination: 'dst-store-0001',
      insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
    })
    assert.deepEqual(out, {
      sourceArn: src.arn,
      destinationArn: dst.arn,
      insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
    })
    const again = await reopen()
    assert.equal(again.get(scope, 'src-store-0001').destinationArn, dst.arn)
    const call = stream()[0]!
    assert.deepEqual(again.sourcesOf(call), [src.arn])
    const key = {
      accountId: ACCOUNT,
      region: REGION,
      eventSource: 'ssm.amazonaws.com',
      eventName: 'SendCommand',
      errorCode: '',
    }
    assert.equal(
      again.enabled({ ...key, insightType: 'ApiCallRateInsight', source: src.arn }),
      true,
    )
    assert.equal(
      again.enabled({ ...key, insightType: 'ApiErrorRateInsight', source: src.arn }),
      false,
    )
    assert.equal(again.enabled({ ...key, insightType: 'ApiCallRateInsight' }), false)
    const routed = again.routeInsights(fakeLake([src, dst, other]).routed())
    const ev = {
      ...call,
      eventType: 'AwsCloudTrailInsight',
      eventCategory: 'Insight',
      insightSource: src.arn,
      insightDetails: { state: 'Start', insightType: 'ApiCallRateInsight' },
    } as CloudTrailRecord
    assert.deepEqual(
      routed.filter((st) => st.matches(ev)).map((st) => st.id),
      ['dst-store-0001'],
    )
    // A trail's Insights events (no insightSource) do not go to event data stores.
    assert.deepEqual(
      routed.filter((st) => st.matches({ ...ev, insightSource: undefined })).map((st) => st.id),
      [],
    )
    assert.deepEqual(
      routed.filter((st) => st.matches(call)).map((st) => st.id),
      ['src-store-0001'],
    )
    await assert.rejects(
      again.put(scope, { eventDataStore: src.id, insightSelectors: [] }),
      code('InvalidParameterCombinationException'),
    )
    const stop = await again.put(scope, {
      eventDataStore: src.id,
      insightsDestination: dst.id,
      insightSelectors: [],
    })
    assert.deepEqual(stop.insightSelectors, [])
    assert.deepEqual(forgotten, [src.arn])
    assert.deepEqual(again.sourcesOf(call), [])
    assert.deepEqual(
      again.routeInsights(fakeLake([src, dst]).routed()).filter((st) => st.matches(ev)),
      [],
    )
    assert.throws(() => again.get(scope, src.id), code('InsightNotEnabledException'))
    const third = await reopen()
    assert.throws(() => third.get(scope, src.id), code('InsightNotEnabledException'))
  })
})
