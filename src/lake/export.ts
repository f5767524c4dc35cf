/**
 * @module lake/export
 * The open storage layout: each event data store's events as zstd Parquet files in the object
 * store, one file per UTC day, in Hive-style partitions that Athena, Trino, Spark or DuckDB read
 * as they are:
 *
 *   s3://<bucket>/lake/account=<accountId>/eds=<storeId>/date=<YYYY-MM-DD>/events.parquet
 *
 * A run compares each store's events per day with what it exported last (persisted in
 * `<dataDir>/lake-export.json`) and rewrites only the days that changed (new events, retention),
 * deleting the files of days that no longer hold events. DuckDB's native table stays the store the
 * Lake queries (fastest); the Parquet copy is written hourly and on demand. See docs/lake.md for the
 * table definition.
 */
import type { ObjectStore } from '../objectstore/port.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import type { LakeEngine } from './engine.js'

export interface ExportedStore {
  id: string
  accountId: string
}

type State = Record<string, Record<string, number>>

export const partitionPrefix = (st: ExportedStore, prefix = 'lake/'): string =>
  `${prefix}account=${st.accountId}/eds=${st.id}/`

export class ParquetExporter {
  private running: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly engine: LakeEngine,
    private readonly store: ObjectStore,
    readonly bucket: string,
    private readonly stateFile: string,
    private readonly prefix = 'lake/',
  ) {}

  /** Exports the changed days of every store; runs are serialized. Returns files written. */
  run(stores: ExportedStore[]): Promise<{ written: number; deleted: number }> {
    const next = this.running.then(() => this.runOnce(stores))
    this.running = next.catch(() => undefined)
    return next
  }

  private async runOnce(stores: ExportedStore[]): Promise<{ written: number; deleted: number }> {
    const state = (await readJsonFile<State>(this.stateFile)) ?? {}
    if (!(await this.store.bucketExists(this.bucket))) await this.store.createBucket(this.bucket)
    let written = 0
    let deleted = 0
    for (const st of stores) {
      const done = (state[st.id] ??= {})
      const counts = await this.engine.dayCounts(st.id)
      const base = partitionPrefix(st, this.prefix)
      for (const [day, n] of [...counts].sort()) {
        if (done[day] === n) continue
        const body = await this.engine.exportDay(st.id, day)
        await this.store.putObject(this.bucket, `${base}date=${day}/events.parquet`, body, {
          contentType: 'application/vnd.apache.parquet',
        })
        done[day] = n
        written++
        await writeJsonFileAtomic(this.stateFile, state, 0o600)
      }
      for (const day of Object.keys(done)) {
        if (counts.has(day)) continue
        await this.store.deleteObject(this.bucket, `${base}date=${day}/events.parquet`)
        delete done[day]
        deleted++
      }
    }
    const live = new Set(stores.map((s) => s.id))
    for (const id of Object.keys(state)) if (!live.has(id)) delete state[id]
    await writeJsonFileAtomic(this.stateFile, state, 0o600)
    return { written, deleted }
  }

  /** Deletes every exported file of a store (when the store itself is deleted). */
  async remove(st: ExportedStore): Promise<void> {
    const base = partitionPrefix(st, this.prefix)
    let after: string | undefined
    do {
      const page = await this.store.listObjects(this.bucket, {
        prefix: base,
        ...(after ? { startAfter: after } : {}),
      })
      for (const o of page.objects) await this.store.deleteObject(this.bucket, o.key)
      after = page.nextStartAfter
    } while (after)
  }
}
