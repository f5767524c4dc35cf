/**
 * @module monitoring/wiring
 * Opens the monitoring side of OpenTrail for the composition root: the log store (LMDB), the logs
 * and monitoring services, the CloudWatch Logs sink, the two API bindings (CloudWatch Logs, JSON 1.1;
 * CloudWatch, JSON 1.0), the retention sweeps and the `/metrics` endpoint.
 */
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { logsOperations } from '../domains/logs/handlers.js'
import { LogsService } from '../domains/logs/service.js'
import { CloudWatchLogsSink } from '../domains/logs/sink.js'
import { LogStore } from '../domains/logs/store.js'
import type { Trail } from '../domains/trails/model.js'
import type { ServiceBinding } from '../http/api.js'
import type { Notifier } from '../notify/port.js'
import { loadModel } from '../protocol/model.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { cloudWatchOperations } from './handlers.js'
import { CONTENT_TYPE, metricsAccess, renderPrometheus } from './prometheus.js'
import { MonitoringService } from './service.js'

export interface MonitoringWiring {
  logs: LogsService
  monitoring: MonitoringService
  sink: CloudWatchLogsSink
  bindings: { logs: ServiceBinding; monitoring: ServiceBinding }
  /** Starts alarm evaluation and the hourly retention sweeps. */
  start(): void
  /** `GET /metrics` (Prometheus text format). */
  metricsEndpoint(
    sinks: () => { name: string; lag: number; checkpoint: number }[],
    token: string | undefined,
  ): (req: IncomingMessage) => { status: number; headers: Record<string, string>; body: string }
  /** After the pipeline has stopped (the sink writes to the store until then). */
  close(): Promise<void>
}

export function openMonitoring(o: {
  dataDir: string
  trails: () => readonly Trail[]
  clock: Clock
  logger: Logger
  notifier?: Notifier
}): MonitoringWiring {
  const store = LogStore.open(join(o.dataDir, 'logs'))
  const logs = new LogsService(store, o.clock)
  const monitoring = new MonitoringService({
    env: store.env,
    groups: logs,
    clock: o.clock,
    logger: o.logger,
    ...(o.notifier ? { notifier: o.notifier } : {}),
  })
  logs.addHook(monitoring)
  const sink = new CloudWatchLogsSink(logs, store, o.trails)
  const logsModel = loadModel(new URL('../protocol/models/logs-2014-03-28.json', import.meta.url))
  const cwModel = loadModel(
    new URL('../protocol/models/monitoring-2010-08-01.json', import.meta.url),
  )
  let sweeper: NodeJS.Timeout | undefined
  const sweep = () => {
    logs
      .sweep()
      .then(() => monitoring.sweep())
      .catch((err: unknown) => o.logger.error({ err: String(err) }, 'Logs retention sweep failed.'))
  }
  return {
    logs,
    monitoring,
    sink,
    bindings: {
      logs: {
        eventSource: 'logs.amazonaws.com',
        iamPrefix: 'logs',
        signingName: 'logs',
        targetPrefixes: [logsModel.metadata.targetPrefix],
        model: logsModel,
        operations: logsOperations(logs, monitoring),
      },
      monitoring: {
        eventSource: 'monitoring.amazonaws.com',
        iamPrefix: 'cloudwatch',
        signingName: 'monitoring',
        targetPrefixes: [cwModel.metadata.targetPrefix],
        model: cwModel,
        operations: cloudWatchOperations(monitoring),
      },
    },
    start() {
      monitoring.start()
      sweeper = setInterval(sweep, 60 * 60 * 1000)
      sweeper.unref()
    },
    metricsEndpoint(sinks, token) {
      return (req) => {
        const access = metricsAccess(req, token)
        if (!access.ok)
          return {
            status: access.status,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
            body: access.message + '\n',
          }
        return {
          status: 200,
          headers: { 'content-type': CONTENT_TYPE },
          body: renderPrometheus({
            metrics: () => monitoring.metrics.entries(),
            alarms: () => monitoring.allAlarms(),
            logGroups: () => logs.allGroups(),
            sinks,
          }),
        }
      }
    },
    async close() {
      if (sweeper) clearInterval(sweeper)
      await monitoring.stop()
      await store.close()
    },
  }
}
