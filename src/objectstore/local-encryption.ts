/**
 * @module objectstore/local-encryption
 * Encryption at rest for the local store: AES-256-GCM under a fresh data key per object, the data
 * key wrapped by the master key the object's KmsKeyId names, both bound to `<bucket>/<key>`. A
 * cipher for a new object's body, and reading back: whole (authenticated before a byte is
 * served) or streamed for large objects (a failed tag check ends the stream with an error).
 */
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import { KmsKeyUnavailableError, type MasterKeyStore } from './master-keys.js'
import type { SealedBox } from './sealed.js'

/** How an object's bytes are encrypted (recorded in its sidecar). */
export interface ObjectEncryption {
  alg: 'AES256-GCM'
  /** The master key's name (the object's KmsKeyId). */
  keyId: string
  dataKey: SealedBox
  iv: string
  tag: string
}

/** An encrypted object whose ciphertext, tag or wrapped key does not authenticate. */
export class ObjectDecryptionError extends Error {
  override name = 'ObjectDecryptionError'
}

/** A cipher for a new object's body under a fresh data key of master key `keyId`. */
export async function encryptor(
  masterKeys: MasterKeyStore,
  bucket: string,
  key: string,
  keyId: string,
) {
  const context = `${bucket}/${key}`
  const dk = await masterKeys.generateDataKey(keyId, context)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', dk.plaintext, iv)
  cipher.setAAD(Buffer.from(context, 'utf8'))
  const info: Omit<ObjectEncryption, 'tag'> = {
    alg: 'AES256-GCM',
    keyId,
    dataKey: dk.wrapped,
    iv: iv.toString('base64'),
  }
  return { cipher, info }
}

/** A decipher for an encrypted object's body; throws ObjectDecryptionError. */
export async function decryptor(
  masterKeys: MasterKeyStore | undefined,
  bucket: string,
  key: string,
  sse: ObjectEncryption,
): Promise<DecipherGCM> {
  if (!masterKeys)
    throw new ObjectDecryptionError(
      `The object ${key} is encrypted at rest and this store was opened without its keys.`,
    )
  const context = `${bucket}/${key}`
  let dataKey: Buffer
  try {
    dataKey = await masterKeys.decryptDataKey(sse.keyId, context, sse.dataKey)
  } catch (err) {
    if (err instanceof KmsKeyUnavailableError) throw new ObjectDecryptionError(err.message)
    throw err
  }
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sse.iv, 'base64'))
  decipher.setAAD(Buffer.from(context, 'utf8'))
  decipher.setAuthTag(Buffer.from(sse.tag, 'base64'))
  return decipher
}

export async function decryptWhole(
  masterKeys: MasterKeyStore | undefined,
  bucket: string,
  key: string,
  sse: ObjectEncryption,
  data: Buffer,
): Promise<Buffer> {
  const decipher = await decryptor(masterKeys, bucket, key, sse)
  try {
    return Buffer.concat([decipher.update(data), decipher.final()])
  } catch {
    throw new ObjectDecryptionError(
      `The encrypted object ${key} does not authenticate: it was altered on disk.`,
    )
  }
}

/**
 * The bytes `start`..`end` (exclusive) of an encrypted file, decrypted as they stream. The stream
 * closes the file when it ends or is destroyed.
 */
export function decryptingStream(
  fh: FileHandle,
  decipher: DecipherGCM,
  key: string,
  start: number,
  end: number,
): Readable {
  let pos = 0
  const slice = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, start - pos)
      const to = Math.min(chunk.length, end - pos)
      pos += chunk.length
      done(null, to > from ? chunk.subarray(from, to) : undefined)
    },
  })
  const file = fh.createReadStream({ start: 0, autoClose: true })
  file.on('error', (err) => slice.destroy(err))
  decipher.on('error', () =>
    slice.destroy(new ObjectDecryptionError(`The encrypted object ${key} does not authenticate.`)),
  )
  file.pipe(decipher).pipe(slice)
  slice.on('close', () => file.destroy())
  return slice
}
