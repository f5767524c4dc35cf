import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultEventSelectors, type Trail } from '../trails/model.js'
import { PostureService } from './service.js'

const trail = (over: Partial<Trail> = {}): Trail => ({
  name: 't1',
  accountId: '111122223333',
  homeRegion: 'eu-west-1',
  s3BucketName: 'b1',
  includeGlobalServiceEvents: true,
  isMultiRegionTrail: true,
  logFileValidationEnabled: true,
  isOrganizationTrail: false,
  eventSelectors: defaultEventSelectors(),
  hasCustomEventSelectors: false,
  insightSelectors: [],
  tags: [{ key: 'owner', value: 'x' }],
  isLogging: true,
  createdAt: '2026-01-01T00:00:00Z',
  ...over,
})

describe('PostureService', () => {
  it("evaluates the server's trails and the object store's bucket settings", async () => {
    const svc = new PostureService({
      trails: () => [trail()],
      bucketSettings: async () => ({
        publicAccessBlock: {
          blockPublicAcls: true,
          ignorePublicAcls: true,
          blockPublicPolicy: true,
          restrictPublicBuckets: true,
        },
        logging: { targetBucket: 'logs', targetPrefix: '' },
      }),
    })
    const r = await svc.report({ accountId: '111122223333', region: 'eu-west-1' })
    const status = Object.fromEntries(r.controls.map((c) => [c.id, c.status]))
    assert.deepEqual(status, {
      'CloudTrail.1': 'PASSED',
      'CloudTrail.2': 'FAILED',
      'CloudTrail.3': 'PASSED',
      'CloudTrail.4': 'PASSED',
      'CloudTrail.5': 'FAILED',
      'CloudTrail.6': 'PASSED',
      'CloudTrail.7': 'PASSED',
      'CloudTrail.9': 'PASSED',
      'S3.22': 'FAILED',
      'S3.23': 'FAILED',
    })
    assert.equal(
      r.controls[1]!.findings[0]!.resource,
      'arn:aws:cloudtrail:eu-west-1:111122223333:trail/t1',
    )
  })

  it('reports bucket controls as UNKNOWN when the settings cannot be read', async () => {
    const missing = new PostureService({
      trails: () => [trail({ eventSelectors: { kind: 'basic', selectors: [] } })],
      bucketSettings: async () => {
        throw Object.assign(new Error('The bucket does not exist.'), { name: 'NoSuchBucket' })
      },
    })
    const r = await missing.report({ accountId: '111122223333', region: 'eu-west-1' })
    const c6 = r.controls.find((c) => c.id === 'CloudTrail.6')!
    assert.equal(c6.status, 'UNKNOWN')
    assert.match(c6.findings[0]!.reason, /NoSuchBucket: The bucket does not exist/)
    // An empty selector list logs no management events.
    assert.match(r.controls[0]!.findings[0]!.reason, /logs no management events/)
    assert.equal(r.summary.unknown, 2)
    const none = new PostureService({ trails: () => [trail()] })
    const r2 = await none.report({ accountId: '111122223333', region: 'eu-west-1' })
    assert.equal(r2.controls.find((c) => c.id === 'CloudTrail.7')!.status, 'UNKNOWN')
  })
})
