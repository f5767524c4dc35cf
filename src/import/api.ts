/**
 * @module import/api
 * The import API on OpenTrail's JSON 1.1 endpoint (`POST /`, SigV4, target prefix
 * `OpenTrailImports_20250601`, operations StartImport, GetImport, ListImports, ListImportFailures,
 * StopImport, IAM actions `cloudtrail:<Operation>`). Its shapes follow CloudTrail Lake's imports;
 * the source is a path or s3:// URI read with the server's own access, so only principals of the
 * server's own account (the bootstrap account) may use it, and they may import any account's events.
 * Wire names are mapped here; the service sees domain shapes only.
 */
import { createHash } from 'node:crypto'
import type { OperationTable, RequestContext } from '../protocol/operation.js'
import { awsError, ServiceError } from '../shared/errors.js'
import { ImportError } from './job.js'
import type { ImportService } from './service.js'
import type { ImportFailure, ImportInfo, ImportRequest, OlderThanRetention } from './types.js'

export const IMPORT_TARGET_PREFIX = 'OpenTrailImports_20250601'
export const IMPORT_MODEL_URL = new URL('./opentrail-imports-2025-06-01.json', import.meta.url)

const ImportNotFoundException = awsError('ImportNotFoundException')
const InvalidImportSourceException = awsError('InvalidImportSourceException')
const InvalidParameterException = awsError('InvalidParameterException')
const AccessDeniedException = awsError('AccessDeniedException')
const InvalidNextTokenException = awsError('InvalidNextTokenException')

export interface ImportApiOptions {
  /** The server's own account: its principals may run imports. */
  operatorAccountId: () => string | undefined
}

export function importOperations(svc: ImportService, opts: ImportApiOptions): OperationTable {
  const arn = (ctx: RequestContext, id = '*') =>
    `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:import/${id}`
  const operator = (ctx: RequestContext) => ctx.accountId === opts.operatorAccountId()
  const find = (ctx: RequestContext, id: string): ImportInfo => {
    const info = svc.get(id)
    if (!info || !operator(ctx)) throw ImportNotFoundException(`Import ${id} was not found.`)
    return info
  }
  return {
    StartImport: {
      readOnly: false,
      resource: (_i, ctx) => arn(ctx),
      async handle(input, ctx) {
        if (!operator(ctx)) {
          throw AccessDeniedException(
            `Imports read files with the server's own access: only principals of the server's ` +
              `account ${opts.operatorAccountId() ?? ''} may start them.`,
          )
        }
        const req: ImportRequest = { source: input['Source'] as string }
        if (input['StartEventTime']) req.startTime = input['StartEventTime'] as Date
        if (input['EndEventTime']) req.endTime = input['EndEventTime'] as Date
        if (input['Accounts']) req.accounts = input['Accounts'] as string[]
        if (input['Regions']) req.regions = input['Regions'] as string[]
        if (input['ValidateDigests']) req.validateDigests = true
        if (input['OlderThanRetention'])
          req.olderThanRetention = input['OlderThanRetention'] as OlderThanRetention
        if (input['S3EndpointUrl']) req.s3EndpointUrl = input['S3EndpointUrl'] as string
        if (input['S3Region']) req.s3Region = input['S3Region'] as string
        if (input['Concurrency']) req.concurrency = input['Concurrency'] as number
        return describe(await wrap(() => svc.start(req, { accountId: ctx.accountId })))
      },
    },
    GetImport: {
      readOnly: true,
      resource: (input, ctx) => arn(ctx, input['ImportId'] as string),
      async handle(input, ctx) {
        return describe(find(ctx, input['ImportId'] as string))
      },
    },
    StopImport: {
      readOnly: false,
      resource: (input, ctx) => arn(ctx, input['ImportId'] as string),
      async handle(input, ctx) {
        const info = find(ctx, input['ImportId'] as string)
        return describe(await wrap(() => svc.stop(info.importId)))
      },
    },
    ListImports: {
      readOnly: true,
      resource: (_i, ctx) => arn(ctx),
      async handle(input, ctx) {
        const status = input['ImportStatus'] as string | undefined
        const all = operator(ctx) ? svc.list().filter((i) => !status || i.status === status) : []
        const page = paginate(all, input, `imports:${status ?? ''}`)
        return {
          Imports: page.items.map(describe),
          ...(page.next ? { NextToken: page.next } : {}),
        }
      },
    },
    ListImportFailures: {
      readOnly: true,
      resource: (input, ctx) => arn(ctx, input['ImportId'] as string),
      async handle(input, ctx) {
        const info = find(ctx, input['ImportId'] as string)
        const failures = await wrap(() => svc.failures(info.importId))
        const page = paginate(failures, input, `failures:${info.importId}`)
        return {
          Failures: page.items.map(failureItem),
          ...(page.next ? { NextToken: page.next } : {}),
        }
      },
    },
  }
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ServiceError || !(err instanceof ImportError)) throw err
    switch (err.code) {
      case 'ImportNotFound':
        throw ImportNotFoundException(err.message)
      case 'InvalidImportSource':
        throw InvalidImportSourceException(err.message)
      default:
        throw InvalidParameterException(err.message)
    }
  }
}

function paginate<T>(
  items: T[],
  input: Record<string, unknown>,
  scope: string,
): { items: T[]; next?: string } {
  const max = (input['MaxResults'] as number | undefined) ?? 100
  const fp = createHash('sha256').update(scope).digest('base64url').slice(0, 12)
  let offset = 0
  const token = input['NextToken'] as string | undefined
  if (token) {
    const m = /^(\d+)\.(.+)$/.exec(Buffer.from(token, 'base64url').toString())
    if (!m || m[2] !== fp) throw InvalidNextTokenException('The NextToken is not valid.')
    offset = Number(m[1])
  }
  const slice = items.slice(offset, offset + max)
  const end = offset + slice.length
  return {
    items: slice,
    ...(end < items.length ? { next: Buffer.from(`${end}.${fp}`).toString('base64url') } : {}),
  }
}

/** The wire shape of an import (ImportDescription). */
export function describe(i: ImportInfo): Record<string, unknown> {
  const s = i.statistics
  const r = i.request
  const filters: Record<string, unknown> = {}
  if (r.startTime) filters['StartEventTime'] = new Date(r.startTime)
  if (r.endTime) filters['EndEventTime'] = new Date(r.endTime)
  if (r.accounts) filters['Accounts'] = r.accounts
  if (r.regions) filters['Regions'] = r.regions
  return {
    ImportId: i.importId,
    Source: i.source,
    ImportStatus: i.status,
    Filters: filters,
    ValidateDigests: r.validateDigests ?? false,
    OlderThanRetention: r.olderThanRetention,
    ...(i.retentionDays !== undefined ? { RetentionDays: i.retentionDays } : {}),
    CreatedTimestamp: new Date(i.createdAt),
    UpdatedTimestamp: new Date(i.updatedAt),
    ListingComplete: i.listingComplete,
    ...(i.errorMessage ? { ErrorMessage: i.errorMessage } : {}),
    ImportStatistics: {
      FilesFound: s.filesFound,
      FilesCompleted: s.filesCompleted,
      FilesFailed: s.filesFailed,
      FilesSkipped: s.filesSkipped,
      BytesFound: s.bytesFound,
      BytesCompleted: s.bytesCompleted,
      EventsImported: s.eventsImported,
      DuplicatesSkipped: s.duplicatesSkipped,
      EventsFiltered: s.eventsFiltered,
      RecordsRejected: s.recordsRejected,
      EventsOlderThanRetention: s.eventsOlderThanRetention,
      FailedEntries: s.filesFailed + s.recordsRejected,
      RejectedByReason: s.rejectedByReason,
    },
  }
}

function failureItem(f: ImportFailure): Record<string, unknown> {
  return {
    Location: f.location,
    Kind: f.kind === 'file' ? 'FILE' : 'RECORD',
    ErrorType: f.errorType,
    ErrorMessage: f.errorMessage,
    ...(f.eventID ? { EventId: f.eventID } : {}),
    LastUpdatedTime: new Date(f.time),
  }
}
