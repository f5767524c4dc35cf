/**
 * @module domains/lake/import-handlers
 * Wire mapping of the Lake import operations (StartImport, GetImport, ListImports,
 * ListImportFailures, StopImport) over OpenTrail's importer.
 */
import type { OperationTable } from '../../protocol/operation.js'
import { str } from '../trails/wire.js'
import type { LakeImport, LakeImports } from './imports.js'
import { InvalidParameterException } from './service.js'
import { page, scope, toDate, type Wire } from './wire.js'

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
