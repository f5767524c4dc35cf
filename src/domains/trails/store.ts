/** @module domains/trails/store  Persistence port for trails, and its JSON-file adapter. */
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import { defaultEventSelectors, type Trail } from './model.js'

export interface TrailStore {
  all(): Trail[]
  save(trails: Trail[]): Promise<void>
}

/**
 * Fills in what files written by earlier versions lack (selectors were not kept in domain form).
 */
function upgrade(raw: Partial<Trail> & Record<string, unknown>): Trail {
  const selectors = raw.eventSelectors as unknown
  const domainForm =
    selectors !== null &&
    typeof selectors === 'object' &&
    !Array.isArray(selectors) &&
    'kind' in selectors
  return {
    ...(raw as Trail),
    eventSelectors: domainForm ? (selectors as Trail['eventSelectors']) : defaultEventSelectors(),
    hasCustomEventSelectors: raw.hasCustomEventSelectors ?? false,
    insightSelectors: Array.isArray(raw.insightSelectors) ? raw.insightSelectors : [],
    tags: raw.tags ?? [],
  }
}

export async function openJsonTrailStore(file: string): Promise<TrailStore> {
  let trails = ((await readJsonFile<Record<string, unknown>[]>(file)) ?? []).map(upgrade)
  return {
    all: () => trails,
    async save(next) {
      await writeJsonFileAtomic(file, next)
      trails = next
    },
  }
}
