/**
 * @module insights/wiring
 * How the composition root plugs Insights in: the sink (add it to the pipeline before it starts,
 * then `start()` it) and the API binding for the `OpenTrailInsights_20250601` target prefix.
 */
import { join } from 'node:path'
import type { Trail } from '../domains/trails/model.js'
import type { ServiceBinding } from '../http/api.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import { loadModel } from '../protocol/model.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { INSIGHTS_MODEL_URL, INSIGHTS_TARGET_PREFIX, insightsOperations } from './api.js'
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
