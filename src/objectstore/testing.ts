/**
 * @module objectstore/testing
 * A test fixture: a local object store in a fresh temporary directory (`<root>/buckets`), and the
 * removal of that directory afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalObjectStore, type LocalStoreOptions } from './local-store.js'

export interface TempLocalStore {
  /** The temporary directory; the store is at `<root>/buckets`. */
  root: string
  store: LocalObjectStore
  /** Deletes the temporary directory. */
  remove(): Promise<void>
}

/** Opens a local store in a new directory named `opentrail-<name>-…` under the OS temp dir. */
export async function tempLocalStore(
  name: string,
  opts: LocalStoreOptions = {},
): Promise<TempLocalStore> {
  const root = await mkdtemp(join(tmpdir(), `opentrail-${name}-`))
  const store = await LocalObjectStore.open(join(root, 'buckets'), opts)
  return { root, store, remove: () => rm(root, { recursive: true, force: true }) }
}
