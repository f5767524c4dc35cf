import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RequestContext } from '../protocol/operation.js'
import { publicKeyOperations } from './handlers.js'
import { SigningKeyStore } from './keystore.js'

describe('ListPublicKeys', () => {
  it('lists the region keys overlapping the range, as DER blobs with MD5 fingerprints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-lpk-'))
    try {
      let t = Date.parse('2024-01-01T00:00:00Z')
      const clock = { now: () => new Date(t) }
      const keys = await SigningKeyStore.open(dir, clock, { rotationSeconds: 3600 })
      const op = publicKeyOperations(keys)['ListPublicKeys']!
      const ctx = (region: string) =>
        ({ region, accountId: '111122223333', now: new Date(t) }) as unknown as RequestContext
      type Out = {
        PublicKeyList: { Value: Buffer; Fingerprint: string; ValidityEndTime: Date }[]
      }

      assert.deepEqual(((await op.handle({}, ctx('us-east-1'))) as Out).PublicKeyList, [])
      const first = await keys.current('us-east-1')
      t += 3600_000
      const second = await keys.current('us-east-1')
      await keys.current('eu-west-1')

      const now = (await op.handle({}, ctx('us-east-1'))) as Out
      assert.deepEqual(
        now.PublicKeyList.map((k) => k.Fingerprint),
        [first.info.fingerprint, second.info.fingerprint], // the old key ends exactly now
      )
      const later = (await op.handle(
        { StartTime: new Date(t + 1000), EndTime: new Date(t + 2000) },
        ctx('us-east-1'),
      )) as Out
      assert.deepEqual(
        later.PublicKeyList.map((k) => k.Fingerprint),
        [second.info.fingerprint],
      )
      assert.ok(Buffer.isBuffer(later.PublicKeyList[0]!.Value))
      await assert.rejects(
        op.handle({ StartTime: new Date(t), EndTime: new Date(t - 1) }, ctx('us-east-1')),
        { name: 'InvalidTimeRangeException' },
      )
      await assert.rejects(op.handle({ NextToken: 'bogus' }, ctx('us-east-1')), {
        name: 'InvalidTokenException',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
