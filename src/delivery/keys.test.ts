import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  digestFileKey,
  digestFileStamp,
  digestFolder,
  logFileKey,
  logFileStamp,
  uniquePart,
} from './keys.js'

const at = new Date('2024-03-05T07:08:09.123Z')

describe('delivery keys (AWS S3 layout)', () => {
  it('formats the log and digest timestamps', () => {
    assert.equal(logFileStamp(at), '20240305T0708Z')
    assert.equal(digestFileStamp(at), '20240305T070809Z')
  })

  it('builds a log file key with and without a prefix', () => {
    const u = uniquePart('seed')
    assert.match(u, /^[A-Za-z0-9]{16}$/)
    assert.equal(
      logFileKey({ accountId: '111122223333', region: 'eu-west-1' }, at, u),
      `AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T0708Z_${u}.json.gz`,
    )
    assert.equal(
      logFileKey({ prefix: 'team/a/', accountId: '111122223333', region: 'us-east-1' }, at, u),
      `team/a/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T0708Z_${u}.json.gz`,
    )
    assert.equal(
      logFileKey(
        { organizationId: 'o-abc123', accountId: '111122223333', region: 'us-east-1' },
        at,
        u,
      ),
      `AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T0708Z_${u}.json.gz`,
    )
  })

  it('derives the unique part deterministically from its seed', () => {
    assert.equal(uniquePart('a/b/1'), uniquePart('a/b/1'))
    assert.notEqual(uniquePart('a/b/1'), uniquePart('a/b/2'))
  })

  it('builds a digest key whose last 24 characters carry the end time (as the AWS CLI parses it)', () => {
    const key = digestFileKey(
      { prefix: 'p', accountId: '111122223333', region: 'eu-west-1' },
      'my-trail',
      'us-east-1',
      at,
    )
    assert.equal(
      key,
      'p/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/03/05/111122223333_CloudTrail-Digest_eu-west-1_my-trail_us-east-1_20240305T070809Z.json.gz',
    )
    assert.equal(key.slice(-24, -8), '20240305T070809Z')
    assert.ok(
      key.startsWith(digestFolder({ prefix: 'p', accountId: '111122223333', region: 'eu-west-1' })),
    )
  })
})
