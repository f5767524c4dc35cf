/**
 * @module objectstore/local-buckets
 * The bucket half of the local store: a bucket is a directory under the store's root with a
 * `%bucket.json` (creation date, region, owner, settings). Create (atomically, once), list, info,
 * delete when empty, and the settings S3's bucket configuration calls read and patch. The object
 * store (local-store.ts) extends this class.
 */
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyedRwLock } from './keyed-rw-lock.js'
import { FileCommits, fsyncDir, statOrUndefined } from './local-files.js'
import { bucketPath, compareKeys, validBucketName } from './local-keys.js'
import { hasAnyKey } from './local-listing.js'
import { MetadataFiles, type BucketFile } from './local-metadata.js'
import {
  BucketNotEmptyError,
  NoSuchBucketError,
  type BucketAdmin,
  type BucketConfiguration,
  type BucketConfigurationPatch,
  type BucketInfo,
  type BucketSettings,
} from './port.js'

export class LocalBucketStore implements BucketSettings, BucketAdmin {
  protected readonly files: FileCommits
  protected readonly metadata: MetadataFiles
  /** Per bucket: commits are exclusive, opens for reading shared. */
  protected readonly locks = new KeyedRwLock()

  protected constructor(readonly root: string) {
    this.files = new FileCommits(root)
    this.metadata = new MetadataFiles(this.files)
  }

  /** The bucket's directory; throws InvalidBucketNameError, NoSuchBucketError. */
  protected async requireBucket(bucket: string): Promise<string> {
    const dir = bucketPath(this.root, bucket)
    const st = await statOrUndefined(dir)
    if (!st?.isDirectory())
      throw new NoSuchBucketError(`The specified bucket does not exist: ${bucket}`)
    return dir
  }

  async bucketExists(bucket: string): Promise<boolean> {
    if (!validBucketName(bucket)) return false
    const st = await statOrUndefined(join(this.root, bucket))
    return st?.isDirectory() ?? false
  }

  async createBucket(bucket: string): Promise<void> {
    await this.createBucketIfAbsent(bucket)
  }

  /** Creates the bucket; returns false (and changes nothing) when it already exists. */
  async createBucketIfAbsent(
    bucket: string,
    info: { region?: string; ownerAccountId?: string } = {},
  ): Promise<boolean> {
    const dir = bucketPath(this.root, bucket)
    return this.locks.run(bucket, async () => {
      try {
        await mkdir(dir, { mode: 0o755 })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw err
      }
      await this.metadata.writeBucketFile(dir, {
        creationDate: new Date().toISOString(),
        ...(info.region ? { region: info.region } : {}),
        ...(info.ownerAccountId ? { ownerAccountId: info.ownerAccountId } : {}),
        settings: {},
      })
      await fsyncDir(this.root)
      return true
    })
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const out: BucketInfo[] = []
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || !validBucketName(e.name)) continue
      out.push(this.infoOf(e.name, await this.metadata.readBucketFile(join(this.root, e.name))))
    }
    return out.sort((a, b) => compareKeys(a.name, b.name))
  }

  /** Throws NoSuchBucketError. */
  async bucketInfo(bucket: string): Promise<BucketInfo> {
    return this.infoOf(bucket, await this.metadata.readBucketFile(await this.requireBucket(bucket)))
  }

  private infoOf(name: string, f: BucketFile): BucketInfo {
    return {
      name,
      creationDate: new Date(f.creationDate),
      ...(f.region ? { region: f.region } : {}),
      ...(f.ownerAccountId ? { ownerAccountId: f.ownerAccountId } : {}),
    }
  }

  async deleteBucket(bucket: string): Promise<void> {
    const dir = await this.requireBucket(bucket)
    await this.locks.run(bucket, async () => {
      if (await hasAnyKey(dir))
        throw new BucketNotEmptyError('The bucket you tried to delete is not empty')
      await rm(dir, { recursive: true, force: true })
      await fsyncDir(this.root)
    })
  }

  async getBucketSettings(bucket: string): Promise<BucketConfiguration> {
    const dir = await this.requireBucket(bucket)
    return (await this.metadata.readBucketFile(dir)).settings
  }

  async putBucketSettings(
    bucket: string,
    patch: BucketConfigurationPatch,
  ): Promise<BucketConfiguration> {
    const dir = await this.requireBucket(bucket)
    return this.locks.run(bucket, async () => {
      const file = await this.metadata.readBucketFile(dir)
      const settings: Record<string, unknown> = { ...file.settings }
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete settings[k]
        else if (v !== undefined) settings[k] = v
      }
      file.settings = settings
      await this.metadata.writeBucketFile(dir, file)
      return file.settings
    })
  }
}
