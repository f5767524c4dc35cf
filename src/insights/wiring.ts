/**
 * @module insights/wiring
 * How the composition root plugs Insights in: the sink (add it to the pipeline before it starts,
 * then `start()` it) and the API binding for the `OpenTrailInsights_20250601` target prefix; then,
 * once the Lake is open, Insights on event data stores (`openEventDataStoreInsights`): another owner
 * of Insights configurations for the sink, the PutInsightSelectors/GetInsightSelectors wrapper and
 * the Lake sink's routing of Insights events to destination stores.
 */
import { join } from 'node:path'
import type { Trail } from '../domains/trails/model.js'
import type { ServiceBinding } from '../http/api.js'
import type { RoutedStore } from '../lake/engine.js'
import type { OperationTable } from '../protocol/operation.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import { loadModel } from '../protocol/model.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { INSIGHTS_MODEL_URL, INSIGHTS_TARGET_PREFIX, insightsOperations } from './api.js'
import { withEventDataStoreInsights } from './eds-handlers.js'
import { EventDataStoreInsights, type LakeStores } from './event-data-stores.js'
import type { DetectorParams } from './model.js'
import { InsightsSink } from './sink.js'

export interface Insights {
  sink: InsightsSink
  binding(operatorAccountId: () => string | undefined): ServiceBinding
}

export async function openInsights(o: {
  dataDir: string
  pipeline: Pipeline
  logHead: () => number
  trails: { all(): readonly Trail[] }
  clock: Clock
  logger: Logger
  params?: Partial<DetectorParams> & { snapshotSeconds?: number }
}): Promise<Insights> {
  const { snapshotSeconds, ...params } = o.params ?? {}
  const sink = await InsightsSink.open({
    dir: join(o.dataDir, 'insights'),
    clock: o.clock,
    logger: o.logger,
    trails: o.trails,
    ingest: (records) => o.pipeline.ingest(records),
    logHead: o.logHead,
    params,
    ...(snapshotSeconds ? { snapshotSeconds } : {}),
  })
  return {
    sink,
    binding(operatorAccountId) {
      return {
        eventSource: 'cloudtrail.amazonaws.com',
        iamPrefix: 'cloudtrail',
        signingName: 'cloudtrail',
        targetPrefixes: [INSIGHTS_TARGET_PREFIX],
        model: loadModel(INSIGHTS_MODEL_URL),
        operations: insightsOperations(sink, { operatorAccountId }),
      }
    },
  }
}

export interface StoreInsightsWiring {
  service: EventDataStoreInsights
  /** PutInsightSelectors/GetInsightSelectors of the trail operations, with event data stores. */
  operations(trailOps: OperationTable): OperationTable
  /** The Lake sink's stores: Insights events routed to their source's InsightsDestination. */
  routed(): RoutedStore[]
}

/** Insights on event data stores; call before the pipeline starts. */
export async function openEventDataStoreInsights(o: {
  dataDir: string
  lake: LakeStores
  insights: Insights
  clock: Clock
}): Promise<StoreInsightsWiring> {
  const service = await EventDataStoreInsights.open({
    file: join(o.dataDir, 'insights', 'event-data-stores.json'),
    lake: o.lake,
    clock: o.clock,
    forget: (arn) => o.insights.sink.forgetSource(arn),
  })
  o.insights.sink.addScopes(service)
  return {
    service,
    operations: (trailOps) => withEventDataStoreInsights(trailOps, service, o.lake),
    routed: () => service.routeInsights(o.lake.routed()),
  }
}
