import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeAwsChunked,
  decodePayload,
  newDigest,
  signingKey,
  type ChunkSigning,
} from './payload.js'

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex')

async function* from(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')
}

async function drain(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const c of it) out.push(c)
  return Buffer.concat(out)
}

describe('checksums', () => {
  it('match the standard check values for "123456789"', () => {
    const v = (alg: Parameters<typeof newDigest>[0]) => {
      const d = newDigest(alg)
      d.update(Buffer.from('123456789'))
      return hex(d.digest())
    }
    assert.equal(v('CRC32'), 'cbf43926')
    assert.equal(v('CRC32C'), 'e3069283')
    assert.equal(v('CRC64NVME'), 'ae8b14860a799888')
    assert.equal(v('SHA1'), 'f7c3bc1d808e04732adf679965ccc34ca7ae3441')
  })
})

describe('aws-chunked', () => {
  // AWS's published example ("Transferring payload in multiple chunks"): 66560 bytes of 'a' in
  // a 65536-byte chunk and a 1024-byte chunk, signed with the documentation's example key.
  const signing: ChunkSigning = {
    seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    signingKey: signingKey(
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '20130524',
      'us-east-1',
      's3',
    ),
  }
  const sig1 = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'
  const sig2 = '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'
  const sig3 = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'
  const body = (s1 = sig1) =>
    Buffer.concat([
      Buffer.from(`10000;chunk-signature=${s1}\r\n`),
      Buffer.alloc(65536, 'a'),
      Buffer.from(`\r\n400;chunk-signature=${sig2}\r\n`),
      Buffer.alloc(1024, 'a'),
      Buffer.from(`\r\n0;chunk-signature=${sig3}\r\n\r\n`),
    ])

  it('verifies AWS example chunk signatures, whatever the network split', async () => {
    const b = body()
    for (const split of [1, 7, 100, 65600, b.length]) {
      const parts: Buffer[] = []
      for (let i = 0; i < b.length; i += split) parts.push(b.subarray(i, i + split))
      const out = await drain(decodeAwsChunked(from(...parts), { signing, trailers: {} }))
      assert.deepEqual(out, Buffer.alloc(66560, 'a'))
    }
  })

  it('rejects a tampered chunk or signature', async () => {
    const tampered = body()
    tampered[100] = 'b'.charCodeAt(0)
    await assert.rejects(
      drain(decodeAwsChunked(from(tampered), { signing, trailers: {} })),
      /SignatureDoesNotMatch/,
    )
    await assert.rejects(
      drain(decodeAwsChunked(from(body(sig2)), { signing, trailers: {} })),
      /SignatureDoesNotMatch/,
    )
  })

  it('decodes unsigned chunks with a checksum trailer and checks the checksum', async () => {
    const crc = newDigest('CRC32')
    crc.update(Buffer.from('hello world'))
    const good = crc.digest()
    const make = (value: string) =>
      decodePayload(
        from('5\r\nhello\r\n6\r\n world\r\n0\r\n', `x-amz-checksum-crc32:${value}\r\n\r\n`),
        {
          contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          decodedLength: 11,
          checksumHeaders: {},
          announced: ['CRC32'],
        },
      )
    const ok = make(good)
    assert.equal((await drain(ok.chunks)).toString(), 'hello world')
    assert.deepEqual(ok.verify({ size: 11, md5: '' }), { CRC32: good })
    const bad = make('AAAAAA==')
    await drain(bad.chunks)
    assert.throws(() => bad.verify({ size: 11, md5: '' }), /BadDigest/)
  })

  it('checks a hex x-amz-content-sha256 against the body', async () => {
    const p = decodePayload(from('abc'), {
      contentSha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      checksumHeaders: {},
      announced: [],
    })
    await drain(p.chunks)
    p.verify({ size: 3, md5: '900150983cd24fb0d6963f7d28e17f72' })
    const q = decodePayload(from('abd'), {
      contentSha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      checksumHeaders: {},
      announced: [],
    })
    await drain(q.chunks)
    assert.throws(() => q.verify({ size: 3, md5: '' }), /XAmzContentSHA256Mismatch/)
  })
})
