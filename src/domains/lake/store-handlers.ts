/**
 * @module domains/lake/store-handlers
 * Wire mapping of the event data store operations (Create/Get/List/Update/Delete/Restore, Start/Stop
 * ingestion): PascalCase in and out, the store's canonical ARN for IAM and the record.
 */
import type { Input, Operation, RequestContext } from '../../protocol/operation.js'
import { bool, fromWireAdvancedSelectors, fromWireTags, str } from '../trails/wire.js'
import type { BillingMode, EventDataStore, LakeService, StoreSettings } from './service.js'
import { page, scope, storeResources, toDate, type Wire } from './wire.js'

function toWireSelectors(st: EventDataStore): Wire[] {
  return st.advancedEventSelectors.map((s) => ({
    ...(s.name !== undefined ? { Name: s.name } : {}),
    FieldSelectors: s.fieldSelectors.map((f) => {
      const out: Wire = { Field: f.field }
      for (const [k, v] of Object.entries(f)) {
        if (k !== 'field' && Array.isArray(v)) out[k.charAt(0).toUpperCase() + k.slice(1)] = v
      }
      return out
    }),
  }))
}

function toWireStore(st: EventDataStore): Wire {
  return {
    EventDataStoreArn: st.arn,
    Name: st.name,
    Status: st.status,
    AdvancedEventSelectors: toWireSelectors(st),
    MultiRegionEnabled: st.multiRegionEnabled,
    OrganizationEnabled: st.organizationEnabled,
    RetentionPeriod: st.retentionPeriod,
    TerminationProtectionEnabled: st.terminationProtectionEnabled,
    CreatedTimestamp: toDate(st.createdTimestamp),
    UpdatedTimestamp: toDate(st.updatedTimestamp),
    ...(st.kmsKeyId ? { KmsKeyId: st.kmsKeyId } : {}),
    BillingMode: st.billingMode,
  }
}

function settingsOf(input: Input): StoreSettings {
  const selectors = fromWireAdvancedSelectors(input['AdvancedEventSelectors'])
  const out: StoreSettings = {}
  if (selectors !== undefined) out.advancedEventSelectors = selectors
  const mr = bool(input['MultiRegionEnabled'])
  if (mr !== undefined) out.multiRegionEnabled = mr
  const org = bool(input['OrganizationEnabled'])
  if (org !== undefined) out.organizationEnabled = org
  const tp = bool(input['TerminationProtectionEnabled'])
  if (tp !== undefined) out.terminationProtectionEnabled = tp
  if (typeof input['RetentionPeriod'] === 'number') out.retentionPeriod = input['RetentionPeriod']
  const kms = str(input['KmsKeyId'])
  if (kms !== undefined) out.kmsKeyId = kms
  const bm = str(input['BillingMode'])
  if (bm !== undefined) out.billingMode = bm as BillingMode
  return out
}

/** The canonical ARN of the store `input[key]` names (for IAM and the record). */
export function storeArnOf(
  service: LakeService,
  input: Input,
  ctx: RequestContext,
  key = 'EventDataStore',
): string {
  const ref = str(input[key]) ?? ''
  try {
    return service.find(scope(ctx), ref).arn
  } catch {
    return ref.startsWith('arn:')
      ? ref
      : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:eventdatastore/${ref}`
  }
}

/** IAM resource and event resources of an operation on the store named by `input[key]`. */
export function onStore(service: LakeService, key = 'EventDataStore') {
  return {
    resource: (input: Input, ctx: RequestContext) => storeArnOf(service, input, ctx, key),
    eventResources: (input: Input, ctx: RequestContext) =>
      input[key] === undefined ? [] : storeResources(ctx, [storeArnOf(service, input, ctx, key)]),
  }
}

export const storeRef = (input: Input, key = 'EventDataStore') => str(input[key]) ?? ''

export function storeOperations(service: LakeService): Record<string, Operation> {
  const ref = storeRef
  return {
    CreateEventDataStore: {
      readOnly: false,
      resource: (_i, ctx) => `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:eventdatastore/*`,
      async handle(input, ctx) {
        const st = await service.create(scope(ctx), {
          name: str(input['Name'])!,
          ...settingsOf(input),
          tags: fromWireTags(input['TagsList']),
          ...(bool(input['StartIngestion']) !== undefined
            ? { startIngestion: bool(input['StartIngestion'])! }
            : {}),
        })
        return {
          ...toWireStore(st),
          TagsList: st.tags.map((t) => ({
            Key: t.key,
            ...(t.value !== undefined ? { Value: t.value } : {}),
          })),
        }
      },
    },
    GetEventDataStore: {
      readOnly: true,
      ...onStore(service),
      async handle(input, ctx) {
        return toWireStore(service.find(scope(ctx), ref(input)))
      },
    },
    ListEventDataStores: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const all = service.list(scope(ctx))
        const p = page(
          all,
          'ListEventDataStores',
          [ctx.accountId, ctx.region],
          input,
          'NextToken',
          'MaxResults',
          1000,
        )
        return {
          EventDataStores: p.items.map(toWireStore),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
    UpdateEventDataStore: {
      readOnly: false,
      ...onStore(service),
      async handle(input, ctx) {
        const name = str(input['Name'])
        const st = await service.update(scope(ctx), ref(input), {
          ...settingsOf(input),
          ...(name !== undefined ? { name } : {}),
        })
        return toWireStore(st)
      },
    },
    DeleteEventDataStore: {
      readOnly: false,
      ...onStore(service),
      async handle(input, ctx) {
        await service.delete(scope(ctx), ref(input))
        return {}
      },
    },
    RestoreEventDataStore: {
      readOnly: false,
      ...onStore(service),
      async handle(input, ctx) {
        return toWireStore(await service.restore(scope(ctx), ref(input)))
      },
    },
    StartEventDataStoreIngestion: {
      readOnly: false,
      ...onStore(service),
      async handle(input, ctx) {
        await service.setIngestion(scope(ctx), ref(input), true)
        return {}
      },
    },
    StopEventDataStoreIngestion: {
      readOnly: false,
      ...onStore(service),
      async handle(input, ctx) {
        await service.setIngestion(scope(ctx), ref(input), false)
        return {}
      },
    },
  }
}
