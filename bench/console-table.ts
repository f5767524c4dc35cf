/**
 * @module bench/console-table
 * The web console's Event history with 100,000 events in range, in Chromium (playwright-core,
 * /usr/bin/chromium): time to load them all through LookupEvents (50 per call, as the page does),
 * how long the page's main thread is blocked meanwhile (longest gap between animation frames and
 * long tasks), DOM rows in the table (virtualization), and the time from a scroll to the new rows
 * being painted, at random positions through the 100,000.
 *
 *   npx tsx bench/console-table.ts [--events 100000]
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startTestServer } from '../test/helpers/server.js'
import { EventGenerator } from './generator.js'
import { arg, int, ms, summary, table } from './util.js'

const EVENTS = arg('events', 'BENCH_CONSOLE_EVENTS', 100_000)

async function main(): Promise<void> {
  const ts = await startTestServer()
  const account = JSON.parse(await readFile(join(ts.dataDir, 'iam.json'), 'utf8')) as {
    accounts: { accountId: string }[]
  }
  const accountId = account.accounts[0]!.accountId
  const gen = EventGenerator.load({ seed: 7 })
  const now = Date.now()
  const t0 = performance.now()
  for (let done = 0; done < EVENTS; done += 1000) {
    const from = now - 11 * 3_600_000 + (done / EVENTS) * 10 * 3_600_000
    const batch = gen.batch(Math.min(1000, EVENTS - done), from, from + 360_000)
    for (const r of batch) {
      r.recipientAccountId = accountId
      r.managementEvent = true
      r.eventCategory = 'Management'
    }
    await ts.server.pipeline.ingest(batch)
  }
  // Wait for Event History to have committed everything.
  for (;;) {
    const sinks = ts.server.pipeline.status()
    const history = sinks.filter((x) => /history/i.test(x.name))
    const lag = Math.max(0, ...(history.length ? history : sinks).map((x) => x.lag))
    if (lag === 0) break
    await new Promise((r) => setTimeout(r, 200))
  }
  const ingestMs = performance.now() - t0

  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } })
    page.setDefaultTimeout(600_000)
    const password = (await readFile(join(ts.dataDir, 'console-password'), 'utf8')).trim()
    await page.goto(`${ts.url}/console/`)
    await page.getByLabel('IAM user name').fill('admin')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    await page.goto(`${ts.url}/console/events?range=12h`)
    await page.getByRole('heading', { name: 'Event history' }).waitFor()
    // Watch the main thread: gaps between animation frames and long tasks while loading.
    // (Scripts as strings: tsx would add helpers the page does not have to functions.)
    await page.evaluate(`(() => {
      window.__gaps = []; window.__long = []; window.__run = true
      let last = performance.now()
      const tick = (t) => { window.__gaps.push(t - last); last = t; if (window.__run) requestAnimationFrame(tick) }
      requestAnimationFrame(tick)
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration) })
        .observe({ type: 'longtask', buffered: false })
    })()`)
    const loadStart = performance.now()
    await page.getByRole('combobox').last().selectOption('100000')
    const status = page.getByRole('status').first()
    await status.getByText(/^[\d,]+ events/).waitFor()
    const loadMs = performance.now() - loadStart
    const loaded = Number(
      ((await status.textContent()) ?? '').replace(/,/g, '').replace(/[^\d].*$/, ''),
    )
    const load = await page.evaluate<{ gaps: number[]; long: number[] }>(
      `(() => { window.__run = false; return { gaps: window.__gaps, long: window.__long } })()`,
    )
    const gaps = summary(load.gaps.slice().sort((a, b) => a - b))

    // Scrolling: jump to random rows, time until the row at that position is painted.
    const body = page.getByLabel('Events: use the arrow keys to move, Enter to open')
    const scrolls: number[] = []
    for (let i = 0; i < 40; i++) {
      const row = Math.floor((((i * 7919) % 997) / 997) * (loaded - 40))
      scrolls.push(
        await page.evaluate<number>(`new Promise((resolve) => {
          const el = document.querySelector('.vbody')
          const t = performance.now()
          el.scrollTop = ${row} * 32
          const check = () => {
            if (el.querySelector('[aria-rowindex="${row + 2}"]'))
              requestAnimationFrame(() => resolve(performance.now() - t))
            else requestAnimationFrame(check)
          }
          requestAnimationFrame(check)
        })`),
      )
    }
    const domRows = await body.locator('[role="row"]').count()
    const sc = summary(scrolls.slice().sort((a, b) => a - b))
    table(`Event history in Chromium, ${int(EVENTS)} events in range`, [
      ['events ingested (pipeline → Event History)', `${int(EVENTS)} in ${ms(ingestMs)}`],
      ['events loaded in the table', int(loaded)],
      ['load time (LookupEvents × 50, in the page)', ms(loadMs)],
      ['  per LookupEvents page', ms(loadMs / Math.ceil(loaded / 50))],
      [
        'frame gap while loading p50 / p99 / max',
        `${ms(gaps.p50)} / ${ms(gaps.p99)} / ${ms(gaps.max)}`,
      ],
      [
        'long tasks (>50 ms) while loading',
        `${load.long.length}, longest ${ms(Math.max(0, ...load.long))}`,
      ],
      ['scroll to painted rows p50 / p95 / max', `${ms(sc.p50)} / ${ms(sc.p95)} / ${ms(sc.max)}`],
      ['table rows in the DOM', int(domRows)],
    ])
  } finally {
    await browser.close()
    await ts.close()
  }
}

await main()
