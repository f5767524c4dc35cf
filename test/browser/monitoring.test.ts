/**
 * The console's Monitoring pages in a real browser (Debian's Chromium through playwright-core),
 * against a started server: a topic with a webhook subscription to a local receiver, a metric
 * filter (with a pattern test) on a trail's log group, an alarm on it notifying the topic, calls
 * that trip it, the alarm in ALARM with its chart and state history and the webhook receiving the
 * notification; an event rule with a pattern test; the security packs. Accessibility basics
 * (labels, keyboard), and screenshots to docs/screenshots/.
 *
 * Skips (and says so) when /usr/bin/chromium or the built console (web/dist) is missing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailCommand,
  ListTrailsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
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

/** Clicks a page of the Monitoring section's own navigation. */
async function monitoringPage(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Console sections' })
    .getByRole('link', { name: 'Monitoring' })
    .click()
  await page
    .getByRole('navigation', { name: 'Monitoring pages' })
    .getByRole('link', { name })
    .click()
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

/** Polls `check` every 500 ms until it returns true, up to `tries` times. */
async function until(what: string, check: () => Promise<boolean>, tries = 60): Promise<void> {
  for (let i = 0; ; i++) {
    if (await check()) return
    assert.ok(i < tries, `timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

interface Received {
  headers: IncomingHttpHeaders
  body: string
}

describe('Monitoring console in Chromium', { skip: missing }, () => {
  let t: TestServer
  let browser: Browser
  let page: Page
  let receiver: Server
  let hookUrl: string
  const received: Received[] = []
  /** Uncaught exceptions in the page: none is expected. */
  const pageErrors: string[] = []
  const group = 'mon-trail-logs'

  before(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString('utf8')))
      req.on('end', () => {
        received.push({ headers: req.headers, body })
        res.writeHead(200).end('ok')
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

    // Two attempts, 50 ms apart: a dead endpoint's notifications become dead letters quickly.
    t = await startTestServer({ notifications: { maxAttempts: 2, baseDelayMs: 50 } })
    const ct = t.client()
    await ct.send(new CreateTrailCommand({ Name: 'mon-trail', S3BucketName: 'mon-bucket' }))
    const d = await ct.send(new DescribeTrailsCommand({ trailNameList: ['mon-trail'] }))
    const account = /:(\d{12}):/.exec(d.trailList![0]!.TrailARN!)![1]!
    const { UpdateTrailCommand } = await import('@aws-sdk/client-cloudtrail')
    await ct.send(
      new UpdateTrailCommand({
        Name: 'mon-trail',
        CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${account}:log-group:${group}:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${account}:role/CloudTrail_CloudWatchLogs_Role`,
      }),
    )
    await ct.send(new StartLoggingCommand({ Name: 'mon-trail' }))
    await ct.send(new ListTrailsCommand({}))

    await mkdir(SHOTS, { recursive: true })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
    page.on('pageerror', (e) => pageErrors.push(e.message))
  })
  after(async () => {
    await browser?.close()
    await t?.close()
    receiver?.close()
  })

  it('signs in', async () => {
    const password = (await readFile(join(t.dataDir, 'console-password'), 'utf8')).trim()
    await page.goto(`${t.url}/console/`)
    await page.getByLabel('IAM user name').fill('admin')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
  })

  it('creates a topic with a webhook subscription, and deletes another with the keyboard', async () => {
    await monitoringPage(page, 'Topics')
    await page.getByLabel('New topic name').fill('mon-alerts')
    await page.getByRole('button', { name: 'Create topic' }).click()
    const subs = page.getByRole('region', { name: 'Subscriptions of mon-alerts' })
    await subs.waitFor()
    await subs.getByLabel('Protocol').selectOption('http')
    await subs.getByLabel('Endpoint').fill(hookUrl)
    await subs.getByRole('button', { name: 'Subscribe', exact: true }).click()
    const row = subs
      .getByRole('table', { name: 'Subscriptions' })
      .getByRole('row', { name: /hook/ })
    await row.waitFor()
    assert.equal(await row.getByRole('cell').first().textContent(), 'http')
    assert.equal(await row.getByRole('cell').nth(3).textContent(), '0') // undelivered
    await page.getByText('None: every notification of this topic was delivered').waitFor()

    // Keyboard only: a second topic, deleted with Enter on Delete, then on the confirmation.
    await page.getByLabel('New topic name').focus()
    await page.keyboard.type('scratch')
    await page.keyboard.press('Enter')
    const topics = page.getByRole('table', { name: 'Topics' })
    await topics.getByRole('cell', { name: 'scratch', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Delete scratch' }).focus()
    await page.keyboard.press('Enter')
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Confirm: delete scratch',
    )
    await page.keyboard.press('Enter')
    await topics.getByRole('cell', { name: 'scratch', exact: true }).waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Open mon-alerts' }).click()
    await subs.getByRole('table', { name: 'Subscriptions' }).waitFor()
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'monitoring-topics')
  })

  it('creates a metric filter on the log group after testing its pattern', async () => {
    await monitoringPage(page, 'Logs and alarms')
    const filters = page.getByRole('region', { name: 'Metric filters' })
    await filters.getByText(`Of the log group ${group}.`).waitFor()
    await filters.getByRole('button', { name: 'Create metric filter' }).click()
    const form = filters.getByRole('form', { name: 'Metric filter' })
    await form.getByLabel('Filter name').fill('get-trail-calls')
    await form.getByLabel('Metric namespace').fill('OpenTrailConsole')
    await form.getByLabel('Metric name', { exact: true }).fill('GetTrailCalls')
    await form.getByLabel('Filter pattern').fill('{ $.eventName = "GetTrail" }')
    // The log group's own recent events: ListTrails etc., none of them GetTrail.
    await form.getByRole('button', { name: 'Use recent events of the log group' }).click()
    await until('recent events loaded', async () =>
      /ListTrails/.test(await form.getByLabel('Sample log events (one per line)').inputValue()),
    )
    await form.getByRole('button', { name: 'Test pattern' }).click()
    const result = form.getByRole('region', { name: 'Pattern test result' })
    assert.match((await result.getByRole('status').textContent()) ?? '', /^0 of \d+ sample/)
    await form
      .getByLabel('Sample log events (one per line)')
      .fill('{"eventName":"GetTrail","awsRegion":"us-east-1"}\n{"eventName":"ListTrails"}')
    await form.getByRole('button', { name: 'Test pattern' }).click()
    await result.getByText('1 of 2 sample events match').waitFor()
    const match = result.getByRole('table', { name: 'Matching sample events' }).getByRole('row')
    assert.equal(await match.count(), 2)
    assert.equal(await match.nth(1).getByRole('cell').first().textContent(), '1')
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'monitoring-metric-filter')
    await form.getByRole('button', { name: 'Save metric filter' }).click()
    await filters.getByText('Metric filter get-trail-calls saved.').waitFor()
    const row = filters.getByRole('table', { name: 'Metric filters' }).getByRole('row', {
      name: /get-trail-calls/,
    })
    assert.match((await row.textContent()) ?? '', /OpenTrailConsole\/GetTrailCalls/)
  })

  it('creates an alarm on the metric notifying the topic, trips it, and sees chart, history and webhook', async () => {
    await page.getByRole('link', { name: 'Create alarm on GetTrailCalls' }).click()
    const form = page.getByRole('form', { name: 'Alarm' })
    assert.equal(
      await form.getByLabel('Metric (namespace/name)').inputValue(),
      'OpenTrailConsole/GetTrailCalls',
    )
    await form.getByLabel('Alarm name').fill('get-trail-alarm')
    await form.getByLabel('Threshold', { exact: true }).fill('1')
    await form.getByLabel('Comparison').selectOption({ label: '>= threshold' })
    await form.getByLabel(/^Period/).selectOption({ label: '1 minute' })
    await form.getByRole('group', { name: 'Notify in ALARM' }).getByLabel('mon-alerts').check()
    assert.deepEqual(await unlabelled(page), [])
    await form.getByRole('button', { name: 'Save alarm' }).click()
    await page.getByRole('heading', { name: /^get-trail-alarm/ }).waitFor()

    const ct = t.client()
    await ct.send(new GetTrailCommand({ Name: 'mon-trail' }))
    await ct.send(new GetTrailCommand({ Name: 'mon-trail' }))
    const state = page.getByRole('heading', { name: /^get-trail-alarm/ }).locator('.state')
    await until('the alarm fires', async () => {
      await page.getByRole('button', { name: 'Refresh', exact: true }).click()
      return (await state.textContent()) === 'ALARM'
    })
    const details = page.getByRole('region', { name: 'Alarm details' })
    await details.getByText('mon-alerts').waitFor()

    // The chart: a uPlot canvas with the metric and the threshold, and its datapoints.
    const chart = page.getByRole('region', { name: 'Metric', exact: true })
    await chart
      .getByRole('img', { name: /OpenTrailConsole\/GetTrailCalls Sum per 60 s, threshold 1/ })
      .waitFor()
    assert.equal(await chart.locator('canvas').count(), 1)
    await chart.getByText('Threshold 1').waitFor() // the threshold series in the legend
    await until('a datapoint in the chart', async () => {
      await page.getByRole('button', { name: 'Refresh', exact: true }).click()
      return /[1-9] datapoints?/.test((await chart.locator('summary').textContent()) ?? '')
    })
    // The state strip under the chart: the alarm's states over the range, ending in ALARM.
    const strip = chart.getByRole('img', { name: /^Alarm state:/ })
    await until('the state strip ends in ALARM', async () =>
      /ALARM from [^,]+$/.test((await strip.getAttribute('aria-label')) ?? ''),
    )
    assert.equal(await strip.locator('.seg.ALARM').count(), 1)
    await chart.locator('summary').click()
    const sums = await chart
      .getByRole('table', { name: 'Datapoints' })
      .getByRole('row')
      .evaluateAll((rows) => rows.slice(1).map((r) => Number(r.lastElementChild?.textContent)))
    assert.equal(
      sums.reduce((a, b) => a + b, 0),
      2,
    )

    // The state history: the transition to ALARM and the notification action.
    const history = page.getByRole('region', { name: 'State history' })
    const items: Locator = history
      .getByRole('list', { name: 'Alarm history' })
      .getByRole('listitem')
    await until('the ALARM transition in the history', async () => {
      await page.getByRole('button', { name: 'Refresh', exact: true }).click()
      return (await items.allTextContents()).some((s) => /StateUpdate.*to ALARM/.test(s))
    })
    await history.getByLabel('Show').selectOption('StateUpdate')
    await until('only state updates', async () =>
      (await items.allTextContents()).every((s) => s.includes('StateUpdate')),
    )

    // The webhook got the alarm notification, signed.
    await until('the webhook receives the alarm', async () =>
      received.some((r) => r.body.includes('get-trail-alarm') && r.body.includes('ALARM')),
    )
    const hit = received.find((r) => r.body.includes('get-trail-alarm'))!
    assert.match(String(hit.headers['x-opentrail-signature']), /^t=\d+,v1=[0-9a-f]{64}$/)
    assert.deepEqual(await unlabelled(page), [])
    await page.evaluate(() => scrollTo(0, 0))
    await shot(page, 'monitoring-alarm')

    // Edit: the form holds the alarm as it is; a new description is saved and shown.
    await page.getByRole('button', { name: 'Edit alarm' }).click()
    const edit = page.getByRole('form', { name: 'Alarm' })
    assert.equal(await edit.getByLabel('Alarm name').inputValue(), 'get-trail-alarm')
    assert.equal(
      await edit
        .getByRole('group', { name: 'Notify in ALARM' })
        .getByLabel('mon-alerts')
        .isChecked(),
      true,
    )
    await edit.getByLabel('Description').fill('Someone read the trail')
    await edit.getByRole('button', { name: 'Save alarm' }).click()
    await page.getByText('Alarm saved.').waitFor()
    await details.getByText('Someone read the trail').waitFor()

    // The alarm list shows it in ALARM too.
    await monitoringPage(page, 'Logs and alarms')
    const alarms = page.getByRole('region', { name: 'Alarms' })
    const row = alarms.getByRole('row').filter({ hasText: 'get-trail-alarm' })
    assert.equal(await row.getByRole('cell').nth(1).textContent(), 'ALARM')
  })

  it('creates an event rule after testing its pattern, disables and enables it, and it notifies', async () => {
    await monitoringPage(page, 'Rules')
    await page.getByRole('button', { name: 'Create rule' }).click()
    const form = page.getByRole('form', { name: 'Rule' })
    await form.getByLabel('Rule name').fill('mon-trail-stopped')
    await form.getByLabel('Description').fill('Someone stopped the trail')
    // The default pattern: StopLogging or DeleteTrail. The latest event (GetTrail...) does not match.
    await form.getByRole('button', { name: 'Use the latest event' }).click()
    await until('the latest event as a sample', async () =>
      /"detail-type": "AWS API Call via CloudTrail"/.test(
        await form.getByLabel('Sample event (EventBridge envelope, JSON)').inputValue(),
      ),
    )
    await form.getByRole('button', { name: 'Test pattern' }).click()
    await form.getByText('The pattern does not match the sample event.').waitFor()
    const sample = JSON.parse(
      await form.getByLabel('Sample event (EventBridge envelope, JSON)').inputValue(),
    ) as { detail: { eventName: string; eventSource: string }; source: string }
    sample.source = 'aws.cloudtrail'
    sample.detail.eventSource = 'cloudtrail.amazonaws.com'
    sample.detail.eventName = 'StopLogging'
    await form.getByLabel('Sample event (EventBridge envelope, JSON)').fill(JSON.stringify(sample))
    await form.getByRole('button', { name: 'Test pattern' }).click()
    await form.getByText('The pattern matches the sample event.').waitFor()
    // A broken pattern is refused with the API's error.
    const pattern = await form.getByLabel('Event pattern (JSON)').inputValue()
    await form.getByLabel('Event pattern (JSON)').fill('{ "source": "aws.cloudtrail" }')
    await form.getByRole('button', { name: 'Test pattern' }).click()
    await form.getByRole('alert').waitFor()
    await form.getByLabel('Event pattern (JSON)').fill(pattern)
    await form.getByRole('button', { name: 'Test pattern' }).click()
    await form.getByText('The pattern matches the sample event.').waitFor()
    await form
      .getByRole('group', { name: 'Targets: notify topics' })
      .getByLabel('mon-alerts')
      .check()
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'monitoring-rule-form')
    await form.getByRole('button', { name: 'Save rule' }).click()
    await page.getByText('Rule mon-trail-stopped saved.').waitFor()
    const rules = page.getByRole('table', { name: 'Rules' })
    const row = rules.getByRole('row').filter({ hasText: 'mon-trail-stopped' })
    assert.equal(await row.getByRole('cell').nth(1).textContent(), 'ENABLED')
    assert.equal(await row.getByRole('cell').nth(3).textContent(), 'mon-alerts')
    await row.getByRole('button', { name: 'Disable mon-trail-stopped' }).click()
    await until(
      'disabled',
      async () => (await row.getByRole('cell').nth(1).textContent()) === 'DISABLED',
    )
    await row.getByRole('button', { name: 'Enable mon-trail-stopped' }).click()
    await until(
      'enabled',
      async () => (await row.getByRole('cell').nth(1).textContent()) === 'ENABLED',
    )
    await shot(page, 'monitoring-rules')

    await t.client().send(new StopLoggingCommand({ Name: 'mon-trail' }))
    await until('the webhook receives the rule match', async () =>
      received.some((r) => r.body.includes('StopLogging')),
    )

    await row.getByRole('button', { name: 'Delete mon-trail-stopped' }).click()
    await row.getByRole('button', { name: 'Confirm: delete mon-trail-stopped' }).click()
    await page.getByText('Rule mon-trail-stopped deleted.').waitFor()
    await rules
      .getByRole('row')
      .filter({ hasText: 'mon-trail-stopped' })
      .waitFor({ state: 'detached' })
  })

  it('shows undelivered notifications of a dead endpoint, redrives and deletes them', async () => {
    await monitoringPage(page, 'Topics')
    await page.getByRole('button', { name: 'Open mon-alerts' }).click()
    const subs = page.getByRole('region', { name: 'Subscriptions of mon-alerts' })
    await subs.getByLabel('Protocol').selectOption('http')
    await subs.getByLabel('Endpoint').fill('http://127.0.0.1:9/dead') // nothing listens there
    await subs.getByRole('button', { name: 'Subscribe', exact: true }).click()
    await subs.getByRole('row', { name: /dead/ }).waitFor()
    const sns = new SNSClient({
      endpoint: t.url,
      region: 'us-east-1',
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    })
    const topicArn = (await subs.locator('p.muted').first().textContent())!
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'to the dead endpoint' }))
    sns.destroy()
    const dead = subs.getByRole('table', { name: 'Undelivered notifications' })
    await until('a dead letter', async () => {
      await subs.getByRole('button', { name: 'Refresh subscriptions' }).click()
      return (await dead.count()) === 1
    })
    const letter = dead.getByRole('row').nth(1)
    assert.match((await letter.textContent()) ?? '', /127\.0\.0\.1:9\/dead.*publish2/)
    assert.equal(
      await subs.getByRole('row', { name: /dead/ }).first().getByRole('cell').nth(3).textContent(),
      '1',
    )
    assert.ok(received.some((r) => r.body.includes('to the dead endpoint'))) // the live one got it
    assert.deepEqual(await unlabelled(page), [])
    await shot(page, 'monitoring-dead-letters')
    // Redriven: due again (attempts from 0), it fails twice more and is a dead letter again.
    await subs.getByRole('button', { name: 'Redrive all' }).click()
    await subs.getByText('1 redriven: due for delivery again.').waitFor()
    const undelivered = subs.getByRole('row', { name: /dead/ }).first().getByRole('cell').nth(3)
    await until('the redriven letter dead again', async () => {
      await subs.getByRole('button', { name: 'Refresh subscriptions' }).click()
      await page.waitForTimeout(200)
      return (await dead.count()) === 1 && (await undelivered.textContent()) === '1'
    })
    await subs.getByRole('button', { name: 'Delete all undelivered' }).click()
    await subs.getByRole('button', { name: 'Confirm: delete all undelivered' }).click()
    await subs.getByText('1 deleted.').waitFor()
    await subs.getByText('None: every notification of this topic was delivered').waitFor()
  })

  it('shows the security packs and enables them', async () => {
    await monitoringPage(page, 'Security packs')
    const cis = page.getByRole('region', { name: 'CIS AWS Foundations 4.1–4.15' })
    const controls = cis.getByRole('table', { name: 'CIS controls' }).getByRole('row')
    assert.equal(await controls.count(), 16)
    await until(
      'the trail log group proposed',
      async () => (await cis.getByLabel('Log group to watch').inputValue()) === group,
    )
    await cis.getByLabel('Alert topic').selectOption({ label: 'mon-alerts' })
    await cis.getByRole('button', { name: 'Enable CIS pack' }).click()
    await cis.getByText(`CIS pack enabled on ${group}: 15 metric filters and alarms.`).waitFor()
    await until(
      'CIS 4.5 installed',
      async () => (await controls.nth(5).getByRole('cell').nth(2).textContent()) === group,
    )
    await cis.getByRole('button', { name: 'Disable CIS alarm actions' }).click()
    await cis.getByText('CIS alarm actions disabled.').waitFor()
    await controls.nth(1).getByText('(actions off)').waitFor()

    const ptt = page.getByRole('region', { name: 'Protect the trail' })
    await ptt.getByText('not installed').waitFor()
    await ptt.getByLabel('Alert topic').selectOption({ label: 'mon-alerts' })
    await ptt.getByRole('button', { name: 'Enable protect-the-trail' }).click()
    await ptt.getByRole('status').getByText('ENABLED').waitFor()
    assert.match((await ptt.getByRole('status').textContent()) ?? '', /→ mon-alerts/)

    const sigma = page.getByRole('region', { name: 'Sigma rules' })
    await sigma.getByRole('button', { name: 'Convert' }).click()
    await sigma.getByText('CloudTrail logging stopped: converts to an event pattern.').waitFor()
    await sigma.getByLabel('Alert topic').selectOption({ label: 'mon-alerts' })
    await sigma.getByRole('button', { name: 'Create rule' }).click()
    const srow = sigma.getByRole('table', { name: 'Sigma rules' }).getByRole('row', {
      name: /sigma-cloudtrail-logging-stopped/,
    })
    await srow.waitFor()
    assert.equal(await srow.getByRole('cell').nth(2).textContent(), 'ENABLED')
    // An aggregation cannot be an event pattern: reported, nothing created.
    await sigma
      .getByLabel('Sigma rule (YAML)')
      .fill(
        'title: Many calls\nlogsource: { product: aws, service: cloudtrail }\ndetection:\n  sel: { eventName: GetTrail }\n  condition: sel | count() > 10\n',
      )
    await sigma.getByRole('button', { name: 'Convert' }).click()
    await sigma.getByText('Many calls: cannot be an event pattern.').waitFor()
    assert.deepEqual(await unlabelled(page), [])
    await page.evaluate(() => scrollTo(0, 0))
    await shot(page, 'monitoring-packs')
    assert.deepEqual(pageErrors, [])
  })
})
