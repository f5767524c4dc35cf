/**
 * Lake dashboards in a real browser (Debian's Chromium through playwright-core): sign in, create a
 * dashboard with the keyboard, add a bar chart, a line chart and a table widget over a store that
 * holds events, refresh, and see the charts drawn (canvas with pixels, axis titles) and the table
 * rows; edit and remove widgets; every control labelled. Writes docs/screenshots/lake-dashboard.png.
 *
 * Skips (and says so) when /usr/bin/chromium or the built console (web/dist) is missing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  DescribeTrailsCommand,
  GetDashboardCommand,
  GetQueryResultsCommand,
  GetTrailStatusCommand,
  LookupEventsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudtrail'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startTestServer, type TestServer } from '../helpers/server.js'

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const BUILT = new URL('../../web/dist/index.html', import.meta.url).pathname
const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname
const missing = !existsSync(CHROMIUM)
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium)`
  : !existsSync(BUILT)
    ? 'the console is not built (npm run build:console)'
    : undefined
if (missing) process.stdout.write(`# browser tests skipped: ${missing}\n`)

/** Controls that have no accessible name (label, aria-label or aria-labelledby). */
async function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = []
    for (const el of document.querySelectorAll<HTMLElement>('input, select, textarea, button')) {
      if (el.closest('[hidden]') || (el as HTMLInputElement).type === 'hidden') continue
      const named =
        ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
        el.getAttribute('aria-label') ||
        el.getAttribute('aria-labelledby') ||
        (el.tagName === 'BUTTON' && el.textContent?.trim())
      if (!named) out.push(el.outerHTML.slice(0, 120))
    }
    return out
  })
}

/** Painted (non-transparent, non-white) pixels of the canvases inside `selector`'s element. */
async function paintedPixels(page: Page, title: string): Promise<number> {
  const article = page.getByRole('article', { name: title })
  return article.locator('canvas').evaluateAll((canvases) => {
    let n = 0
    for (const c of canvases as HTMLCanvasElement[]) {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 0 && (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240)) n++
      }
    }
    return n
  })
}

describe('Lake dashboards in Chromium', { skip: missing }, () => {
  let t: TestServer
  let browser: Browser
  let page: Page
  let password: string
  let storeId: string

  before(async () => {
    t = await startTestServer()
    password = (await readFile(join(t.dataDir, 'console-password'), 'utf8')).trim()
    await mkdir(SHOTS, { recursive: true })
    const client = t.client()
    const s = await client.send(new CreateEventDataStoreCommand({ Name: 'dash-store' }))
    storeId = s.EventDataStoreArn!.split('/')[1]!
    // Events for the widgets: 3 DescribeTrails, 2 failing GetTrailStatus (TrailNotFoundException).
    for (let i = 0; i < 3; i++) await client.send(new DescribeTrailsCommand({}))
    for (let i = 0; i < 2; i++) {
      await client.send(new GetTrailStatusCommand({ Name: 'no-such-trail' })).catch(() => undefined)
    }
    for (let i = 0; ; i++) {
      const { QueryId } = await client.send(
        new StartQueryCommand({
          QueryStatement: `SELECT count(*) AS n FROM ${storeId} WHERE eventName = 'GetTrailStatus'`,
        }),
      )
      let d
      do d = await client.send(new DescribeQueryCommand({ QueryId }))
      while (d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING')
      const r = await client.send(new GetQueryResultsCommand({ QueryId }))
      if (r.QueryResultRows?.[0]?.[0]?.['n'] === '2') break
      assert.ok(i < 100, 'events never reached the store')
      await new Promise((ok) => setTimeout(ok, 50))
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    const context = await browser.newContext({ viewport: { width: 1360, height: 1100 } })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
  })
  after(async () => {
    await browser?.close()
    await t?.close()
  })

  it('signs in and creates a dashboard with the keyboard', async () => {
    await page.goto(`${t.url}/console/`)
    await page.getByLabel('IAM user name').fill('admin')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor()
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Lake' })
      .click()
    await page.getByRole('heading', { name: 'Lake', level: 1 }).waitFor()
    await page
      .getByRole('navigation', { name: 'Lake sections' })
      .getByRole('link', { name: 'Dashboards' })
      .click()
    await page.getByRole('heading', { name: 'Lake dashboards', level: 1 }).waitFor()
    assert.equal(await page.title(), 'Lake | OpenTrail')
    assert.deepEqual(await unlabelled(page), [])
    // Keyboard only: type the name into the labelled box, Enter submits.
    await page.getByLabel('Dashboard name').focus()
    await page.keyboard.type('security-overview')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'security-overview', level: 1 }).waitFor()
    await page.getByText('Not refreshed yet.').waitFor()
  })

  it('adds a bar chart, a line chart and a table widget from templates, and draws them', async () => {
    const add = async (template: string, title: string) => {
      await page.getByRole('button', { name: 'Add widget' }).click()
      await page.getByRole('heading', { name: 'Add widget', level: 2 }).waitFor()
      assert.match(
        await page.getByLabel('Template store').inputValue(),
        new RegExp(`:eventdatastore/${storeId}$`),
      )
      await page.getByRole('button', { name: template }).click()
      assert.equal(await page.getByLabel('Title').inputValue(), title)
      assert.deepEqual(await unlabelled(page), [])
      await page.getByRole('button', { name: 'Save widget' }).click()
      await page.getByRole('article', { name: title }).waitFor()
    }
    await add('Calls by event name (bar chart)', 'Calls by event name')
    await add('Calls over time, read and write (line chart)', 'Calls over time')
    await add('Top error codes (table)', 'Top error codes')

    // Each save refreshed the dashboard; wait for the table's rows.
    const table = page.getByRole('table', { name: 'Top error codes' })
    await table.getByRole('cell', { name: 'TrailNotFoundException' }).waitFor()
    const row = table.getByRole('row').filter({ hasText: 'TrailNotFoundException' })
    assert.equal(await row.getByRole('cell').nth(1).textContent(), '2')

    // The bar chart: a uPlot canvas with paint on it, the axis titles, the data behind it.
    const bar = page.getByRole('article', { name: 'Calls by event name' })
    await bar.getByRole('img', { name: /bar chart of calls by eventName/ }).waitFor()
    assert.ok((await bar.locator('canvas').count()) >= 1)
    assert.ok((await paintedPixels(page, 'Calls by event name')) > 500)
    assert.equal(await bar.locator('.axis-x').textContent(), 'eventName')
    assert.equal(await bar.locator('.axis-y').textContent(), 'calls')
    await bar.getByText(/^Data \(\d+ rows\)$/).click()
    const data = bar.getByRole('table', { name: 'Calls by event name data' })
    const describeRow = data.getByRole('row').filter({ hasText: 'DescribeTrails' })
    // Independently: the DescribeTrails calls in Event history (the test's 3 and the console's own).
    const lookup = await t.client().send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }],
      }),
    )
    assert.ok((lookup.Events?.length ?? 0) >= 3)
    assert.equal(
      await describeRow.getByRole('cell').nth(1).textContent(),
      String(lookup.Events?.length),
    )

    // The line chart: a time axis, one series per access type, in the legend.
    const line = page.getByRole('article', { name: 'Calls over time' })
    await line.getByRole('img', { name: /line chart of calls by period/ }).waitFor()
    assert.ok((await paintedPixels(page, 'Calls over time')) > 200)
    await line.locator('.u-legend').getByText('read').waitFor()
    assert.equal(await line.locator('.axis-x').textContent(), 'period')

    // The API holds the same three widgets.
    const d = await t.client().send(new GetDashboardCommand({ DashboardId: 'security-overview' }))
    assert.deepEqual(
      d.Widgets?.map((w) => w.ViewProperties?.['View']),
      ['BarChart', 'LineChart', 'Table'],
    )
    assert.match(d.LastRefreshId ?? '', /^\d{10,20}$/)
    assert.match(
      (await page.getByRole('status').first().textContent()) ?? '',
      new RegExp(`Last refresh ${d.LastRefreshId}`),
    )
    assert.deepEqual(await unlabelled(page), [])
    await page.screenshot({ path: join(SHOTS, 'lake-dashboard.png'), fullPage: true })
  })

  it('refreshes from the keyboard, edits a widget and removes one', async () => {
    const before = (
      await t.client().send(new GetDashboardCommand({ DashboardId: 'security-overview' }))
    ).LastRefreshId
    await page.getByRole('button', { name: 'Refresh', exact: true }).focus()
    await page.keyboard.press('Enter')
    for (let i = 0; ; i++) {
      const text = (await page.getByRole('status').first().textContent()) ?? ''
      if (!text.includes(`Last refresh ${before ?? ''} `)) break
      assert.ok(i < 100, 'the refresh did not happen')
      await page.waitForTimeout(100)
    }
    await page.getByRole('table', { name: 'Top error codes' }).waitFor()

    await page.getByRole('button', { name: 'Edit Calls by event name' }).click()
    await page.getByRole('heading', { name: 'Edit widget', level: 2 }).waitFor()
    assert.equal(await page.getByLabel('X axis column').inputValue(), 'eventName')
    await page.getByLabel('Title').fill('Calls per API')
    await page.getByRole('button', { name: 'Save widget' }).click()
    await page.getByRole('article', { name: 'Calls per API' }).locator('canvas').first().waitFor()

    // A title AWS would refuse is caught in the form, with the reason.
    await page.getByRole('button', { name: 'Edit Calls per API' }).click()
    await page.getByLabel('Title').fill("Bob's calls")
    await page.getByRole('button', { name: 'Save widget' }).click()
    await page
      .getByRole('alert')
      .getByText(/may use only letters/)
      .waitFor()
    await page.getByRole('button', { name: 'Cancel' }).click()

    await page.getByRole('button', { name: 'Remove Calls over time' }).click()
    await page.getByRole('article', { name: 'Calls over time' }).waitFor({ state: 'detached' })
    const d = await t.client().send(new GetDashboardCommand({ DashboardId: 'security-overview' }))
    assert.deepEqual(
      d.Widgets?.map((w) => w.ViewProperties?.['Title']),
      ['Calls per API', 'Top error codes'],
    )
  })

  it('adds a query from the editor to the dashboard as a table widget', async () => {
    await page
      .getByRole('navigation', { name: 'Lake sections' })
      .getByRole('link', { name: 'Query editor' })
      .click()
    await page.getByRole('heading', { name: 'Lake', level: 1 }).waitFor()
    await page
      .getByLabel('SQL (the table is the event data store ID)')
      .fill(`SELECT sourceIPAddress, count(*) AS calls FROM ${storeId} GROUP BY 1`)
    await page.getByRole('button', { name: 'Run' }).click()
    const results = page.getByRole('region', { name: 'Results' })
    await results.getByRole('table', { name: 'Query results' }).waitFor()
    await results.getByRole('combobox', { name: /^Dashboard/ }).selectOption('security-overview')
    await results.getByLabel('Widget title').fill('Calls by source IP')
    assert.deepEqual(await unlabelled(page), [])
    await results.getByRole('button', { name: 'Add to dashboard' }).click()
    await results.getByText('Added to security-overview.').waitFor()
    await results.getByRole('link', { name: 'Open it' }).click()
    await page.getByRole('heading', { name: 'security-overview', level: 1 }).waitFor()
    await page.getByRole('button', { name: 'Refresh', exact: true }).click()
    const table = page.getByRole('table', { name: 'Calls by source IP' })
    await table.getByRole('cell', { name: '127.0.0.1' }).waitFor()
  })
})
