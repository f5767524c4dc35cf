import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, createHash } from 'node:crypto'
import {
  fingerprintOf,
  publicKeyFromPkcs1Der,
  signHex,
  stringToSign,
  verifyHex,
} from './digest-file.js'

describe('digest signing', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const der = publicKey.export({ type: 'pkcs1', format: 'der' })

  it('builds AWS string to sign, with "null" for the first digest of a chain', () => {
    const body = Buffer.from('{"a":1}')
    const s = stringToSign(
      {
        digestEndTime: '2024-01-01T01:00:00Z',
        digestS3Bucket: 'b',
        digestS3Object: 'k/x.json.gz',
        previousDigestSignature: null,
      },
      body,
    ).toString()
    const hash = createHash('sha256').update(body).digest('hex')
    assert.equal(s, `2024-01-01T01:00:00Z\nb/k/x.json.gz\n${hash}\nnull`)
    const s2 = stringToSign(
      {
        digestEndTime: '2024-01-01T01:00:00Z',
        digestS3Bucket: 'b',
        digestS3Object: 'k',
        previousDigestSignature: 'abcd',
      },
      body,
    ).toString()
    assert.ok(s2.endsWith('\nabcd'))
  })

  it('signs SHA256withRSA (hex) and verifies with the PKCS#1 DER public key', () => {
    const data = Buffer.from('to sign')
    const sig = signHex(privateKey, data)
    assert.match(sig, /^[0-9a-f]{512}$/)
    const pub = publicKeyFromPkcs1Der(der)
    assert.equal(verifyHex(pub, data, sig), true)
    assert.equal(verifyHex(pub, Buffer.from('other'), sig), false)
    assert.equal(verifyHex(pub, data, 'zz'), false)
  })

  it('fingerprints a key as the hex MD5 of its DER', () => {
    assert.equal(fingerprintOf(der), createHash('md5').update(der).digest('hex'))
    assert.match(fingerprintOf(der), /^[0-9a-f]{32}$/)
  })
})
