import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publicKeyFromPkcs1Der, signHex, verifyHex } from './digest-file.js'
import { SigningKeyStore } from './keystore.js'

describe('signing key store', () => {
  it('creates a key per region, rotates on schedule, keeps private keys encrypted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-keys-'))
    try {
      let t = Date.parse('2024-01-01T00:00:00Z')
      const clock = { now: () => new Date(t) }
      const ks = await SigningKeyStore.open(dir, clock, { rotationSeconds: 3600 })
      const a = await ks.current('us-east-1')
      const again = await ks.current('us-east-1')
      assert.equal(a.info.fingerprint, again.info.fingerprint)
      const b = await ks.current('eu-west-1')
      assert.notEqual(a.info.fingerprint, b.info.fingerprint)

      const data = Buffer.from('x')
      assert.ok(
        verifyHex(publicKeyFromPkcs1Der(a.info.publicKeyDer), data, signHex(a.privateKey, data)),
      )

      t += 3600_000
      const rotated = await ks.current('us-east-1')
      assert.notEqual(rotated.info.fingerprint, a.info.fingerprint)
      const all = ks.publicKeys('us-east-1', new Date(0), new Date(t + 1))
      assert.deepEqual(
        all.map((k) => k.fingerprint),
        [a.info.fingerprint, rotated.info.fingerprint],
      )
      assert.equal(all[0]!.validityEnd.getTime(), t)
      // Only the current key overlaps a window after the rotation.
      assert.deepEqual(
        ks
          .publicKeys('us-east-1', new Date(t + 1000), new Date(t + 2000))
          .map((k) => k.fingerprint),
        [rotated.info.fingerprint],
      )

      const file = await readFile(join(dir, 'signing-keys.json'), 'utf8')
      assert.doesNotMatch(file, /PRIVATE KEY/)
      assert.equal((await stat(join(dir, 'master.key'))).mode & 0o777, 0o600)
      assert.equal((await stat(join(dir, 'signing-keys.json'))).mode & 0o777, 0o600)

      // A reopened store decrypts the same private key (eu-west-1's key is not due yet).
      const reopened = await SigningKeyStore.open(dir, clock, { rotationSeconds: 7200 })
      const k = await reopened.current('eu-west-1')
      assert.equal(k.info.fingerprint, b.info.fingerprint)
      assert.ok(
        verifyHex(publicKeyFromPkcs1Der(b.info.publicKeyDer), data, signHex(k.privateKey, data)),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
