/**
 * @module domains/lake/handlers
 * CloudTrail Lake operations for the protocol layer. Wire names (PascalCase) are mapped in one
 * module per sub-resource: event data stores (store-handlers.ts), queries (query-handlers.ts),
 * channels (channel-handlers.ts) and imports (import-handlers.ts); shared helpers in wire.ts.
 */
import type { Authorizer } from '../../iam/authorizer.js'
import type { OperationTable } from '../../protocol/operation.js'
import { queryOperations } from './query-handlers.js'
import type { LakeService } from './service.js'
import { storeOperations } from './store-handlers.js'

export { channelOperations } from './channel-handlers.js'
export { lakeImportOperations } from './import-handlers.js'

/** Event data store and query operations. */
export function lakeOperations(service: LakeService, authorizer: Authorizer): OperationTable {
  return { ...storeOperations(service), ...queryOperations(service, authorizer) }
}
