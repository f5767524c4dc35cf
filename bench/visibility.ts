/**
 * @module bench/visibility
 * API call → visible in LookupEvents. Against a started server (in process, as the tests start
 * one), a client makes an API call (ListTrails) and then polls LookupEvents (EventName=ListTrails,
 * from just before the call) every 5 ms until the call's requestID shows up. Measured from sending
 * the call, and from its response. Optionally with background ingest through the pipeline
 * (generated events from other accounts) so that the history sink is busy.
 *
 *   npx tsx bench/visibility.ts [--calls 200] [--background 5000]   # background events/s
 */
import { ListTrailsCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import { startTestServer } from '../test/helpers/server.js'
import { EventGenerator } from './generator.js'
import { arg, int, mib, ms, peakRss, summary, table } from './util.js'

const CALLS = arg('calls', 'BENCH_VISIBILITY_CALLS', 200)
const BACKGROUND = arg('background', 'BENCH_VISIBILITY_BACKGROUND', 5000)

async function main(): Promise<void> {
  const ts = await startTestServer()
  const client = ts.client()
  let stop = false
  let background = 0
  const gen = EventGenerator.load({ seed: 3 })
  // Background: BACKGROUND events/s in batches of 100, as a gateway or importer would send them.
  const bg = (async () => {
    if (BACKGROUND <= 0) return
    const t0 = performance.now()
    while (!stop) {
      const due = ((performance.now() - t0) / 1000) * BACKGROUND
      if (background < due) {
        const batch = Array.from({ length: 100 }, () => gen.next(Date.now()))
        await ts.server.pipeline.ingest(batch)
        background += batch.length
      } else await new Promise((r) => setTimeout(r, 5))
    }
  })()

  const fromSend: number[] = []
  const fromResponse: number[] = []
  let polls = 0
  try {
    for (let i = 0; i < CALLS; i++) {
      const sent = performance.now()
      const start = new Date(Date.now() - 2000)
      const res = await client.send(new ListTrailsCommand({}))
      const answered = performance.now()
      const requestId = res.$metadata.requestId
      for (;;) {
        polls++
        const page = await client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ListTrails' }],
            StartTime: start,
            MaxResults: 50,
          }),
        )
        const seen = (page.Events ?? []).some(
          (e) =>
            (JSON.parse(e.CloudTrailEvent ?? '{}') as { requestID?: string }).requestID ===
            requestId,
        )
        if (seen) break
        if (performance.now() - sent > 10_000)
          throw new Error(`call ${requestId} not visible in 10 s`)
        await new Promise((r) => setTimeout(r, 5))
      }
      const now = performance.now()
      fromSend.push(now - sent)
      fromResponse.push(now - answered)
    }
  } finally {
    stop = true
    await bg
  }
  const status = ts.server.pipeline.status()
  await ts.close()
  const a = summary(fromSend)
  const b = summary(fromResponse)
  table(`visibility: ${CALLS} calls, background ingest ${int(BACKGROUND)} events/s`, [
    ['call sent → visible p50', ms(a.p50)],
    ['call sent → visible p99', ms(a.p99)],
    ['call sent → visible max', ms(a.max)],
    ['response → visible p50', ms(b.p50)],
    ['response → visible p99', ms(b.p99)],
    ['LookupEvents polls', int(polls)],
    ['background events ingested', int(background)],
    ['sink lag at the end (events)', int(status[0]?.lag ?? 0)],
    ['peak RSS', mib(peakRss())],
  ])
}

await main()
