/**
 * @module objectstore/sealed
 * AES-256-GCM sealing under OpenTrail's root key, shared by the digest signing-key store and the
 * master-key store of the local object store's encryption at rest.
 *
 * The root key is 32 random bytes kept as hex in `<keys>/master.key` (mode 0600), created on first
 * use. Anything sealed under it is `{ iv, tag, data }` (base64), bound to a caller-chosen label as
 * associated data, so a sealed value cannot be moved to another name.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../shared/json-file.js'

export interface SealedBox {
  iv: string
  tag: string
  data: string
}

/** Reads (creating when absent) the root key of the key directory `dir`. */
export async function openRootKey(dir: string): Promise<Buffer> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, 'master.key')
  let key: Buffer
  try {
    key = Buffer.from((await readFile(path, 'utf8')).trim(), 'hex')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    key = randomBytes(32)
    await writeFileAtomic(path, key.toString('hex') + '\n', 0o600)
  }
  if (key.length !== 32) {
    throw new Error(`ERR_KEYSTORE_MASTER: ${path} must hold 32 bytes as hex`)
  }
  await chmod(path, 0o600)
  return key
}

export function seal(key: Buffer, plain: Buffer, label: string): SealedBox {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(label, 'utf8'))
  const data = Buffer.concat([cipher.update(plain), cipher.final()])
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  }
}

/** Throws when the box was altered or sealed under another key or label. */
export function unseal(key: Buffer, box: SealedBox, label: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'))
  decipher.setAAD(Buffer.from(label, 'utf8'))
  decipher.setAuthTag(Buffer.from(box.tag, 'base64'))
  return Buffer.concat([decipher.update(Buffer.from(box.data, 'base64')), decipher.final()])
}
