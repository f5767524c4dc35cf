/**
 * @module notify/wiring
 * How the composition root plugs notifications in: the outbox (`<dataDir>/notify/outbox`), the
 * topic store, the transports, the dispatcher, and the SNS API binding.
 */
import { join } from 'node:path'
import type { Config } from '../config/schema.js'
import type { ServiceBinding } from '../http/api.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../telemetry/logger.js'
import { DEFAULT_RETRY, Dispatcher } from './dispatcher.js'
import { Outbox } from './outbox.js'
import { NotifyService } from './service.js'
import { snsBinding } from './sns-api.js'
import { Transports } from './transports.js'

export interface Notifications {
  service: NotifyService
  outbox: Outbox
  dispatcher: Dispatcher
  binding: ServiceBinding
  start(): void
  close(): Promise<void>
}

export async function openNotifications(o: {
  dataDir: string
  settings: Config['notifications']
  clock: Clock
  logger: Logger
}): Promise<Notifications> {
  const dir = join(o.dataDir, 'notify')
  const outbox = await Outbox.open(join(dir, 'outbox'))
  const service = await NotifyService.open({ dir, outbox, clock: o.clock })
  const s = o.settings ?? {}
  const transports = new Transports({ smtp: s.smtp, timeoutMs: s.timeoutMs ?? 10_000 })
  const dispatcher = new Dispatcher({
    outbox,
    send: (d, ctx) => transports.send(d, ctx),
    subscription: (arn) => service.subscription(arn),
    clock: o.clock,
    logger: o.logger,
    retry: {
      maxAttempts: s.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      baseDelayMs: s.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: s.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    },
    concurrency: s.concurrency ?? 16,
  })
  return {
    service,
    outbox,
    dispatcher,
    binding: snsBinding(service),
    start: () => dispatcher.start(),
    async close() {
      await dispatcher.stop()
      transports.close()
      await outbox.close()
    },
  }
}
