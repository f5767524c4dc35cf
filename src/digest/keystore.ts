/**
 * @module digest/keystore
 * RSA-2048 signing key pairs for digest files, one current pair per region, rotated on a schedule.
 * Private keys are stored encrypted (AES-256-GCM, the fingerprint as associated data) under the
 * root key in `<keys>/master.key` (mode 0600, see objectstore/sealed); they are decrypted only in memory to sign
 * and are never returned by any API. Public keys (PKCS#1 DER) and their validity windows are what
 * ListPublicKeys returns.
 */
import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openRootKey, seal, unseal, type SealedBox } from '../objectstore/sealed.js'
import type { Clock } from '../shared/clock.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { Mutex } from '../delivery/mutex.js'
import { fingerprintOf } from './digest-file.js'

const generate = promisify(generateKeyPair)

export interface PublicKeyInfo {
  region: string
  fingerprint: string
  /** PKCS#1 RSAPublicKey, DER. */
  publicKeyDer: Buffer
  validityStart: Date
  /** When the key stopped (or, for the current key, is planned to stop) signing. */
  validityEnd: Date
}

interface StoredKey {
  region: string
  fingerprint: string
  publicKey: string
  privateKey: SealedBox
  validityStart: string
  /** Set when a newer key replaced this one. */
  retiredAt?: string
}

interface KeyFile {
  version: 1
  keys: StoredKey[]
}

export interface SigningKey {
  info: PublicKeyInfo
  privateKey: KeyObject
}

export class SigningKeyStore {
  private readonly mutex = new Mutex()
  private readonly decrypted = new Map<string, KeyObject>()

  private constructor(
    private readonly file: string,
    private readonly master: Buffer,
    private keys: StoredKey[],
    private readonly clock: Clock,
    private readonly rotationMs: number,
  ) {}

  /** Opens (creating when absent) the key store in `dir`, e.g. `<data-dir>/keys`. */
  static async open(
    dir: string,
    clock: Clock,
    opts: { rotationSeconds: number },
  ): Promise<SigningKeyStore> {
    const master = await openRootKey(dir)
    const file = join(dir, 'signing-keys.json')
    const stored = (await readJsonFile<KeyFile>(file))?.keys ?? []
    return new SigningKeyStore(file, master, stored, clock, opts.rotationSeconds * 1000)
  }

  /** The key that signs digests for `region` now, generating or rotating it when due. */
  current(region: string): Promise<SigningKey> {
    return this.mutex.run(async () => {
      const now = this.clock.now()
      let k = this.active(region)
      if (!k || now.getTime() - Date.parse(k.validityStart) >= this.rotationMs) {
        const fresh = await this.generate(region, now)
        const keys = this.keys.map((x) => (x === k ? { ...x, retiredAt: fresh.validityStart } : x))
        keys.push(fresh)
        await writeJsonFileAtomic(this.file, { version: 1, keys } satisfies KeyFile, 0o600)
        this.keys = keys
        k = fresh
      }
      return { info: this.toInfo(k), privateKey: this.privateKeyOf(k) }
    })
  }

  /** Public keys of `region` whose validity overlaps [start, end], oldest first. */
  publicKeys(region: string, start: Date, end: Date): PublicKeyInfo[] {
    return this.keys
      .filter((k) => k.region === region)
      .filter((k) => {
        const from = Date.parse(k.validityStart)
        const to = k.retiredAt ? Date.parse(k.retiredAt) : Number.POSITIVE_INFINITY
        return from <= end.getTime() && to >= start.getTime()
      })
      .map((k) => this.toInfo(k))
  }

  private active(region: string): StoredKey | undefined {
    return this.keys.filter((k) => k.region === region && !k.retiredAt).at(-1)
  }

  private toInfo(k: StoredKey): PublicKeyInfo {
    const start = new Date(k.validityStart)
    return {
      region: k.region,
      fingerprint: k.fingerprint,
      publicKeyDer: Buffer.from(k.publicKey, 'base64'),
      validityStart: start,
      validityEnd: k.retiredAt
        ? new Date(k.retiredAt)
        : new Date(start.getTime() + this.rotationMs),
    }
  }

  private async generate(region: string, now: Date): Promise<StoredKey> {
    const { publicKey, privateKey } = await generate('rsa', {
      modulusLength: 2048,
      publicExponent: 0x10001,
    })
    const der = publicKey.export({ type: 'pkcs1', format: 'der' })
    const fingerprint = fingerprintOf(der)
    const plain = privateKey.export({ type: 'pkcs8', format: 'der' })
    this.decrypted.set(fingerprint, privateKey)
    return {
      region,
      fingerprint,
      publicKey: der.toString('base64'),
      privateKey: seal(this.master, plain, fingerprint),
      validityStart: now.toISOString(),
    }
  }

  private privateKeyOf(k: StoredKey): KeyObject {
    const cached = this.decrypted.get(k.fingerprint)
    if (cached) return cached
    const der = unseal(this.master, k.privateKey, k.fingerprint)
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    this.decrypted.set(k.fingerprint, key)
    return key
  }
}
