/**
 * Insights on the invictus dataset (../shared/datasets/invictus-aws-dataset): starts a server whose
 * account is the dataset's, enables both Insights types on a trail, imports the 55 trail files
 * through the import API (the same pipeline as live events, counted by eventTime), and prints the
 * anomalies raised, with their attributions, next to the dataset's attack timeline, as Markdown
 * (docs/insights-on-invictus.md holds a run).
 *
 *   npx tsx bench/insights-invictus.ts [--warmup 10] [--score 7] [--min-count 10]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  CreateTrailCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { loadConfig } from '../src/config/load.js'
import { ImportClient } from '../src/import/client.js'
import { InsightsClient } from '../src/insights/client.js'
import { startServer } from '../src/main.js'
import { createLogger } from '../src/telemetry/logger.js'
import { readAdminKey } from '../test/helpers/server.js'

const DATASET =
  process.env['OPENTRAIL_DATASETS'] !== undefined
    ? join(process.env['OPENTRAIL_DATASETS'], 'invictus-aws-dataset')
    : new URL('../../shared/datasets/invictus-aws-dataset', import.meta.url).pathname
const ACCOUNT = '123837392027'
/**
 * The set-up calls (bucket, trail, import) are live events of the same account: made in us-east-1 they
 * would put that stream's head in the present, and the 2023 events would be history behind it
 * (baseline only). A multi-region trail set up from another region leaves us-east-1 to the import.
 */
const SETUP_REGION = 'us-west-2'

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}

const insights = {
  warmupMinutes: arg('warmup', 10),
  score: arg('score', 7),
  minCount: arg('min-count', 10),
}
const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-invictus-'))
const base = await loadConfig({ port: 0, dataDir }, {})
const server = await startServer(
  {
    ...base,
    retentionDays: 3650,
    accounts: [{ accountId: ACCOUNT, users: [], roles: [] }],
    insights,
  } as Parameters<typeof startServer>[0],
  { logger: createLogger('silent') },
)
try {
  const admin = await readAdminKey(dataDir)
  const s3 = new S3Client({
    endpoint: server.url,
    region: SETUP_REGION,
    forcePathStyle: true,
    credentials: admin,
  })
  await s3.send(new CreateBucketCommand({ Bucket: 'invictus-insights' }))
  const ct = new CloudTrailClient({
    endpoint: server.url,
    region: SETUP_REGION,
    credentials: admin,
  })
  await ct.send(
    new CreateTrailCommand({
      Name: 'insights',
      S3BucketName: 'invictus-insights',
      IsMultiRegionTrail: true,
    }),
  )
  await ct.send(new StartLoggingCommand({ Name: 'insights' }))
  await ct.send(
    new PutInsightSelectorsCommand({
      TrailName: 'insights',
      InsightSelectors: [
        { InsightType: 'ApiCallRateInsight' },
        { InsightType: 'ApiErrorRateInsight' },
      ],
    }),
  )
  const imports = new ImportClient({
    endpoint: server.url,
    region: SETUP_REGION,
    credentials: async () => admin,
  })
  let info = await imports.start({ Source: join(DATASET, 'CloudTrail') })
  while (!['COMPLETED', 'FAILED', 'STOPPED'].includes(info.ImportStatus)) {
    await new Promise((r) => setTimeout(r, 100))
    info = await imports.get(info.ImportId)
  }
  await server.pipeline.drain()
  await server.pipeline.drain()
  const api = new InsightsClient({ endpoint: server.url, region: 'us-east-1', credentials: admin })
  const anomalies = (await api.list()).sort((a, b) => a.StartTime - b.StartTime)
  const timeline = (await readFile(join(DATASET, 'attack-timeline.tsv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([technique, first, last, n, names, codes]) => ({
      technique: technique!,
      first: first!,
      last: last!,
      n: Number(n),
      names: names!.split(','),
      codes: codes ?? '',
    }))
  const hhmm = (s: number) => new Date(s * 1000).toISOString().slice(11, 16)
  const top = (a: (typeof anomalies)[number], attr: string) =>
    a.Attributions?.find((x) => x.Attribute === attr)
      ?.Insight.slice(0, 2)
      .map(
        (v) =>
          `${v.Value.length > 60 ? v.Value.slice(0, 57) + '...' : v.Value} (${v.Average.toFixed(2)}/min)`,
      )
      .join('; ') ?? ''
  console.log(`Import: ${info.ImportStatus}, ${info.ImportStatistics['EventsImported']} events.`)
  console.log(
    `Detector: warm-up ${insights.warmupMinutes} min, score ${insights.score}, min count ${insights.minCount}; ${anomalies.length} anomalies.\n`,
  )
  console.log(
    '| # | start–end (UTC) | API | type | error code | window count | score | baseline /min | insight /min | top user | top user agent | timeline match |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const [i, s] of anomalies.entries()) {
    const a = await api.get(s.AnomalyId)
    const startIso = new Date(a.StartTime * 1000).toISOString()
    const match = timeline.filter(
      (t) =>
        t.names.includes(a.EventName) &&
        Date.parse(t.last) >= a.StartTime * 1000 - 300_000 &&
        Date.parse(t.first) <= (a.EndTime ?? a.DetectedAt + 60) * 1000 + 60_000,
    )
    console.log(
      `| ${i + 1} | ${startIso.slice(11, 16)}–${a.EndTime ? hhmm(a.EndTime) : 'open'} | ${a.EventSource.replace('.amazonaws.com', '')}:${a.EventName} | ${a.InsightType.replace('Insight', '')} | ${a.ErrorCode ?? ''} | ${a.WindowCount} | ${a.Score} | ${a.BaselineAverage.toFixed(3)} | ${a.InsightAverage.toFixed(2)} | ${top(a, 'userIdentityArn')} | ${top(a, 'userAgent')} | ${match.map((t) => t.technique).join(', ') || '—'} |`,
    )
  }
  console.log('\nTimeline techniques and whether an anomaly covers them:\n')
  console.log('| technique | first–last | events | raised |')
  console.log('|---|---|---|---|')
  for (const t of timeline) {
    const hit = anomalies.some(
      (a) =>
        t.names.includes(a.EventName) &&
        Date.parse(t.last) >= a.StartTime * 1000 - 300_000 &&
        Date.parse(t.first) <= (a.EndTime ?? a.DetectedAt + 60) * 1000 + 60_000,
    )
    console.log(
      `| ${t.technique} | ${t.first.slice(11, 19)}–${t.last.slice(11, 19)} | ${t.n} | ${hit ? 'yes' : 'no'} |`,
    )
  }
} finally {
  await server.close()
  await rm(dataDir, { recursive: true, force: true })
}
