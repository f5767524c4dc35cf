/**
 * @module domains/lake/handlers
 * CloudTrail Lake operations for the protocol layer: event data stores and queries. Wire names
 * (PascalCase) are mapped here; StartQuery authorizes cloudtrail:StartQuery on every store ARN the
 * statement names.
 */
import type { EventResource } from '../../events/record.js'
import type { Authorizer } from '../../iam/authorizer.js'
import { bindStoreNames } from '../../lake/sql.js'
import type { Input, Operation, OperationTable, RequestContext } from '../../protocol/operation.js'
import { decodeToken, encodeToken, fingerprint } from '../trails/pagination.js'
import { bool, fromWireAdvancedSelectors, fromWireTags, str } from '../trails/wire.js'
import type { Channel, ChannelDestination, ChannelService } from './channels.js'
import type { LakeImport, LakeImports } from './imports.js'
import {
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidParameterException,
  type BillingMode,
  type EventDataStore,
  type LakeQuery,
  type LakeService,
  type Scope,
  type StoreSettings,
} from './service.js'

type Wire = Record<string, unknown>
const scope = (ctx: RequestContext): Scope => ({ accountId: ctx.accountId, region: ctx.region })
const toDate = (iso: string) => new Date(iso)

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

const storeResources = (ctx: RequestContext, arns: string[]): EventResource[] =>
  arns.map((ARN) => ({ accountId: ctx.accountId, type: 'AWS::CloudTrail::EventDataStore', ARN }))

function page<T>(
  items: T[],
  op: string,
  fp: unknown,
  input: Input,
  tokenKey = 'NextToken',
  maxKey = 'MaxResults',
  max = 1000,
  dflt = max,
): { items: T[]; next?: string } {
  const limit = input[maxKey] === undefined ? dflt : Number(input[maxKey])
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw InvalidMaxResultsException(`${maxKey} must be between 1 and ${max}.`)
  }
  const f = fingerprint(fp)
  let start = 0
  const token = str(input[tokenKey])
  if (token !== undefined) {
    const pos = decodeToken(token, op, f)
    if (typeof pos !== 'number' || pos < 0 || pos > items.length) {
      throw InvalidNextTokenException('The NextToken is not valid.')
    }
    start = pos
  }
  const slice = items.slice(start, start + limit)
  const end = start + slice.length
  return { items: slice, ...(end < items.length ? { next: encodeToken(op, f, end) } : {}) }
}

function statistics(q: LakeQuery): Wire {
  const ms =
    q.startedAt && q.endedAt
      ? q.endedAt.getTime() - q.startedAt.getTime()
      : q.startedAt
        ? Date.now() - q.startedAt.getTime()
        : 0
  return {
    EventsMatched: q.result?.rows.length ?? 0,
    EventsScanned: q.result?.eventsScanned ?? 0,
    BytesScanned: q.result?.bytesScanned ?? 0,
    ExecutionTimeInMillis: ms,
    CreationTime: q.createdAt,
  }
}

export function lakeOperations(service: LakeService, authorizer: Authorizer): OperationTable {
  /** The canonical ARN of the store `input[key]` names (for IAM and the record). */
  const arnOf = (input: Input, ctx: RequestContext, key = 'EventDataStore'): string => {
    const ref = str(input[key]) ?? ''
    try {
      return service.find(scope(ctx), ref).arn
    } catch {
      return ref.startsWith('arn:')
        ? ref
        : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:eventdatastore/${ref}`
    }
  }
  const onStore = (key = 'EventDataStore') => ({
    resource: (input: Input, ctx: RequestContext) => arnOf(input, ctx, key),
    eventResources: (input: Input, ctx: RequestContext) =>
      input[key] === undefined ? [] : storeResources(ctx, [arnOf(input, ctx, key)]),
  })
  const ref = (input: Input, key = 'EventDataStore') => str(input[key]) ?? ''

  const ops: Record<string, Operation> = {
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
      ...onStore(),
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
      ...onStore(),
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
      ...onStore(),
      async handle(input, ctx) {
        await service.delete(scope(ctx), ref(input))
        return {}
      },
    },
    RestoreEventDataStore: {
      readOnly: false,
      ...onStore(),
      async handle(input, ctx) {
        return toWireStore(await service.restore(scope(ctx), ref(input)))
      },
    },
    StartEventDataStoreIngestion: {
      readOnly: false,
      ...onStore(),
      async handle(input, ctx) {
        await service.setIngestion(scope(ctx), ref(input), true)
        return {}
      },
    },
    StopEventDataStoreIngestion: {
      readOnly: false,
      ...onStore(),
      async handle(input, ctx) {
        await service.setIngestion(scope(ctx), ref(input), false)
        return {}
      },
    },
    StartQuery: {
      readOnly: false,
      // IAM: the first store named (each store is checked again in handle).
      resource: (input, ctx) => {
        const refs = [...bindStoreNames(str(input['QueryStatement']) ?? '').refs.values()]
        const first = refs[0]
        if (!first) return '*'
        return arnOf({ EventDataStore: first.arn ?? first.id }, ctx)
      },
      async handle(input, ctx) {
        const statement = str(input['QueryStatement'])
        if (statement === undefined || statement.trim() === '') {
          throw InvalidParameterException('QueryStatement is required.')
        }
        const q = await service.startQuery(scope(ctx), statement, (arn) =>
          authorizer.check(ctx.principal, 'cloudtrail:StartQuery', arn),
        )
        return { QueryId: q.id }
      },
    },
    DescribeQuery: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const q = service.query(scope(ctx), str(input['QueryId']) ?? '')
        return {
          QueryId: q.id,
          QueryString: q.statement,
          QueryStatus: q.status,
          QueryStatistics: statistics(q),
          ...(q.error ? { ErrorMessage: q.error } : {}),
        }
      },
    },
    GetQueryResults: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const q = service.query(scope(ctx), str(input['QueryId']) ?? '')
        const rows = q.result?.rows ?? []
        const cols = q.result?.columns ?? []
        const p = page(
          rows,
          'GetQueryResults',
          [q.id],
          input,
          'NextToken',
          'MaxQueryResults',
          1000,
          1000,
        )
        return {
          QueryStatus: q.status,
          QueryStatistics: {
            ResultsCount: p.items.length,
            TotalResultsCount: rows.length,
            BytesScanned: q.result?.bytesScanned ?? 0,
          },
          QueryResultRows: p.items.map((row) =>
            row.map((v, i) => ({ [cols[i] ?? `_col${i}`]: v ?? '' })),
          ),
          ...(p.next ? { NextToken: p.next } : {}),
          ...(q.error ? { ErrorMessage: q.error } : {}),
        }
      },
    },
    CancelQuery: {
      readOnly: false,
      resource: () => '*',
      async handle(input, ctx) {
        const q = service.cancelQuery(scope(ctx), str(input['QueryId']) ?? '')
        return { QueryId: q.id, QueryStatus: q.status }
      },
    },
    ListQueries: {
      readOnly: true,
      ...onStore(),
      async handle(input, ctx) {
        let qs = service.listQueries(scope(ctx), ref(input))
        const status = str(input['QueryStatus'])
        if (status) qs = qs.filter((q) => q.status === status)
        const st = input['StartTime'] instanceof Date ? input['StartTime'] : undefined
        const et = input['EndTime'] instanceof Date ? input['EndTime'] : undefined
        if (st) qs = qs.filter((q) => q.createdAt >= st)
        if (et) qs = qs.filter((q) => q.createdAt <= et)
        const p = page(
          qs,
          'ListQueries',
          [ref(input), status],
          input,
          'NextToken',
          'MaxResults',
          1000,
        )
        return {
          Queries: p.items.map((q) => ({
            QueryId: q.id,
            QueryStatus: q.status,
            CreationTime: q.createdAt,
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
  }
  return ops
}

function destinationsOf(v: unknown): ChannelDestination[] | undefined {
  if (!Array.isArray(v)) return undefined
  return v.map((d: Wire) => ({
    type: str(d['Type']) as ChannelDestination['type'],
    location: str(d['Location']) ?? '',
  }))
}

const toWireDestinations = (ch: Channel): Wire[] =>
  ch.destinations.map((d) => ({ Type: d.type, Location: d.location }))

/** Channel operations (CloudTrail Lake integrations). */
export function channelOperations(service: ChannelService): OperationTable {
  const arnOf = (input: Input, ctx: RequestContext): string => {
    const ref = str(input['Channel']) ?? ''
    try {
      return service.find(scope(ctx), ref).arn
    } catch {
      return ref.startsWith('arn:')
        ? ref
        : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:channel/${ref}`
    }
  }
  const onChannel = {
    resource: arnOf,
    eventResources: (input: Input, ctx: RequestContext): EventResource[] => [
      { accountId: ctx.accountId, type: 'AWS::CloudTrail::Channel', ARN: arnOf(input, ctx) },
    ],
  }
  const ref = (input: Input) => str(input['Channel']) ?? ''
  return {
    CreateChannel: {
      readOnly: false,
      resource: (_i, ctx) => `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:channel/*`,
      async handle(input, ctx) {
        const ch = await service.create(scope(ctx), {
          name: str(input['Name'])!,
          source: str(input['Source'])!,
          destinations: destinationsOf(input['Destinations']) ?? [],
          tags: fromWireTags(input['Tags']),
        })
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          Destinations: toWireDestinations(ch),
          Tags: ch.tags.map((t) => ({
            Key: t.key,
            ...(t.value !== undefined ? { Value: t.value } : {}),
          })),
        }
      },
    },
    GetChannel: {
      readOnly: true,
      ...onChannel,
      async handle(input, ctx) {
        const ch = service.find(scope(ctx), ref(input))
        const i = ch.ingestion
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          SourceConfig: {
            ApplyToAllRegions: false,
            AdvancedEventSelectors: [
              {
                FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }],
              },
            ],
          },
          Destinations: toWireDestinations(ch),
          IngestionStatus: {
            ...(i.latestIngestionSuccessTime
              ? { LatestIngestionSuccessTime: toDate(i.latestIngestionSuccessTime) }
              : {}),
            ...(i.latestIngestionSuccessEventID
              ? { LatestIngestionSuccessEventID: i.latestIngestionSuccessEventID }
              : {}),
            ...(i.latestIngestionErrorCode
              ? { LatestIngestionErrorCode: i.latestIngestionErrorCode }
              : {}),
            ...(i.latestIngestionAttemptTime
              ? { LatestIngestionAttemptTime: toDate(i.latestIngestionAttemptTime) }
              : {}),
            ...(i.latestIngestionAttemptEventID
              ? { LatestIngestionAttemptEventID: i.latestIngestionAttemptEventID }
              : {}),
          },
        }
      },
    },
    ListChannels: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const p = page(service.list(scope(ctx)), 'ListChannels', [ctx.accountId, ctx.region], input)
        return {
          Channels: p.items.map((c) => ({ ChannelArn: c.arn, Name: c.name })),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
    UpdateChannel: {
      readOnly: false,
      ...onChannel,
      async handle(input, ctx) {
        const name = str(input['Name'])
        const destinations = destinationsOf(input['Destinations'])
        const ch = await service.update(scope(ctx), ref(input), {
          ...(name !== undefined ? { name } : {}),
          ...(destinations !== undefined ? { destinations } : {}),
        })
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          Destinations: toWireDestinations(ch),
        }
      },
    },
    DeleteChannel: {
      readOnly: false,
      ...onChannel,
      async handle(input, ctx) {
        await service.delete(scope(ctx), ref(input))
        return {}
      },
    },
  }
}

function importSourceOf(m: LakeImport['meta']): Wire {
  return {
    S3: {
      S3LocationUri: m.s3.locationUri,
      S3BucketRegion: m.s3.bucketRegion,
      S3BucketAccessRoleArn: m.s3.accessRoleArn,
    },
  }
}

function toWireImport(x: LakeImport, withStats = true): Wire {
  const s = x.info.statistics
  return {
    ImportId: x.info.importId,
    Destinations: x.meta.destinations,
    ImportSource: importSourceOf(x.meta),
    ...(x.meta.startEventTime ? { StartEventTime: toDate(x.meta.startEventTime) } : {}),
    ...(x.meta.endEventTime ? { EndEventTime: toDate(x.meta.endEventTime) } : {}),
    ImportStatus: x.info.status,
    CreatedTimestamp: toDate(x.info.createdAt),
    UpdatedTimestamp: toDate(x.info.updatedAt),
    ...(withStats
      ? {
          ImportStatistics: {
            PrefixesFound: x.info.listingComplete ? 1 : 0,
            PrefixesCompleted: x.info.status === 'COMPLETED' ? 1 : 0,
            FilesCompleted: s.filesCompleted,
            EventsCompleted: s.eventsImported,
            FailedEntries: s.filesFailed + s.recordsRejected,
          },
        }
      : {}),
  }
}

/** CloudTrail Lake imports (StartImport etc.) over OpenTrail's importer. */
export function lakeImportOperations(
  imports: LakeImports,
  operatorAccountId: () => string | undefined,
): OperationTable {
  const anyStore = () => '*'
  return {
    StartImport: {
      readOnly: false,
      resource: anyStore,
      async handle(input, ctx) {
        if (input['ImportId'] !== undefined) {
          throw InvalidParameterException(
            'Restarting an import by ImportId is not supported; start it again with the same source (it resumes).',
          )
        }
        const src = (input['ImportSource'] as Wire | undefined)?.['S3'] as Wire | undefined
        if (!src) throw InvalidParameterException('ImportSource.S3 is required.')
        const start = input['StartEventTime'] instanceof Date ? input['StartEventTime'] : undefined
        const end = input['EndEventTime'] instanceof Date ? input['EndEventTime'] : undefined
        const x = await imports.start(
          scope(ctx),
          {
            destinations: Array.isArray(input['Destinations'])
              ? (input['Destinations'] as string[])
              : [],
            s3: {
              locationUri: str(src['S3LocationUri']) ?? '',
              bucketRegion: str(src['S3BucketRegion']) ?? ctx.region,
              accessRoleArn: str(src['S3BucketAccessRoleArn']) ?? '',
            },
            ...(start ? { startEventTime: start } : {}),
            ...(end ? { endEventTime: end } : {}),
          },
          operatorAccountId(),
        )
        return toWireImport(x, false)
      },
    },
    GetImport: {
      readOnly: true,
      resource: anyStore,
      async handle(input, ctx) {
        return toWireImport(imports.get(scope(ctx), str(input['ImportId']) ?? ''))
      },
    },
    ListImports: {
      readOnly: true,
      resource: anyStore,
      async handle(input, ctx) {
        let all = imports.list(scope(ctx))
        const dest = str(input['Destination'])
        if (dest)
          all = all.filter((x) =>
            x.meta.destinations.some((d) => d === dest || d.endsWith(`/${dest}`)),
          )
        const status = str(input['ImportStatus'])
        if (status) all = all.filter((x) => x.info.status === status)
        const p = page(all, 'ListImports', [ctx.accountId, dest, status], input)
        return {
          Imports: p.items.map((x) => {
            const w = toWireImport(x, false)
            return {
              ImportId: w['ImportId'],
              ImportStatus: w['ImportStatus'],
              Destinations: w['Destinations'],
              CreatedTimestamp: w['CreatedTimestamp'],
              UpdatedTimestamp: w['UpdatedTimestamp'],
            }
          }),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
    ListImportFailures: {
      readOnly: true,
      resource: anyStore,
      async handle(input, ctx) {
        const id = str(input['ImportId']) ?? ''
        const failures = await imports.failures(scope(ctx), id)
        const p = page(failures, 'ListImportFailures', [id], input)
        return {
          Failures: p.items.map((f) => ({
            Location: f.location,
            Status: 'FAILED',
            ErrorType: f.errorType,
            ErrorMessage: f.errorMessage,
            LastUpdatedTime: toDate(f.time),
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
    StopImport: {
      readOnly: false,
      resource: anyStore,
      async handle(input, ctx) {
        return toWireImport(await imports.stop(scope(ctx), str(input['ImportId']) ?? ''))
      },
    },
  }
}
