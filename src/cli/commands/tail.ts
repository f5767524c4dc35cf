/**
 * @module cli/commands/tail
 * `opentrail tail`: follow new events live. Polls LookupEvents with a StartTime that trails the
 * newest event seen (by the server's clock, so client clock skew does not matter) by a lag window,
 * and de-duplicates by EventId. Its own LookupEvents calls are recorded too; they are recognised by
 * request ID and not shown. Ctrl-C stops it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { LookupEventsCommand, type Event } from '@aws-sdk/client-cloudtrail'
import { parseCount, parseTime } from '../args.js'
import {
  addConnectionOptions,
  cloudTrailClient,
  CredentialsNotFound,
  resolveEndpoint,
} from '../connection.js'
import { addFilterOptions, lookupInput, type FilterOptions } from '../lookup.js'
import { describeError, eventJson, eventRow, EVENT_COLUMNS, run } from '../output.js'

/** How far behind the newest event seen each poll starts: covers events that become visible late. */
export const LAG_WINDOW_MS = 10_000
const OWN_REQUESTS_KEPT = 1000

interface TailOptions extends FilterOptions {
  lines: number
  startTime?: Date
  interval: number
}

const WIDTHS = [20, 22, 14, 26, 20]

function formatRow(cells: string[]): string {
  return cells
    .map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i]!) : c))
    .join('  ')
    .trimEnd()
}

export function registerTail(program: Command): void {
  const cmd = program
    .command('tail')
    .description('Follow new events live (Ctrl-C to stop)')
    .option('-n, --lines <n>', 'recent events to show first (default 10)', parseCount(0), 10)
    .option(
      '--start-time <time>',
      'show every event since this time first, instead of --lines (ISO, epoch, or ago like 10m)',
      (v: string) => parseTime(v),
    )
    .option(
      '--interval <seconds>',
      'seconds between polls (default 1)',
      (v: string) => {
        const n = Number(v)
        if (!(n >= 0.1 && n <= 3600))
          throw new InvalidArgumentError('expected seconds from 0.1 to 3600')
        return n
      },
      1,
    )
  addConnectionOptions(addFilterOptions(cmd)).action(async (opts: TailOptions) =>
    run(() => tail(opts), resolveEndpoint(opts.endpointUrl)),
  )
}

async function tail(opts: TailOptions): Promise<void> {
  const client = cloudTrailClient(opts)
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const seen = new Map<string, number>() // EventId -> event time (ms)
  const ownRequests = new Set<string>()
  let newest: number | undefined

  const requestIdOf = (e: Event): string | undefined => {
    try {
      return (JSON.parse(e.CloudTrailEvent ?? '{}') as { requestID?: string }).requestID
    } catch {
      return undefined
    }
  }

  /** Events newest first; pages until `limit` or the end. Remembers its own request IDs. */
  const fetch = async (startTime: Date | undefined, limit: number): Promise<Event[]> => {
    const out: Event[] = []
    let token: string | undefined
    do {
      const page = await client.send(
        new LookupEventsCommand({
          ...lookupInput(opts),
          ...(startTime ? { StartTime: startTime } : {}),
          MaxResults: Math.min(50, limit - out.length),
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: stop.signal },
      )
      const id = page.$metadata.requestId
      if (id) {
        ownRequests.add(id)
        if (ownRequests.size > OWN_REQUESTS_KEPT)
          ownRequests.delete(ownRequests.values().next().value!)
      }
      out.push(...(page.Events ?? []))
      token = page.NextToken
    } while (token && out.length < limit)
    return out
  }

  const print = (events: Event[]) => {
    for (const e of events) {
      const line = opts.output === 'json' ? JSON.stringify(eventJson(e)) : formatRow(eventRow(e))
      process.stdout.write(line + '\n')
    }
  }

  /** Marks events seen; returns the ones not seen before that are not our own polls, oldest first. */
  const admit = (events: Event[]): Event[] => {
    const fresh: Event[] = []
    for (const e of events) {
      const id = e.EventId ?? ''
      const time = e.EventTime?.getTime() ?? 0
      if (newest === undefined || time > newest) newest = time
      if (seen.has(id)) continue
      seen.set(id, time)
      const rid = requestIdOf(e)
      if (rid && ownRequests.has(rid)) continue
      fresh.push(e)
    }
    if (newest !== undefined)
      for (const [id, time] of seen) if (time < newest - 2 * LAG_WINDOW_MS) seen.delete(id)
    return fresh.reverse()
  }

  if (opts.output === 'table') process.stdout.write(formatRow(EVENT_COLUMNS) + '\n')
  let lastError = ''
  let first = true
  try {
    while (!stop.signal.aborted) {
      try {
        let fresh: Event[]
        if (first) {
          // The backlog; it also tells us the server's notion of "now" (newest event time).
          const backlog = opts.startTime
            ? await fetch(opts.startTime, Infinity)
            : await fetch(undefined, Math.max(opts.lines, 1))
          // Events just older than the backlog are old too: the lag window is marked seen, unshown.
          const top = backlog[0]?.EventTime?.getTime()
          const window =
            top === undefined ? [] : await fetch(new Date(top - LAG_WINDOW_MS), Infinity)
          fresh = admit(backlog)
          if (!opts.startTime) fresh = opts.lines > 0 ? fresh.slice(-opts.lines) : []
          admit(window)
          first = false
          process.stderr.write(
            `Following events at ${resolveEndpoint(opts.endpointUrl)} (Ctrl-C to stop)\n`,
          )
        } else {
          const start = newest !== undefined ? new Date(newest - LAG_WINDOW_MS) : opts.startTime
          fresh = admit(await fetch(start, Infinity))
        }
        print(fresh)
        lastError = ''
      } catch (err) {
        if (stop.signal.aborted) break
        const { message } = describeError(err, resolveEndpoint(opts.endpointUrl))
        const e = err as { $fault?: string; $metadata?: unknown; name?: string }
        // The caller's own mistakes (credentials, permissions, filters) do not fix themselves.
        if (err instanceof CredentialsNotFound) throw err
        if (e.$metadata && e.$fault === 'client' && e.name !== 'ThrottlingException') throw err
        if (message !== lastError) process.stderr.write(`${message} (retrying)\n`)
        lastError = message
      }
      await sleep(opts.interval * 1000, undefined, { signal: stop.signal }).catch(() => {})
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    client.destroy()
  }
}
