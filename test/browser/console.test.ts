/**
 * The web console in a real browser (Debian's Chromium through playwright-core): the seeds' flows
 * end to end against a started server, accessibility basics (every control labelled, keyboard
 * use), and screenshots of the main pages written to docs/screenshots/.
 *
 * Skips (and says so) when /usr/bin/chromium or the built console (web/dist) is missing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetTrailCommand } from '@aws-sdk/client-cloudtrail'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { chromium, type Browser, type Page } from 'playwright-core'
import { rawCall } from '../helpers/raw.js'
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

/** Clicks a section in the side navigation. */
function nav(page: Page, name: string): Promise<void> {
  return page
    .getByRole('navigation', { name: 'Console sections' })
    .getByRole('link', { name })
    .click()
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

describe('web console in Chromium', { skip: missing }, () => {
  let t: TestServer
  let browser: Browser
  let page: Page
  let password: string
  const trailName = 'web-trail'

  before(async () => {
    t = await startTestServer({ deliveryIntervalSeconds: 1, digestIntervalSeconds: 5 })
    password = (await readFile(join(t.dataDir, 'console-password'), 'utf8')).trim()
    await mkdir(SHOTS, { recursive: true })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
  })
  after(async () => {
    await browser?.close()
    await t?.close()
  })

  it('refuses a wrong password, then signs in with the keyboard only', async () => {
    await page.goto(`${t.url}/console/`)
    await page.getByLabel('IAM user name').fill('admin')
    await page.getByLabel('Password').fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').getByText('incorrect').waitFor()
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'sign-in')

    // Keyboard only: focus the user name box, type, Tab to the password, Enter.
    await page.getByLabel('IAM user name').focus()
    await page.keyboard.press('Control+A')
    await page.keyboard.type('admin')
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password')
    await page.keyboard.type(password)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    assert.equal(await page.title(), 'Dashboard | OpenTrail')
  })

  it('creates a trail with the wizard (attributes, log events, review)', async () => {
    await nav(page, 'Trails')
    await page.getByRole('link', { name: 'Create trail' }).click()
    await page.getByRole('heading', { name: 'Choose trail attributes' }).waitFor()
    await page.getByLabel('Trail name').fill(trailName)
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'trail-wizard')
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('heading', { name: 'Choose log events' }).waitFor()
    assert.equal(await page.getByLabel('Management events').isChecked(), true)
    assert.deepEqual(await unlabelled(page), [])
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('heading', { name: 'Review and create' }).waitFor()
    await page.getByRole('button', { name: 'Create trail' }).click()
    await page.getByRole('heading', { name: trailName, level: 1 }).waitFor()
    await page.getByText('On', { exact: true }).waitFor() // logging started
  })

  it('finds an API call in Event history, filtered by Event name over the last 30 minutes', async () => {
    const call = await t.client().send(new GetTrailCommand({ Name: trailName }))
    assert.equal(call.Trail?.Name, trailName)
    await nav(page, 'Event history')
    await page.getByRole('heading', { name: 'Event history' }).waitFor()
    await page.getByLabel('Lookup attribute 1', { exact: true }).selectOption('EventName')
    await page.getByLabel('Value of lookup attribute 1').fill('GetTrail')
    await page.getByText('30m', { exact: true }).click()
    await page.getByRole('button', { name: 'Search' }).click()
    const table = page.getByRole('table', { name: 'Events' })
    await table.getByRole('row').nth(1).getByText('GetTrail').waitFor()
    assert.match((await page.getByRole('status').first().textContent()) ?? '', /^1 event$/)
    assert.deepEqual(await unlabelled(page), [])

    // Keyboard: focus the rows, Down to the first, Enter opens it, Escape closes it.
    await page.getByLabel('Events: use the arrow keys to move, Enter to open').focus()
    await page.keyboard.press('Home')
    await page.keyboard.press('Enter')
    const detail = page.getByRole('complementary')
    await detail.getByRole('heading', { name: 'GetTrail' }).waitFor()
    const json = (await detail.getByLabel('Event record JSON').textContent()) ?? ''
    assert.match(json, /"eventName": "GetTrail"/)
    assert.match(json, new RegExp(`"name": "${trailName}"`))
    await page.evaluate(() => scrollTo(0, 0))
    await shot(page, 'event-history')
    await page.keyboard.press('Escape')
    await detail.waitFor({ state: 'detached' })
  })

  it('shows the failed sign-in and the console-made calls in Event history', async () => {
    await page.getByLabel('Value of lookup attribute 1').fill('ConsoleLogin')
    await page.getByText('1h', { exact: true }).click()
    await page.getByRole('button', { name: 'Search' }).click()
    const rows = page.getByRole('table', { name: 'Events' }).getByRole('row')
    await rows.nth(2).waitFor() // header + 2 sign-ins
    let failure = ''
    for (const i of [1, 2]) {
      await rows.nth(i).click()
      const json = (await page.getByLabel('Event record JSON').textContent()) ?? ''
      if (json.includes('"ConsoleLogin": "Failure"')) failure = json
    }
    assert.match(failure, /"errorMessage": "Failed authentication"/)
    assert.match(failure, /"MFAUsed": "No"/)

    // CreateTrail made in the wizard: recorded as the console session.
    await page.getByLabel('Value of lookup attribute 1').fill('CreateTrail')
    await page.getByRole('button', { name: 'Search' }).click()
    await rows.nth(1).getByText('CreateTrail').waitFor()
    await rows.nth(1).click()
    const json = (await page.getByLabel('Event record JSON').textContent()) ?? ''
    assert.match(json, /"sessionCredentialFromConsole": "true"/)
    assert.match(json, /"accessKeyId": "ASIA/)
  })

  it("opens the trail's delivered log file holding the call", async () => {
    await nav(page, 'Trails')
    await page.getByRole('link', { name: trailName }).click()
    const files = page.getByRole('region', { name: 'Delivered log files' })
    // Walk down AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ until the file holding GetTrail.
    const browser = files.locator('.browser')
    /** Clicks a folder button and waits until that folder's listing has loaded. */
    const enter = async (click: () => Promise<void>, prefix: string) => {
      await click()
      await files.locator(`.browser[data-prefix="${prefix}"][aria-busy="false"]`).waitFor()
    }
    const root = `AWSLogs/`
    for (let attempt = 0; ; attempt++) {
      await enter(() => files.getByRole('button', { name: /^s3:\/\// }).click(), root)
      let opened = false
      for (let depth = 0; depth < 8; depth++) {
        const file = files.locator('.file')
        if ((await file.count()) > 0) {
          for (let i = (await file.count()) - 1; i >= 0 && !opened; i--) {
            await file.nth(i).click()
            const records = files.getByRole('table', { name: 'Records in the log file' })
            await records.waitFor()
            opened = (await records.getByText('GetTrail', { exact: true }).count()) > 0
          }
          break
        }
        // CloudTrail/ sorts after CloudTrail-Digest/; every other level has one folder.
        const named = files.getByRole('button', { name: 'CloudTrail/', exact: true })
        const folder = (await named.count()) ? named : files.locator('.folder').first()
        if ((await folder.count()) === 0) break
        const here = (await browser.getAttribute('data-prefix')) ?? ''
        const name = (await folder.textContent()) ?? ''
        await enter(() => folder.click(), here + name)
      }
      if (opened) break
      assert.ok(attempt < 20, 'the log file with GetTrail was not delivered')
      await page.waitForTimeout(500)
    }
    await files.getByRole('heading', { level: 3 }).scrollIntoViewIfNeeded()
    await shot(page, 'trail-log-file')
  })

  it('validates the log files of the last hour', async () => {
    const panel = page.getByRole('region', { name: 'Log file validation' })
    await page.waitForTimeout(6000) // one digest interval, so a digest covers the log file
    await panel.getByRole('button', { name: 'Validate log files' }).click()
    const status = panel.getByRole('status')
    await status.waitFor()
    const text = (await status.textContent()) ?? ''
    assert.match(text, /^Valid: (\d+)\/\1 digest files valid, (\d+)\/\2 log files valid/)
    assert.doesNotMatch(text, /^Valid: 0\/0/)
    await panel.scrollIntoViewIfNeeded()
    await shot(page, 'trail-validation')
  })

  it('stops and starts logging, and edits a section', async () => {
    await page.getByRole('button', { name: 'Stop logging' }).click()
    await page.getByRole('button', { name: 'Start logging' }).waitFor()
    await page.getByRole('button', { name: 'Start logging' }).click()
    await page.getByRole('button', { name: 'Stop logging' }).waitFor()
    await page.getByRole('button', { name: 'Edit tags' }).click()
    await page.getByRole('button', { name: 'Add tag' }).click()
    await page.getByLabel('Tag 1 key').fill('team')
    await page.getByLabel('Tag 1 value').fill('audit')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('Tags saved.').waitFor()
    const tags = page.getByRole('region', { name: 'Tags' })
    await tags.getByText('audit').waitFor()
    await page.evaluate(() => scrollTo(0, 0))
    await shot(page, 'trail-detail')
  })

  it('sends the trail to a log group and finds ListBuckets there with a pattern', async () => {
    await nav(page, 'Trails')
    await page.getByRole('link', { name: trailName }).click()
    await page.getByRole('button', { name: 'Edit cloudwatch logs' }).click()
    await page.getByLabel('Log group name (empty: off)').fill('web-trail-logs')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('CloudWatch Logs settings saved.').waitFor()
    const s3 = new S3Client({
      endpoint: t.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    })
    await s3.send(new ListBucketsCommand({}))
    s3.destroy()
    await nav(page, 'Monitoring')
    const logs = page.getByRole('region', { name: 'Log groups' })
    await logs.getByLabel('Log group').waitFor()
    await logs.getByLabel('Filter pattern').fill('{ $.eventName = "ListBuckets" }')
    await logs.getByLabel('Last').selectOption({ label: '30m' })
    for (let i = 0; ; i++) {
      await logs.getByRole('button', { name: 'Search log group' }).click()
      await logs.getByRole('status').waitFor()
      const n = Number(/^(\d+)/.exec((await logs.getByRole('status').textContent()) ?? '')?.[1])
      if (n > 0) break
      assert.ok(i < 30, 'ListBuckets never reached the log group')
      await page.waitForTimeout(500)
    }
    const rows = logs.getByRole('table', { name: 'Log events' }).getByRole('row')
    assert.match((await rows.nth(1).textContent()) ?? '', /"eventName":"ListBuckets"/)
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'monitoring')
  })

  it('sees an alarm on a metric filter of the log group fire', async () => {
    const key = { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey }
    const filter = await rawCall(t.url, {
      target: 'Logs_20140328.PutMetricFilter',
      service: 'logs',
      key,
      body: JSON.stringify({
        logGroupName: 'web-trail-logs',
        filterName: 'list-buckets',
        filterPattern: '{ $.eventName = "ListBuckets" }',
        metricTransformations: [
          {
            metricName: 'ListBucketsCalls',
            metricNamespace: 'CloudTrailMetrics',
            metricValue: '1',
          },
        ],
      }),
    })
    assert.equal(filter.status, 200, filter.text)
    const alarm = await rawCall(t.url, {
      target: 'GraniteServiceVersion20100801.PutMetricAlarm',
      service: 'monitoring',
      key,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        AlarmName: 'list-buckets-alarm',
        MetricName: 'ListBucketsCalls',
        Namespace: 'CloudTrailMetrics',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    })
    assert.equal(alarm.status, 200, alarm.text)
    const s3 = new S3Client({
      endpoint: t.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
    })
    await s3.send(new ListBucketsCommand({}))
    s3.destroy()
    const alarms = page.getByRole('region', { name: 'Alarms' })
    for (let i = 0; ; i++) {
      await alarms.getByRole('button', { name: 'Refresh alarms' }).click()
      const row = alarms.getByRole('row').filter({ hasText: 'list-buckets-alarm' })
      await row.waitFor()
      if ((await row.getByRole('cell').nth(1).textContent()) === 'ALARM') break
      assert.ok(i < 40, 'the alarm did not fire')
      await page.waitForTimeout(500)
    }
    await shot(page, 'monitoring')
  })

  it('creates a Lake event data store and runs a query on it', async () => {
    await nav(page, 'Lake')
    await page.getByRole('heading', { name: 'Lake', level: 1 }).waitFor()
    await page.getByLabel('New store name').fill('web-store')
    await page.getByRole('button', { name: 'Create event data store' }).click()
    await page.getByRole('combobox', { name: 'Event data store' }).waitFor()
    const arn = await page.getByRole('combobox', { name: 'Event data store' }).inputValue()
    const id = arn.split('/').pop()!
    await t.client().send(new GetTrailCommand({ Name: trailName }))
    const sql = `SELECT eventName, count(*) AS calls FROM ${id} WHERE eventName = 'GetTrail' GROUP BY eventName`
    const results = page.getByRole('region', { name: 'Results' })
    for (let i = 0; ; i++) {
      await page.getByLabel('SQL (the table is the event data store ID)').fill(sql)
      await page.getByRole('button', { name: 'Run' }).click()
      await results.getByRole('status').waitFor()
      const rows = results.getByRole('table', { name: 'Query results' }).getByRole('row')
      if ((await rows.count()) === 2) {
        assert.equal(await rows.nth(1).getByRole('cell').first().textContent(), 'GetTrail')
        break
      }
      assert.ok(i < 20, 'the GetTrail call never reached the event data store')
      await page.waitForTimeout(500)
    }
    assert.match((await results.getByRole('status').textContent()) ?? '', /^FINISHED: 1 rows/)
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'lake')
  })

  it('lists Insights anomalies (none on a fresh server)', async () => {
    await nav(page, 'Insights')
    await page.getByRole('heading', { name: 'Insights', level: 1 }).waitFor()
    await page.getByRole('status').getByText('No Insights anomalies.').waitFor()
    await page.getByLabel('State').selectOption('OPEN')
    await page.getByRole('status').getByText('No Insights anomalies.').waitFor()
    assert.deepEqual(await unlabelled(page), [])
  })

  it('shows the security posture of the trail with remediation for failed controls', async () => {
    await nav(page, 'Security posture')
    const status = page.getByRole('status').filter({ hasText: /passed/ })
    await status.waitFor()
    assert.match((await status.textContent()) ?? '', /^\d+ passed · \d+ failed/)
    // The wizard's trail is multi-region, logging, validated, not encrypted with SSE-KMS.
    const ct2 = page.getByRole('article', { name: /^CloudTrail\.2 / })
    await ct2.getByText('FAILED', { exact: true }).first().waitFor()
    await ct2.getByText('Remediation:').waitFor()
    const ct4 = page.getByRole('article', { name: /^CloudTrail\.4 / })
    await ct4.getByText('PASSED', { exact: true }).first().waitFor()
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'posture')
  })

  it('shows the dashboard with the trail logging', async () => {
    await nav(page, 'Dashboard')
    const trails = page.getByRole('article', { name: 'Trails' })
    await trails.getByText('Logging').waitFor()
    const failed = page.getByRole('article', { name: 'Failed sign-ins (24 h)' })
    await failed.getByText('admin').waitFor()
    const alarms = page.getByRole('article', { name: 'Alarms in ALARM' })
    await alarms.getByText('list-buckets-alarm').waitFor()
    await shot(page, 'dashboard')
  })
})
