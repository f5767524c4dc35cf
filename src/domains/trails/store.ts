/** @module domains/trails/store  Persistence port for trails, and its JSON-file adapter. */
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import type { Trail } from './model.js'

export interface TrailStore {
  all(): Trail[]
  save(trails: Trail[]): Promise<void>
}

export async function openJsonTrailStore(file: string): Promise<TrailStore> {
  let trails = (await readJsonFile<Trail[]>(file)) ?? []
  return {
    all: () => trails,
    async save(next) {
      await writeJsonFileAtomic(file, next)
      trails = next
    },
  }
}
