/**
 * DashboardService with a controlled clock: the refresh schedule runs a refresh when its slot comes
 * (hourly at TimeOfDay's minute, daily at TimeOfDay) and not before; dashboards survive a reopen;
 * a second refresh while one runs is refused (AWS's quota of 1); placeholders are filled in order.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LakeEngine } from '../../lake/engine.js'
import { DashboardService, firstSlot, substitute } from './dashboards.js'
import { LakeService } from './service.js'

const SCOPE = { accountId: '111122223333', region: 'us-east-1' }

describe('DashboardService', () => {
  let dir: string
  let engine: LakeEngine
  let lake: LakeService
  let svc: DashboardService
  let now = Date.parse('2026-03-01T10:20:00Z')
  const clock = { now: () => new Date(now) }
  let storeId = ''

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-dashboards-'))
    engine = await LakeEngine.open(join(dir, 'lake.duckdb'))
    lake = await LakeService.open({ file: join(dir, 'stores.json'), engine, clock })
    storeId = (await lake.create(SCOPE, { name: 'store', tags: [] })).id
    svc = await DashboardService.open({ file: join(dir, 'dashboards.json'), lake, clock })
  })
  after(async () => {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('computes the first scheduled slot', () => {
    const at = new Date('2026-03-01T10:20:00Z')
    const hourly = { frequency: { unit: 'HOURS' as const, value: 6 }, timeOfDay: '00:30' }
    assert.equal(new Date(firstSlot(hourly, at)).toISOString(), '2026-03-01T10:30:00.000Z')
    const early = { ...hourly, timeOfDay: '00:10' }
    assert.equal(new Date(firstSlot(early, at)).toISOString(), '2026-03-01T11:10:00.000Z')
    const daily = { frequency: { unit: 'DAYS' as const, value: 1 }, timeOfDay: '08:00' }
    assert.equal(new Date(firstSlot(daily, at)).toISOString(), '2026-03-02T08:00:00.000Z')
  })

  it('fills placeholders in order', () => {
    const sql = substitute(
      {
        queryStatement: "SELECT date_trunc('?', eventTime) FROM x WHERE eventTime > '?'",
        queryParameters: ['$Period$', '$StartTime$'],
        viewProperties: {},
      },
      { $Period$: 'hour', $StartTime$: '2026-01-01 00:00:00' },
    )
    assert.equal(
      sql,
      "SELECT date_trunc('hour', eventTime) FROM x WHERE eventTime > '2026-01-01 00:00:00'",
    )
  })

  it('runs a scheduled refresh when its slot comes, then every period', async () => {
    await svc.create(SCOPE, {
      name: 'scheduled',
      tags: [],
      widgets: [{ queryStatement: `SELECT count(*) FROM ${storeId}`, viewProperties: {} }],
      refreshSchedule: {
        frequency: { unit: 'HOURS', value: 2 },
        status: 'ENABLED',
        timeOfDay: '00:30',
      },
    })
    const d = svc.find(SCOPE, 'scheduled')
    assert.equal(d.nextScheduledRefresh, '2026-03-01T10:30:00.000Z')
    now = Date.parse('2026-03-01T10:29:00Z')
    await svc.tick()
    assert.equal(d.lastRefreshId, undefined)
    now = Date.parse('2026-03-01T10:31:00Z')
    await svc.tick()
    const first = d.lastRefreshId
    assert.ok(first)
    assert.equal(d.nextScheduledRefresh, '2026-03-01T12:30:00.000Z')
    const q = lake.query(SCOPE, svc.queryOf(SCOPE, first, 'widget1'))
    while (q.status === 'QUEUED' || q.status === 'RUNNING')
      await new Promise((r) => setTimeout(r, 10))
    assert.equal(q.status, 'FINISHED')
    assert.deepEqual((await lake.results(SCOPE, q.id)).rows, [['0']])
  })

  it('keeps dashboards across a reopen', async () => {
    const again = await DashboardService.open({ file: join(dir, 'dashboards.json'), lake, clock })
    const d = again.find(SCOPE, 'scheduled')
    assert.equal(d.widgets[0]?.queryAlias, 'widget1')
    assert.equal(d.refreshSchedule?.frequency?.value, 2)
  })

  it('refuses a second refresh while one is running', async () => {
    await svc.create(SCOPE, {
      name: 'busy',
      tags: [],
      widgets: [{ queryStatement: `SELECT count(*) FROM ${storeId}`, viewProperties: {} }],
    })
    await svc.create(SCOPE, { name: 'other', tags: [] })
    const r = await svc.refresh(SCOPE, 'busy', {})
    const q = lake.query(SCOPE, r.queries[0]!.queryId)
    while (q.status === 'QUEUED' || q.status === 'RUNNING')
      await new Promise((ok) => setTimeout(ok, 10))
    // Held RUNNING (a query that takes long), the account's one refresh slot is taken.
    q.status = 'RUNNING'
    await assert.rejects(svc.refresh(SCOPE, 'other', {}), {
      name: 'ServiceQuotaExceededException',
    })
    q.status = 'FINISHED'
    await svc.refresh(SCOPE, 'other', {})
  })

  it('creates one dashboard when two calls race for the same name', async () => {
    const input = {
      name: 'raced',
      tags: [],
      widgets: [{ queryStatement: `SELECT count(*) FROM ${storeId}`, viewProperties: {} }],
    }
    const out = await Promise.allSettled([svc.create(SCOPE, input), svc.create(SCOPE, input)])
    assert.deepEqual(
      out.map((o) => o.status),
      ['fulfilled', 'rejected'],
    )
    assert.equal(((out[1] as PromiseRejectedResult).reason as Error).name, 'ConflictException')
    assert.equal(svc.list(SCOPE).filter((d) => d.name === 'raced').length, 1)
  })
})
