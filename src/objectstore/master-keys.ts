/**
 * @module objectstore/master-keys
 * OpenTrail's own KMS for encryption at rest in the local object store: named 256-bit master keys,
 * created on first use, kept sealed under the root key (`<keys>/master.key`, see
 * objectstore/sealed) in `<keys>/kms-keys.json` (mode 0600), each bound to its name.
 *
 * A master key is named by the KmsKeyId exactly as the object records it: a trail's KmsKeyId is
 * recorded as the full key or alias ARN, an S3 PutObject's `x-amz-server-side-encryption-aws-kms-key-id`
 * as given, and SSE-KMS without a key id as `aws/s3`. Master keys never leave the process: they
 * only wrap and unwrap per-object data keys (AES-256-GCM, the key name as associated data).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Mutex } from '../delivery/mutex.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { openRootKey, seal, unseal, type SealedBox } from './sealed.js'

interface StoredMasterKey {
  name: string
  createdAt: string
  key: SealedBox
}

interface KeyFile {
  version: 1
  keys: StoredMasterKey[]
}

/** A data key: the plaintext to encrypt one object with, and its wrapped form to store beside it. */
export interface DataKey {
  plaintext: Buffer
  wrapped: SealedBox
}

/** The object names a master key that this key store does not hold (or its wrap was altered). */
export class KmsKeyUnavailableError extends Error {
  override name = 'KMS.NotFoundException'
}

export class MasterKeyStore {
  private readonly mutex = new Mutex()
  private readonly plain = new Map<string, Buffer>()

  private constructor(
    private readonly file: string,
    private readonly root: Buffer,
    private keys: StoredMasterKey[],
  ) {}

  /** Opens (creating when absent) the master keys in `dir`, e.g. `<data-dir>/keys`. */
  static async open(dir: string): Promise<MasterKeyStore> {
    const root = await openRootKey(dir)
    const file = join(dir, 'kms-keys.json')
    const stored = (await readJsonFile<KeyFile>(file))?.keys ?? []
    return new MasterKeyStore(file, root, stored)
  }

  /** Names of the master keys created so far. */
  names(): string[] {
    return this.keys.map((k) => k.name)
  }

  /** A fresh data key wrapped by master key `name`, which is created on first use. */
  async generateDataKey(name: string, context: string): Promise<DataKey> {
    const master = await this.masterKey(name, true)
    const plaintext = randomBytes(32)
    return { plaintext, wrapped: seal(master, plaintext, `${name}\n${context}`) }
  }

  /** Unwraps a data key; throws KmsKeyUnavailableError when that is not possible. */
  async decryptDataKey(name: string, context: string, wrapped: SealedBox): Promise<Buffer> {
    const master = await this.masterKey(name, false)
    try {
      return unseal(master, wrapped, `${name}\n${context}`)
    } catch {
      throw new KmsKeyUnavailableError(
        `The data key of this object cannot be decrypted with KMS key ${name}.`,
      )
    }
  }

  private async masterKey(name: string, create: boolean): Promise<Buffer> {
    const cached = this.plain.get(name)
    if (cached) return cached
    return this.mutex.run(async () => {
      const again = this.plain.get(name)
      if (again) return again
      let k = this.keys.find((x) => x.name === name)
      if (!k) {
        if (!create) throw new KmsKeyUnavailableError(`KMS key ${name} does not exist.`)
        k = {
          name,
          createdAt: new Date().toISOString(),
          key: seal(this.root, randomBytes(32), name),
        }
        const keys = [...this.keys, k]
        await writeJsonFileAtomic(this.file, { version: 1, keys } satisfies KeyFile, 0o600)
        this.keys = keys
      }
      let master: Buffer
      try {
        master = unseal(this.root, k.key, name)
      } catch {
        throw new KmsKeyUnavailableError(`KMS key ${name} cannot be unsealed with this root key.`)
      }
      this.plain.set(name, master)
      return master
    })
  }
}

/**
 * The ARN that IAM policies name for a KMS key id as an object records it: an ARN as is; an alias
 * (`alias/x`, or `aws/s3` as S3 writes the default) or a key id (`key/…` or a bare UUID) as an ARN
 * in `region` and `accountId`.
 */
export function kmsKeyArn(keyId: string, region: string, accountId: string): string {
  if (keyId.startsWith('arn:')) return keyId
  const resource =
    keyId.startsWith('alias/') || keyId.startsWith('key/')
      ? keyId
      : keyId.startsWith('aws/')
        ? `alias/${keyId}`
        : `key/${keyId}`
  return `arn:aws:kms:${region}:${accountId}:${resource}`
}
