/**
 * Security packs on the invictus dataset (../shared/datasets/invictus-aws-dataset): starts a server
 * whose account is the dataset's and whose clock starts at 11:30 on the day of the attack, sets up a
 * trail sending to a CloudWatch Logs log group, enables the packs through the public APIs (CIS
 * 4.1-4.15, protect-the-trail, the Sigma rules in test/fixtures/sigma) with an HTTP subscriber on the
 * alert topic, replays the 2,900 records through the pipeline in eventTime order, and prints, as
 * Markdown, what fired against the dataset's attack timeline (docs/packs-on-invictus.md holds a run).
 *
 * CIS alarms: the metric filters run in OpenTrail on the trail's log group; the script reads the
 * metrics back (GetMetricStatistics, Sum per 5 minutes) and shows the periods where the alarm's
 * condition (Sum >= 1 over one 5-minute period) holds, and which events matched (FilterLogEvents
 * with the control's pattern). Event rules: every match the rules sink makes, and the notifications
 * the subscriber received.
 *
 *   npx tsx bench/packs-replay.ts
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createGunzip } from 'node:zlib'
import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import { loadConfig } from '../src/config/load.js'
import type { CloudTrailRecord } from '../src/events/record.js'
import { startServer } from '../src/main.js'
import { CIS_CONTROLS, CIS_NAMESPACE } from '../src/packs/cis.js'
import { packApi } from '../src/packs/client.js'
import { awsJsonCall } from '../src/shared/aws-call.js'
import { alertTopic, enableCis, enableProtectTrail, importSigma } from '../src/packs/enable.js'
import { PROTECT_TRAIL_RULE } from '../src/packs/protect-trail.js'
import { createLogger } from '../src/telemetry/logger.js'
import { receiver } from '../test/helpers/notify.js'
import { readAdminKey } from '../test/helpers/server.js'

const DATASET =
  process.env['OPENTRAIL_DATASETS'] !== undefined
    ? join(process.env['OPENTRAIL_DATASETS'], 'invictus-aws-dataset')
    : new URL('../../shared/datasets/invictus-aws-dataset', import.meta.url).pathname
const SIGMA_DIR = new URL('../test/fixtures/sigma', import.meta.url).pathname
const ACCOUNT = '123837392027'
const REGION = 'us-east-1'
const LOG_GROUP = 'invictus-trail'
const T0 = Date.parse('2023-07-10T11:30:00Z')
const FROM = Date.parse('2023-07-10T11:40:00Z')
const TO = Date.parse('2023-07-10T12:45:00Z')

const realStart = Date.now()
const offset = T0 - realStart
const clock = { now: () => new Date(Date.now() + offset) }

/**
 * The server answers with the real time in its Date header; the SDK would take that as clock skew
 * and move its offset back to the real clock. Responses carry the server clock's time instead.
 */
function fakeDate<C extends { middlewareStack: { add: (...a: never[]) => unknown } }>(
  client: C,
): C {
  const add = client.middlewareStack.add.bind(client.middlewareStack) as unknown as (
    mw: (next: (a: unknown) => Promise<{ response: unknown }>) => (a: unknown) => Promise<unknown>,
    o: { step: string; priority: string },
  ) => void
  add(
    (next) => async (args) => {
      const out = await next(args)
      const headers = (out.response as { headers?: Record<string, string> }).headers
      if (headers) headers['date'] = clock.now().toUTCString()
      return out
    },
    { step: 'deserialize', priority: 'low' },
  )
  return client
}

const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-packs-'))
const base = await loadConfig({ port: 0, dataDir }, {})
const server = await startServer(
  {
    ...base,
    retentionDays: 3650,
    accounts: [{ accountId: ACCOUNT, users: [], roles: [] }],
    notifications: { baseDelayMs: 50, maxAttempts: 5 },
  } as Parameters<typeof startServer>[0],
  { clock, logger: createLogger('silent') },
)
const hook = await receiver()
try {
  const admin = await readAdminKey(dataDir)
  const credentials = async () => admin
  const common = () => ({
    endpoint: server.url,
    region: REGION,
    credentials: admin,
    systemClockOffset: offset,
  })
  await fakeDate(new S3Client({ ...common(), forcePathStyle: true })).send(
    new CreateBucketCommand({ Bucket: 'invictus-packs' }),
  )
  const ct = fakeDate(new CloudTrailClient(common()))
  await ct.send(
    new CreateTrailCommand({
      Name: 'invictus',
      S3BucketName: 'invictus-packs',
      IsMultiRegionTrail: true,
      CloudWatchLogsLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}:*`,
      CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role`,
    }),
  )
  await ct.send(new StartLoggingCommand({ Name: 'invictus' }))

  const api = packApi({
    endpoint: server.url,
    region: REGION,
    credentials,
    clockOffsetMs: offset,
    onClient: fakeDate,
  })
  const topicArn = await alertTopic(api)
  await fakeDate(new SNSClient(common())).send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: hook.url }),
  )
  await enableProtectTrail(api, topicArn)
  await enableCis(api, { logGroupName: LOG_GROUP, topicArn })
  const sigma = await importSigma(api, SIGMA_DIR, topicArn)

  // Every rule match, as the rules sink makes it.
  const matches: { rule: string; eventID: string; eventName: string; eventTime: string }[] = []
  server.rulesSink.onMatch = (m) =>
    matches.push({
      rule: m.rule.name,
      eventID: m.event.detail.eventID,
      eventName: m.event.detail.eventName,
      eventTime: m.event.detail.eventTime,
    })

  // The replay: the dataset's records through the pipeline, in eventTime order.
  const records: CloudTrailRecord[] = []
  const lines = createInterface({
    input: createReadStream(join(DATASET, 'events.jsonl.gz')).pipe(createGunzip()),
  })
  for await (const line of lines)
    if (line.trim()) records.push(JSON.parse(line) as CloudTrailRecord)
  const datasetIds = new Set(records.map((r) => r.eventID))
  for (let i = 0; i < records.length; i += 500)
    await server.pipeline.ingest(records.slice(i, i + 500))
  await server.pipeline.drain()
  await server.pipeline.drain()

  const timeline = (await readFile(join(DATASET, 'attack-timeline.tsv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([technique, first, last, n, names, codes, ids]) => ({
      technique: technique!.replace(/^aws\./, ''),
      first: first!,
      last: last!,
      n: Number(n),
      names: names!,
      codes: codes ?? '',
      ids: new Set(ids!.split(',')),
    }))

  // CIS: metrics per 5 minutes, and the events each filter matched in the log group.
  const call = <T>(service: string, target: string, version: '1.0' | '1.1', input: object) =>
    awsJsonCall<T>({
      endpoint: server.url,
      region: REGION,
      credentials,
      service,
      target,
      version,
      input: input as Record<string, unknown>,
      clockOffsetMs: offset,
    })
  const cis: {
    id: string
    name: string
    title: string
    periods: { start: number; sum: number }[]
    events: { eventID: string; eventName: string; eventTime: string }[]
  }[] = []
  for (const c of CIS_CONTROLS) {
    const stats = await call<{ Datapoints?: { Timestamp: number; Sum: number }[] }>(
      'monitoring',
      'GraniteServiceVersion20100801.GetMetricStatistics',
      '1.0',
      {
        Namespace: CIS_NAMESPACE,
        MetricName: c.name,
        StartTime: FROM / 1000,
        EndTime: TO / 1000,
        Period: 300,
        Statistics: ['Sum'],
      },
    )
    const periods = (stats.Datapoints ?? [])
      .filter((d) => d.Sum >= 1)
      .map((d) => ({ start: d.Timestamp * 1000, sum: d.Sum }))
      .sort((a, b) => a.start - b.start)
    const events: { eventID: string; eventName: string; eventTime: string }[] = []
    let token: string | undefined
    do {
      const page = await call<{ events?: { message: string }[]; nextToken?: string }>(
        'logs',
        'Logs_20140328.FilterLogEvents',
        '1.1',
        {
          logGroupName: LOG_GROUP,
          filterPattern: c.filterPattern,
          startTime: FROM,
          endTime: TO,
          ...(token ? { nextToken: token } : {}),
        },
      )
      for (const e of page.events ?? []) {
        const r = JSON.parse(e.message) as CloudTrailRecord
        if (datasetIds.has(r.eventID))
          events.push({ eventID: r.eventID, eventName: r.eventName, eventTime: r.eventTime })
      }
      token = page.nextToken
    } while (token)
    cis.push({ id: c.id, name: c.name, title: c.title, periods, events })
  }

  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16)
  const ruleMatches = matches.filter((m) => datasetIds.has(m.eventID))
  const byTechnique = timeline.map((t) => ({
    ...t,
    cis: cis.filter((c) => c.events.some((e) => t.ids.has(e.eventID))).map((c) => c.id),
    rules: [...new Set(ruleMatches.filter((m) => t.ids.has(m.eventID)).map((m) => m.rule))],
  }))
  const attackIds = new Set(timeline.flatMap((t) => [...t.ids]))

  const out: string[] = []
  const p = (s = '') => out.push(s)
  p('# Security packs on the invictus dataset')
  p()
  p(
    `Generated by \`npx tsx bench/packs-replay.ts\` on ${new Date().toISOString().slice(0, 10)}. ` +
      `${records.length} records of invictus-aws-dataset (2023-07-10 11:42–12:37 UTC) replayed through ` +
      'the pipeline of a server whose clock started at 11:30 that day, with a multi-region trail sending ' +
      `to log group \`${LOG_GROUP}\` and the packs enabled through the public APIs: CIS 4.1–4.15 (metric ` +
      `filters + alarms), protect-the-trail (rule \`${PROTECT_TRAIL_RULE}\`), and ${sigma.loaded.length} ` +
      `Sigma rules from test/fixtures/sigma (${sigma.skipped.length} reported as not convertible).`,
  )
  p()
  p(
    "CIS columns list the controls whose metric filter matched one of the technique's events in the " +
      "log group (FilterLogEvents with the control's exact pattern); an alarm with the CIS settings " +
      '(Sum >= 1 in a 5-minute period) goes to ALARM for that period. Rule columns list the event rules ' +
      "the rules sink matched on the technique's events; each match was published to the alert topic.",
  )
  p()
  p('## Against the attack timeline')
  p()
  p('| time (UTC) | technique | events | CIS alarms | protect-trail | Sigma rules |')
  p('|---|---|---|---|---|---|')
  for (const t of byTechnique) {
    const time =
      t.first === t.last
        ? t.first.slice(11, 19)
        : `${t.first.slice(11, 19)}–${t.last.slice(11, 19)}`
    const sig = t.rules.filter((r) => r.startsWith('sigma-')).map((r) => r.slice(6))
    p(
      `| ${time} | ${t.technique} | ${t.n} ${t.names}${t.codes ? ` (${t.codes})` : ''} | ${t.cis.join(', ') || '–'} | ${t.rules.includes(PROTECT_TRAIL_RULE) ? 'yes' : '–'} | ${sig.join(', ') || '–'} |`,
    )
  }
  const detected = byTechnique.filter((t) => t.cis.length > 0 || t.rules.length > 0).length
  p()
  const TOOL_MARKER = 'sigma-stratus_user_agent'
  const behavioural = byTechnique.filter(
    (t) => t.cis.length > 0 || t.rules.some((r) => r !== TOOL_MARKER),
  ).length
  p(
    `${detected} of ${timeline.length} techniques raise at least one alert; ${behavioural} without ` +
      `\`${TOOL_MARKER}\`, which keys on the simulation tool's user agent rather than on behaviour.`,
  )
  p()
  p('## CIS alarms (5-minute periods in ALARM)')
  p()
  p('| control | alarm | periods in ALARM (start, Sum) | matched events: attack / other |')
  p('|---|---|---|---|')
  for (const c of cis) {
    const attack = c.events.filter((e) => attackIds.has(e.eventID)).length
    p(
      `| ${c.id} ${c.title} | ${c.name} | ${c.periods.map((x) => `${hhmm(x.start)} (${x.sum})`).join(', ') || '–'} | ${attack} / ${c.events.length - attack} |`,
    )
  }
  p()
  p('## Event rules (matches on the dataset)')
  p()
  p('| rule | matches: attack / other | event names |')
  p('|---|---|---|')
  const rulesFired = [...new Set(ruleMatches.map((m) => m.rule))].sort()
  for (const r of rulesFired) {
    const ms = ruleMatches.filter((m) => m.rule === r)
    const attack = ms.filter((m) => attackIds.has(m.eventID)).length
    const names = [...new Set(ms.map((m) => m.eventName))].slice(0, 8).join(', ')
    p(`| ${r} | ${attack} / ${ms.length - attack} | ${names} |`)
  }
  const silent = sigma.loaded.map((l) => l.rule).filter((r) => !rulesFired.includes(r))
  if (silent.length > 0) p(`\nLoaded but silent on this dataset: ${silent.join(', ')}.`)
  p()
  p('Sigma rules not loaded (reported per rule):')
  p()
  for (const s of sigma.skipped) p(`- \`${s.file}\`: ${s.reasons.join('; ')}`)
  p()
  // The notifications themselves: every match went to the topic and its HTTP subscriber.
  const deadline = Date.now() + 30_000
  while (hook.got.length < matches.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))
  p(
    `Notifications: ${matches.length} rule matches in all (including the replay's own set-up calls), ` +
      `${hook.got.length} delivered to the topic's HTTP subscriber, ` +
      `${server.notify.outbox.deadLetters().length} undelivered.`,
  )
  console.log(out.join('\n'))
} finally {
  await hook.close()
  await server.close()
  await rm(dataDir, { recursive: true, force: true })
}
