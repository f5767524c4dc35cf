/**
 * @module main
 * The composition root: the only place that picks concrete adapters (file log, DuckDB history,
 * JSON state files) and wires sources, pipeline, sinks, domains and the HTTP server together.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Config } from './config/schema.js'
import { ConsoleHandler } from './console/http.js'
import { SessionStore } from './console/sessions.js'
import { SignInService } from './console/signin.js'
import { withDeliveryStatus } from './delivery/handlers.js'
import { deliveryNotifier } from './delivery/notifications.js'
import { TrailDelivery } from './delivery/trail-delivery.js'
import { publicKeyOperations } from './digest/handlers.js'
import { SigningKeyStore } from './digest/keystore.js'
import { lookupOperations } from './domains/lookup/handlers.js'
import { LookupService } from './domains/lookup/service.js'
import { channelOperations, lakeImportOperations, lakeOperations } from './domains/lake/handlers.js'
import { LakeImports } from './domains/lake/imports.js'
import { LakeService } from './domains/lake/service.js'
import { QueryResultDelivery } from './domains/lake/query-delivery.js'
import { LakeEngine } from './lake/engine.js'
import { ParquetExporter } from './lake/export.js'
import { AuditEventsEndpoint } from './domains/lake/audit-events.js'
import { ChannelService } from './domains/lake/channels.js'
import { dashboardOperations } from './domains/lake/dashboards-handlers.js'
import { DashboardService } from './domains/lake/dashboards.js'
import { trailOperations } from './domains/trails/handlers.js'
import { TrailService } from './domains/trails/service.js'
import { postureBinding } from './domains/posture/handlers.js'
import { PostureService } from './domains/posture/service.js'
import { openJsonTrailStore } from './domains/trails/store.js'
import { ApiHandler } from './http/api.js'
import { createHttpServer } from './http/server.js'
import { Authorizer } from './iam/authorizer.js'
import { bootstrapIdentities } from './iam/bootstrap.js'
import type { ImportService } from './import/service.js'
import { openImports } from './import/wiring.js'
import { RecordingGateway } from './gateway/gateway.js'
import { gatewaySettings } from './gateway/settings.js'
import { openMonitoring, type MonitoringWiring } from './monitoring/wiring.js'
import type { InsightsSink } from './insights/sink.js'
import { insightsMetricOperations } from './insights/metric-data.js'
import { openEventDataStoreInsights, openInsights } from './insights/wiring.js'
import { openNotifications } from './notify/wiring.js'
import type { NotifyService } from './notify/service.js'
import { LocalObjectStore } from './objectstore/local-store.js'
import { MasterKeyStore } from './objectstore/master-keys.js'
import { hasBucketSettings, type ObjectStore } from './objectstore/port.js'
import { S3ObjectStore } from './objectstore/s3-store.js'
import { FileEventLog, TEXT_CODEC } from './pipeline/file-log.js'
import { Pipeline } from './pipeline/pipeline.js'
import { loadModel } from './protocol/model.js'
import { eventsBinding } from './rules/handlers.js'
import { RulesService } from './rules/service.js'
import { RulesSink } from './rules/sink.js'
import { S3ApiHandler } from './s3api/handler.js'
import { systemClock, type Clock } from './shared/clock.js'
import { DuckDbHistoryStore } from './storage/duckdb/history-store.js'
import { createLogger, type Logger } from './telemetry/logger.js'

export interface RunningServer {
  url: string
  port: number
  dataDir: string
  pipeline: Pipeline
  /** Topics, subscriptions and the notification outbox (SNS API). */
  notify: NotifyService
  /** Event rules (EventBridge API) and the sink that evaluates them. */
  rules: RulesService
  rulesSink: RulesSink
  /** Where trails deliver log and digest files. */
  objectStore: ObjectStore
  delivery: TrailDelivery
  /** Imports of CloudTrail log files into the pipeline. */
  imports: ImportService
  /** CloudWatch Logs (trail log groups, metric filters), metrics and alarms. */
  monitoring: MonitoringWiring
  /** Insights: the detector sink, its anomalies and settings (see docs/insights.md). */
  insights: InsightsSink
  /** Recording gateways (config `gateways`, `serve --gateway`), in config order. */
  gateways: Pick<RecordingGateway, 'url' | 'settings' | 'status'>[]
  close(): Promise<void>
}

export async function startServer(
  config: Config,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock
  const logger = opts.logger ?? createLogger()
  const dataDir = resolve(config.dataDir)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })

  const identities = await bootstrapIdentities(config, dataDir, logger)
  const log = await FileEventLog.open(join(dataDir, 'log'))
  const pipeline = new Pipeline(log, logger)
  const history = await DuckDbHistoryStore.open(join(dataDir, 'history.duckdb'))
  pipeline.addSink(history)

  const trails = new TrailService(await openJsonTrailStore(join(dataDir, 'trails.json')), clock)
  // The embedded store always serves OpenTrail's S3 API; `s3` in the config puts trails elsewhere.
  // Objects put with a KMS key id (trails' KmsKeyId, SSE-KMS puts) are encrypted at rest.
  const localStore = await LocalObjectStore.open(join(dataDir, 'buckets'), {
    masterKeys: await MasterKeyStore.open(join(dataDir, 'keys')),
  })
  const s3Store = config.s3
    ? new S3ObjectStore({ ...config.s3, region: config.s3.region ?? config.region })
    : undefined
  const objectStore: ObjectStore = s3Store ?? localStore
  const signingKeys = await SigningKeyStore.open(join(dataDir, 'keys'), clock, {
    rotationSeconds: config.signingKeyRotationSeconds,
  })
  const notifyDelivered = deliveryNotifier()
  const delivery = await TrailDelivery.open({
    dir: join(dataDir, 'delivery'),
    store: objectStore,
    trails,
    keys: signingKeys,
    clock,
    logger,
    deliveryIntervalSeconds: config.deliveryIntervalSeconds,
    digestIntervalSeconds: config.digestIntervalSeconds,
    // A trail's SNS topic hears of each delivered log file (connected to notify below).
    onLogFileDelivered: notifyDelivered.hook,
  })
  pipeline.addSink(delivery)
  const imports = await openImports({
    dataDir,
    pipeline,
    logger,
    clock,
    retentionDays: config.retentionDays,
  })
  pipeline.addSink(imports.sink)
  const insights = await openInsights({
    dataDir,
    pipeline,
    logHead: () => log.next(),
    trails,
    clock,
    logger,
    ...(config.insights ? { params: config.insights } : {}),
  })
  pipeline.addSink(insights.sink)
  // Notifications (SNS API, durable outbox, dispatcher) and event rules (EventBridge API, sink).
  const notifications = await openNotifications({
    dataDir,
    settings: config.notifications,
    clock,
    logger,
  })
  notifyDelivered.connect(notifications.service)
  const rules = await RulesService.open({
    dir: join(dataDir, 'rules'),
    clock,
    operatorAccountId: () => identities.defaultAccountId,
  })
  const rulesSink = new RulesSink({
    rules,
    notify: notifications.service,
    outbox: notifications.outbox,
    head: () => log.next(),
  })
  pipeline.addSink(rulesSink)
  // CloudWatch Logs (trail log groups, metric filters), metrics and alarms (see src/monitoring).
  const monitoring = openMonitoring({
    dataDir,
    trails: () => trails.all(),
    clock,
    logger,
    notifier: notifications.service,
  })
  pipeline.addSink(monitoring.sink)
  // CloudTrail Lake: its own locked-down DuckDB database (see docs/lake.md).
  const lakeEngine = await LakeEngine.open(join(dataDir, 'lake.duckdb'), {
    workDir: join(dataDir, 'lake-work'),
  })
  const lake = await LakeService.open({
    file: join(dataDir, 'lake-stores.json'),
    engine: lakeEngine,
    clock,
    // The open layout: each store's days as Parquet in the object store (docs/lake.md).
    exporter: new ParquetExporter(
      lakeEngine,
      objectStore,
      'opentrail-lake',
      join(dataDir, 'lake-export.json'),
    ),
    // StartQuery's DeliveryS3Uri: results and a sign file signed with the digest keys.
    delivery: new QueryResultDelivery(objectStore, signingKeys),
  })
  // Insights on event data stores: their Insights events routed to the InsightsDestination store.
  const storeInsights = await openEventDataStoreInsights({ dataDir, lake, insights, clock })
  pipeline.addSink(lake.engine.sink(() => storeInsights.routed()))
  // PutAuditEvents: acknowledged from its own durable log, loaded into the stores behind it in
  // large batches. A Lake query first waits until every event acknowledged before it is loaded
  // (decision 0023).
  const auditLog = await FileEventLog.openWith(join(dataDir, 'lake-audit-log'), TEXT_CODEC)
  const auditPipeline = new Pipeline<string>(auditLog, logger)
  auditPipeline.addSink(lake.engine.auditSink((id) => lake.has(id)))
  lake.engine.beforeQuery(() =>
    auditPipeline.drain(30_000, 'lake-audit').catch((err: unknown) => {
      logger.warn({ err: String(err) }, 'Audit events not loaded yet; the query runs without them.')
    }),
  )
  const channels = await ChannelService.open({
    file: join(dataDir, 'lake-channels.json'),
    lake,
    clock,
  })
  const lakeImports = await LakeImports.open({
    dir: join(dataDir, 'lake-imports'),
    lake,
    logger,
    clock,
  })
  // Lake dashboards: widgets of saved queries, refreshed through the Lake (docs/lake-dashboards.md).
  const dashboards = await DashboardService.open({
    file: join(dataDir, 'lake-dashboards.json'),
    lake,
    clock,
    logger,
  })
  dashboards.start()
  const authorizer = new Authorizer(identities)
  const lookup = new LookupService(history, {
    retentionDays: config.retentionDays,
    ratePerSecond: config.lookupRateLimit,
  })
  const cloudtrailModel = loadModel(
    new URL('./protocol/models/cloudtrail-2013-11-01.json', import.meta.url),
  )

  // The web console: sign-in, sessions, static files, bridges to the APIs (see console/http.ts).
  const sessions = new SessionStore(identities, clock)
  let selfUrl = ''
  const consoleHandler = new ConsoleHandler({
    sessions,
    signIn: new SignInService({
      identities,
      sessions,
      record: async (event) => {
        await pipeline.ingest([event])
      },
      clock,
      region: config.region,
    }),
    identities,
    clock,
    logger,
    region: config.region,
    s3: { handle: (req, res) => s3.handle(req, res) },
    selfUrl: () => selfUrl,
  })

  const api = new ApiHandler({
    services: {
      cloudtrail: {
        eventSource: 'cloudtrail.amazonaws.com',
        iamPrefix: 'cloudtrail',
        signingName: 'cloudtrail',
        targetPrefixes: [cloudtrailModel.metadata.targetPrefix, 'CloudTrail_20131101'],
        model: cloudtrailModel,
        operations: {
          ...withDeliveryStatus(
            trailOperations(trails),
            (scope, name) => trails.find(scope, name),
            delivery,
          ),
          ...storeInsights.operations(trailOperations(trails)),
          ...lookupOperations(lookup),
          ...publicKeyOperations(signingKeys),
          ...insightsMetricOperations(insights.sink),
          ...lakeOperations(lake, authorizer),
          ...dashboardOperations(dashboards, authorizer),
          ...channelOperations(channels),
          ...lakeImportOperations(lakeImports, () => identities.defaultAccountId),
        },
      },
      imports: imports.binding(() => identities.defaultAccountId),
      insights: insights.binding(() => identities.defaultAccountId),
      posture: postureBinding(
        new PostureService({
          trails: (scope) => trails.visible(scope),
          ...(hasBucketSettings(objectStore)
            ? { bucketSettings: (b: string) => objectStore.getBucketSettings(b) }
            : {}),
        }),
      ),
      sns: notifications.binding,
      events: eventsBinding(rules, notifications.service),
      logs: monitoring.bindings.logs,
      monitoring: monitoring.bindings.monitoring,
    },
    identities,
    authorizer,
    record: async (event) => {
      await pipeline.ingest([event])
    },
    clock,
    logger,
    defaultRegion: config.region,
    sessionAuth: consoleHandler,
  })

  await pipeline.start()
  await auditPipeline.start()
  delivery.start()
  insights.sink.start()
  notifications.start()
  monitoring.start()
  const retention = setInterval(
    () => {
      const cutoff = new Date(clock.now().getTime() - config.retentionDays * 86_400_000)
      history
        .expire(cutoff)
        .catch((err: unknown) => logger.error({ err: String(err) }, 'Retention sweep failed.'))
      lake.sweep().catch((err: unknown) => logger.error({ err: String(err) }, 'Lake sweep failed.'))
    },
    60 * 60 * 1000,
  )
  retention.unref()

  const s3 = new S3ApiHandler({
    store: localStore,
    identities,
    record: async (event) => {
      await pipeline.ingest([event])
    },
    clock,
    logger,
    defaultRegion: config.region,
  })
  const server: Server = createHttpServer({
    api,
    s3,
    rest: [
      Object.assign(
        new AuditEventsEndpoint({
          channels,
          ingest: (lines) => auditPipeline.ingest(lines),
          identities,
          authorizer,
          record: async (event) => {
            await pipeline.ingest([event])
          },
          clock,
          logger,
          defaultRegion: config.region,
        }),
        { matches: (req: IncomingMessage) => AuditEventsEndpoint.matches(req) },
      ),
    ],
    console: consoleHandler,
    metrics: monitoring.metricsEndpoint(
      () => pipeline.status(),
      config.metricsToken ?? process.env['OPENTRAIL_METRICS_TOKEN'],
    ),
    health: () => ({ status: 'ok', sinks: pipeline.status() }),
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(config.port, config.host, () => ok())
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  selfUrl = url
  const gateways: RecordingGateway[] = []
  try {
    for (const entry of config.gateways)
      gateways.push(
        await RecordingGateway.start(gatewaySettings(entry), {
          identities,
          authorizer: new Authorizer(identities),
          record: async (event) => {
            await pipeline.ingest([event])
          },
          clock,
          logger,
          defaultRegion: config.region,
        }),
      )
  } catch (err) {
    await Promise.all(gateways.map((g) => g.close()))
    server.close()
    throw err
  }
  for (const g of gateways)
    logger.info({ url: g.url, upstream: g.settings.upstream }, 'Recording gateway is listening.')
  await imports.announce(url)
  logger.info({ url, dataDir }, 'OpenTrail is listening.')
  return {
    url,
    port,
    dataDir,
    pipeline,
    notify: notifications.service,
    rules,
    rulesSink,
    objectStore,
    delivery,
    imports: imports.service,
    monitoring,
    insights: insights.sink,
    gateways,
    async close() {
      clearInterval(retention)
      await Promise.all(gateways.map((g) => g.close()))
      await new Promise<void>((r) => server.close(() => r()))
      server.closeAllConnections()
      await imports.close()
      await pipeline.stop()
      await auditPipeline.stop()
      await monitoring.close()
      await notifications.close()
      await lakeImports.close()
      dashboards.stop()
      await lake.flush()
      await lake.engine.close()
      s3Store?.destroy()
    },
  }
}
