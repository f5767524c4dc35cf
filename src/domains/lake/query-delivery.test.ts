import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { publicKeyFromPkcs1Der, verifyHex } from '../../digest/digest-file.js'
import { SigningKeyStore } from '../../digest/keystore.js'
import { tempLocalStore, type TempLocalStore } from '../../objectstore/testing.js'
import {
  QueryResultDelivery,
  csvFiles,
  csvLine,
  parseDeliveryUri,
  policyAllowsCloudTrail,
  policyDeniesCloudTrail,
  resultFolder,
  signedString,
  type SignFile,
} from './query-delivery.js'

const ACCOUNT = '111122223333'
const QUERY = '0b5f2c1e-1111-4222-8333-444455556666'
const AT = new Date('2026-03-04T05:06:07.890Z')

describe('domains/lake/query-delivery', () => {
  let tmp: TempLocalStore
  let keys: SigningKeyStore
  before(async () => {
    tmp = await tempLocalStore('query-delivery')
    keys = await SigningKeyStore.open(
      join(tmp.root, 'keys'),
      { now: () => AT },
      {
        rotationSeconds: 86_400,
      },
    )
    await tmp.store.createBucket('results')
  })
  after(() => tmp.remove())

  it('parses s3:// URIs and refuses bad bucket names and prefixes', () => {
    assert.deepEqual(parseDeliveryUri('s3://results'), { bucket: 'results', prefix: '' })
    assert.deepEqual(parseDeliveryUri('s3://results/'), { bucket: 'results', prefix: '' })
    assert.deepEqual(parseDeliveryUri('s3://results/a/b/'), { bucket: 'results', prefix: 'a/b' })
    assert.throws(() => parseDeliveryUri('s3://a..b/x'), { code: 'InvalidS3BucketNameException' })
    assert.throws(() => parseDeliveryUri('https://results/x'), { code: 'ValidationException' })
    assert.throws(() => parseDeliveryUri('s3://Results'), { code: 'ValidationException' })
    assert.throws(() => parseDeliveryUri(`s3://results/${'p'.repeat(201)}`), {
      code: 'InvalidS3PrefixException',
    })
  })

  it("lays files out in AWS's folder", () => {
    assert.equal(
      resultFolder({ bucket: 'b', prefix: 'p/q' }, ACCOUNT, QUERY, AT),
      `p/q/AWSLogs/${ACCOUNT}/CloudTrail-Lake/Query/2026/03/04/${QUERY}/`,
    )
    assert.equal(
      resultFolder({ bucket: 'b', prefix: '' }, ACCOUNT, QUERY, AT),
      `AWSLogs/${ACCOUNT}/CloudTrail-Lake/Query/2026/03/04/${QUERY}/`,
    )
  })

  it('writes CSV with quoting, empty nulls and a header in every file', () => {
    assert.equal(csvLine(['a', null, 'b,c', 'say "hi"', 'x\ny']), 'a,,"b,c","say ""hi""","x\ny"\n')
    const files = csvFiles(['n'], [['1'], ['2'], ['3']], 6)
    assert.deepEqual(files, ['n\n1\n2\n', 'n\n3\n'])
    assert.deepEqual(csvFiles(['n'], []), ['n\n'])
  })

  it('delivers gzipped CSV and a sign file whose signature verifies', async () => {
    const d = new QueryResultDelivery(tmp.store, keys, 10)
    const rows = [
      ['DescribeTrails', '3'],
      ['x, "y"', null],
    ]
    const status = await d.deliver({
      target: { bucket: 'results', prefix: 'lake' },
      accountId: ACCOUNT,
      region: 'us-east-1',
      queryId: QUERY,
      completedAt: AT,
      columns: ['eventName', 'n'],
      rows,
    })
    assert.equal(status, 'SUCCESS')
    const folder = resultFolder({ bucket: 'results', prefix: 'lake' }, ACCOUNT, QUERY, AT)
    const listed = await tmp.store.listObjects('results', { prefix: folder })
    assert.deepEqual(listed.objects.map((o) => o.key.slice(folder.length)).sort(), [
      'result_1.csv.gz',
      'result_2.csv.gz',
      'result_sign.json',
    ])
    const sign = JSON.parse(
      (await tmp.store.getObject('results', folder + 'result_sign.json')).body.toString(),
    ) as SignFile
    assert.equal(sign.version, '1.0')
    assert.equal(sign.region, 'us-east-1')
    assert.equal(sign.hashAlgorithm, 'SHA-256')
    assert.equal(sign.signatureAlgorithm, 'SHA256withRSA')
    assert.equal(sign.queryCompleteTime, '2026-03-04T05:06:07Z')
    let csv = ''
    for (const f of sign.files) {
      const body = (await tmp.store.getObject('results', folder + f.fileName)).body
      assert.equal(f.fileHashValue, createHash('sha256').update(body).digest('hex'))
      const text = gunzipSync(body).toString()
      assert.ok(text.startsWith('eventName,n\n'))
      csv += text.slice('eventName,n\n'.length)
    }
    assert.equal(csv, 'DescribeTrails,3\n"x, ""y""",\n')
    const [pub] = keys.publicKeys('us-east-1', AT, AT)
    assert.equal(pub!.fingerprint, sign.publicKeyFingerprint)
    const key = publicKeyFromPkcs1Der(pub!.publicKeyDer)
    const data = Buffer.from(signedString(sign.files))
    assert.ok(verifyHex(key, data, sign.hashSignature))
    assert.ok(!verifyHex(key, Buffer.from(signedString(sign.files.slice(1))), sign.hashSignature))
  })

  it('reports RESOURCE_NOT_FOUND for a missing bucket and ACCESS_DENIED for a denying policy', async () => {
    const d = new QueryResultDelivery(tmp.store, keys)
    const req = {
      accountId: ACCOUNT,
      region: 'us-east-1',
      queryId: QUERY,
      completedAt: AT,
      columns: ['n'],
      rows: [['1']],
    }
    assert.equal(
      await d.deliver({ ...req, target: { bucket: 'nowhere', prefix: '' } }),
      'RESOURCE_NOT_FOUND',
    )
    await assert.rejects(d.check({ bucket: 'nowhere', prefix: '' }, 'k', ACCOUNT), {
      code: 'S3BucketDoesNotExistException',
    })
    await tmp.store.createBucket('locked')
    await tmp.store.putBucketSettings('locked', {
      policy: JSON.stringify({
        Statement: [
          {
            Effect: 'Deny',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::locked/*',
          },
        ],
      }),
    })
    assert.equal(
      await d.deliver({ ...req, target: { bucket: 'locked', prefix: '' } }),
      'ACCESS_DENIED',
    )
    await assert.rejects(d.check({ bucket: 'locked', prefix: '' }, 'k', ACCOUNT), {
      code: 'InsufficientS3BucketPolicyException',
    })
  })

  it("needs an Allow statement for another account's bucket", async () => {
    const d = new QueryResultDelivery(tmp.store, keys)
    await tmp.store.createBucketIfAbsent('theirs', { ownerAccountId: '999988887777' })
    await tmp.store.createBucketIfAbsent('mine', { ownerAccountId: ACCOUNT })
    const target = { bucket: 'theirs', prefix: '' }
    await d.check({ bucket: 'mine', prefix: '' }, 'k', ACCOUNT)
    await assert.rejects(d.check(target, 'k', ACCOUNT), {
      code: 'InsufficientS3BucketPolicyException',
    })
    const req = {
      target,
      accountId: ACCOUNT,
      region: 'us-east-1',
      queryId: QUERY,
      completedAt: AT,
      columns: ['n'],
      rows: [['1']],
    }
    assert.equal(await d.deliver(req), 'ACCESS_DENIED')
    // AWS's documented statement, for the querying account: allowed.
    const awsPolicy = (account: string) =>
      JSON.stringify({
        Statement: [
          {
            Sid: 'AWSCloudTrailLake1',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: ['s3:PutObject*', 's3:Abort*'],
            Resource: ['arn:aws:s3:::theirs', 'arn:aws:s3:::theirs/*'],
            Condition: {
              StringLike: {
                'aws:sourceAccount': account,
                'aws:sourceArn': `arn:aws:cloudtrail:us-east-1:${account}:eventdatastore/*`,
              },
            },
          },
        ],
      })
    await tmp.store.putBucketSettings('theirs', { policy: awsPolicy('123456789012') })
    await assert.rejects(d.check(target, 'k', ACCOUNT), {
      code: 'InsufficientS3BucketPolicyException',
    })
    await tmp.store.putBucketSettings('theirs', { policy: awsPolicy(ACCOUNT) })
    await d.check(target, 'k', ACCOUNT)
    assert.equal(await d.deliver(req), 'SUCCESS')
  })

  it('reads only unconditional Deny statements covering CloudTrail', () => {
    const doc = (s: Record<string, unknown>) =>
      JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*', ...s }] })
    const arn = 'arn:aws:s3:::b/AWSLogs/x'
    assert.equal(policyDeniesCloudTrail(doc({ Principal: '*' }), arn), true)
    assert.equal(policyDeniesCloudTrail(doc({ Principal: { AWS: '*' } }), arn), true)
    assert.equal(
      policyDeniesCloudTrail(doc({ Principal: { Service: ['cloudtrail.amazonaws.com'] } }), arn),
      true,
    )
    assert.equal(policyDeniesCloudTrail(doc({ Principal: { AWS: ACCOUNT } }), arn), false)
    assert.equal(
      policyDeniesCloudTrail(doc({ Principal: '*', Condition: { Bool: { x: 'y' } } }), arn),
      false,
    )
    assert.equal(
      policyDeniesCloudTrail(doc({ Principal: '*', Resource: 'arn:aws:s3:::b/other/*' }), arn),
      false,
    )
    assert.equal(policyDeniesCloudTrail(undefined, arn), false)
    const allow = (s: Record<string, unknown>) =>
      JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, ...s }],
      })
    const put = { Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*' }
    assert.equal(policyAllowsCloudTrail(allow(put), arn, ACCOUNT), true)
    assert.equal(
      policyAllowsCloudTrail(allow({ ...put, Action: 's3:GetObject' }), arn, ACCOUNT),
      false,
    )
    assert.equal(
      policyAllowsCloudTrail(
        allow({ ...put, Condition: { StringNotEquals: { 'aws:SourceAccount': 'x' } } }),
        arn,
        ACCOUNT,
      ),
      false,
    )
    assert.equal(
      policyAllowsCloudTrail(
        allow({ ...put, Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } }),
        arn,
        ACCOUNT,
      ),
      true,
    )
    assert.equal(
      policyAllowsCloudTrail(
        allow({ ...put, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }),
        arn,
        ACCOUNT,
      ),
      false,
    )
    assert.equal(policyDeniesCloudTrail('not json', arn), false)
  })
})
