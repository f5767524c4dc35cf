/**
 * @module import/wiring
 * How the composition root plugs imports in: the dedupe index and its pipeline sink, the
 * ImportService writing to the pipeline, the API binding, and `imports/server.json`, which tells
 * `opentrail import --data-dir` that a live server owns the data directory (and at which URL).
 */
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ServiceBinding } from '../http/api.js'
import type { Pipeline } from '../pipeline/pipeline.js'
import { loadModel } from '../protocol/model.js'
import type { Clock } from '../shared/clock.js'
import { writeJsonFileAtomic } from '../shared/json-file.js'
import type { Logger } from '../telemetry/logger.js'
import { IMPORT_MODEL_URL, IMPORT_TARGET_PREFIX, importOperations } from './api.js'
import { DedupeIndex, DedupeSink } from './dedupe.js'
import { ImportService } from './service.js'
import { PipelineTarget } from './target.js'

export interface Imports {
  service: ImportService
  /** Add to the pipeline before it starts. */
  sink: DedupeSink
  binding(operatorAccountId: () => string | undefined): ServiceBinding
  /** Records that this process serves `url` for the data directory. */
  announce(url: string): Promise<void>
  close(): Promise<void>
}

export async function openImports(o: {
  dataDir: string
  pipeline: Pipeline
  logger: Logger
  clock: Clock
  retentionDays: number
}): Promise<Imports> {
  const root = join(o.dataDir, 'imports')
  const index = await DedupeIndex.open(join(root, 'dedupe'))
  const sink = new DedupeSink(index)
  const service = await ImportService.open({
    dir: join(root, 'jobs'),
    target: new PipelineTarget(o.pipeline, index, () => o.retentionDays),
    logger: o.logger,
    clock: o.clock,
  })
  const ownerFile = join(root, 'server.json')
  let announced = false
  return {
    service,
    sink,
    binding(operatorAccountId) {
      const model = loadModel(IMPORT_MODEL_URL)
      return {
        eventSource: 'cloudtrail.amazonaws.com',
        iamPrefix: 'cloudtrail',
        signingName: 'cloudtrail',
        targetPrefixes: [IMPORT_TARGET_PREFIX],
        model,
        operations: importOperations(service, { operatorAccountId }),
      }
    },
    async announce(url) {
      await writeJsonFileAtomic(ownerFile, { pid: process.pid, url })
      announced = true
    },
    async close() {
      await service.close()
      if (announced) await rm(ownerFile, { force: true })
    },
  }
}

/** The live server that owns `dataDir`, if any (its pid is running). */
export function serverOwning(dataDir: string): { pid: number; url: string } | undefined {
  let owner: { pid: number; url: string }
  try {
    owner = JSON.parse(readFileSync(join(dataDir, 'imports', 'server.json'), 'utf8')) as {
      pid: number
      url: string
    }
  } catch {
    return undefined
  }
  if (!Number.isInteger(owner.pid) || owner.pid === process.pid) return undefined
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined
  }
  return owner
}
