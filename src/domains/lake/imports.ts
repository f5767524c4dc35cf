/**
 * @module domains/lake/imports
 * CloudTrail Lake imports (StartImport, GetImport, ListImports, ListImportFailures, StopImport on
 * the CloudTrail API): trail log files copied into event data stores, with a time window. The
 * reading, parsing, validation, manifests and resume are OpenTrail's importer (src/import, used as
 * it is); each Lake import gets its own ImportService whose ImportTarget writes to the destination
 * stores only (not to the event log, Event History or trails), deduplicated by eventID per store.
 *
 * Sources: `s3://bucket/prefix` (read with the server's default AWS credentials;
 * `S3BucketRegion` is used, `S3BucketAccessRoleArn` is recorded but no role is assumed) and, beyond
 * AWS, a path on the server (`/dir` or `file:///dir`), for principals of the server's own account.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { CloudTrailRecord } from '../../events/record.js'
import type { LakeEngine } from '../../lake/engine.js'
import { ImportService } from '../../import/service.js'
import type { ImportBatch, ImportTarget, WriteResult } from '../../import/target.js'
import type { ImportInfo } from '../../import/types.js'
import type { Clock } from '../../shared/clock.js'
import { awsError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import type { Logger } from '../../telemetry/logger.js'
import {
  InactiveEventDataStoreException,
  InvalidParameterException,
  type EventDataStore,
  type LakeService,
  type Scope,
} from './service.js'

export const ImportNotFoundException = awsError('ImportNotFoundException')
export const InvalidImportSourceException = awsError('InvalidImportSourceException')
export const AccountHasOngoingImportException = awsError('AccountHasOngoingImportException')
export const InvalidEventDataStoreCategoryException = awsError(
  'InvalidEventDataStoreCategoryException',
)

export interface LakeImportMeta {
  importId: string
  accountId: string
  region: string
  destinations: string[]
  s3: { locationUri: string; bucketRegion: string; accessRoleArn: string }
  startEventTime?: string
  endEventTime?: string
}

export interface LakeImport {
  meta: LakeImportMeta
  info: ImportInfo
}

/** Writes an import's events to its destination stores, each event once per store. */
class StoreTarget implements ImportTarget {
  readonly description: string
  private seen = new Map<string, Set<string>>()

  constructor(
    private readonly engine: LakeEngine,
    private readonly stores: () => EventDataStore[],
  ) {
    this.description = 'the destination event data stores'
  }

  retentionDays(): number | undefined {
    const days = this.stores().map((s) => s.retentionPeriod)
    return days.length > 0 ? Math.min(...days) : undefined
  }

  async ready(): Promise<void> {
    for (const st of this.stores()) {
      if (this.seen.has(st.id)) continue
      this.seen.set(st.id, new Set(await this.engine.eventIds(st.id)))
    }
  }

  async write(batch: ImportBatch): Promise<WriteResult> {
    await this.ready()
    const rows: { storeId: string; line: string }[] = []
    let written = 0
    let duplicates = 0
    const stores = this.stores()
    for (let i = 0; i < batch.length; i++) {
      const record: CloudTrailRecord = batch.record(i)
      let fresh = false
      let line: string | undefined
      for (const st of stores) {
        const ids = this.seen.get(st.id)!
        if (ids.has(record.eventID)) continue
        ids.add(record.eventID)
        // JSON allows a raw line break only as whitespace: the text stays one line without it.
        line ??= batch.text(i).replace(/[\r\n]/g, ' ')
        rows.push({ storeId: st.id, line })
        fresh = true
      }
      if (fresh) written++
      else duplicates++
    }
    if (rows.length > 0) await this.engine.append(rows)
    return { written, duplicates }
  }
}

export class LakeImports {
  private readonly imports = new Map<string, { meta: LakeImportMeta; service: ImportService }>()

  private constructor(
    private readonly dir: string,
    private readonly lake: LakeService,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  static async open(o: { dir: string; lake: LakeService; logger: Logger; clock: Clock }) {
    const svc = new LakeImports(o.dir, o.lake, o.logger, o.clock)
    await mkdir(o.dir, { recursive: true, mode: 0o700 })
    for (const name of await readdir(o.dir)) {
      const meta = await readJsonFile<LakeImportMeta>(join(o.dir, name, 'lake-import.json'))
      if (!meta) continue
      svc.imports.set(meta.importId, { meta, service: await svc.serviceFor(name, meta) })
    }
    return svc
  }

  private async serviceFor(name: string, meta: LakeImportMeta): Promise<ImportService> {
    const scope = { accountId: meta.accountId, region: meta.region }
    const stores = () =>
      meta.destinations.flatMap((d) => {
        try {
          const st = this.lake.find(scope, d)
          return st.status === 'PENDING_DELETION' ? [] : [st]
        } catch {
          return []
        }
      })
    return ImportService.open({
      dir: join(this.dir, name, 'jobs'),
      target: new StoreTarget(this.lake.engine, stores),
      logger: this.logger,
      clock: this.clock,
      parseWorkers: 0,
    })
  }

  async start(
    scope: Scope,
    input: {
      destinations: string[]
      s3: LakeImportMeta['s3']
      startEventTime?: Date
      endEventTime?: Date
    },
    operatorAccountId: string | undefined,
  ): Promise<LakeImport> {
    if (input.destinations.length < 1) {
      throw InvalidParameterException('Destinations must name at least one event data store.')
    }
    const destinations = input.destinations.map((d) => {
      const st = this.lake.find(scope, d)
      if (st.status === 'PENDING_DELETION') {
        throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
      }
      const cats = st.advancedEventSelectors.flatMap((s) =>
        s.fieldSelectors.filter((f) => f.field === 'eventCategory').flatMap((f) => f.equals ?? []),
      )
      if (cats.length > 0 && !cats.some((c) => c === 'Management' || c === 'Data')) {
        throw InvalidEventDataStoreCategoryException(
          `Event data store ${st.arn} does not collect CloudTrail events.`,
        )
      }
      return st.arn
    })
    const uri = input.s3.locationUri
    const local = uri.startsWith('file://') ? uri.slice('file://'.length) : uri
    const isLocal = local.startsWith('/')
    if (!isLocal && !/^s3:\/\/[^/]+/.test(uri)) {
      throw InvalidImportSourceException(`${uri} is not an s3://bucket/prefix URI.`)
    }
    if (isLocal && scope.accountId !== operatorAccountId) {
      throw InvalidImportSourceException(
        'Only principals of the server’s own account may import from a path on the server.',
      )
    }
    if (
      input.startEventTime &&
      input.endEventTime &&
      input.startEventTime.getTime() > input.endEventTime.getTime()
    ) {
      throw InvalidParameterException('StartEventTime must not be after EndEventTime.')
    }
    for (const { meta, service } of this.imports.values()) {
      const info = service.list()[0]
      if (
        meta.accountId === scope.accountId &&
        info &&
        (info.status === 'INITIALIZING' || info.status === 'IN_PROGRESS')
      ) {
        throw AccountHasOngoingImportException(
          `Import ${meta.importId} is still running; wait for it or stop it.`,
        )
      }
    }
    const name = randomUUID()
    const meta: LakeImportMeta = {
      importId: '',
      accountId: scope.accountId,
      region: scope.region,
      destinations,
      s3: input.s3,
      ...(input.startEventTime ? { startEventTime: input.startEventTime.toISOString() } : {}),
      ...(input.endEventTime ? { endEventTime: input.endEventTime.toISOString() } : {}),
    }
    await mkdir(join(this.dir, name), { recursive: true, mode: 0o700 })
    const service = await this.serviceFor(name, meta)
    let info: ImportInfo
    try {
      info = await service.start(
        {
          source: isLocal ? local : uri,
          ...(input.startEventTime ? { startTime: input.startEventTime } : {}),
          ...(input.endEventTime ? { endTime: input.endEventTime } : {}),
          olderThanRetention: 'skip',
          ...(isLocal ? {} : { s3Region: input.s3.bucketRegion }),
        },
        { accountId: scope.accountId },
      )
    } catch (err) {
      await service.close()
      throw InvalidImportSourceException((err as Error).message)
    }
    meta.importId = info.importId
    await writeJsonFileAtomic(join(this.dir, name, 'lake-import.json'), meta, 0o600)
    this.imports.set(info.importId, { meta, service })
    return { meta, info }
  }

  private entry(scope: Scope, id: string) {
    const e = this.imports.get(id)
    if (!e || e.meta.accountId !== scope.accountId) {
      throw ImportNotFoundException(`The import ${id} was not found.`)
    }
    return e
  }

  get(scope: Scope, id: string): LakeImport {
    const e = this.entry(scope, id)
    return { meta: e.meta, info: e.service.get(id)! }
  }

  list(scope: Scope): LakeImport[] {
    return [...this.imports.values()]
      .filter((e) => e.meta.accountId === scope.accountId)
      .map((e) => ({ meta: e.meta, info: e.service.get(e.meta.importId)! }))
      .filter((x) => x.info !== undefined)
      .sort((a, b) => (a.info.createdAt < b.info.createdAt ? 1 : -1))
  }

  async failures(scope: Scope, id: string) {
    return this.entry(scope, id).service.failures(id)
  }

  async stop(scope: Scope, id: string): Promise<LakeImport> {
    const e = this.entry(scope, id)
    return { meta: e.meta, info: await e.service.stop(id) }
  }

  /** Waits for an import to finish (tests, CLI). */
  async wait(scope: Scope, id: string): Promise<LakeImport> {
    const e = this.entry(scope, id)
    return { meta: e.meta, info: await e.service.wait(id) }
  }

  async close(): Promise<void> {
    for (const e of this.imports.values()) await e.service.close()
  }
}
