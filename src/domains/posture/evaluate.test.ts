import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { evaluatePosture } from './evaluate.js'
import { managementCoverage } from './coverage.js'
import type { ControlResult, PostureBucket, PostureInput, PostureTrail } from './model.js'

const ACCT = '111122223333'
const arn = (name: string) => `arn:aws:cloudtrail:us-east-1:${ACCT}:trail/${name}`

/** A trail and bucket that pass every control. */
function good(): { trail: PostureTrail; bucket: PostureBucket } {
  return {
    trail: {
      name: 'main',
      arn: arn('main'),
      homeRegion: 'us-east-1',
      isMultiRegionTrail: true,
      s3BucketName: 'logs',
      kmsKeyId: `arn:aws:kms:us-east-1:${ACCT}:alias/ct`,
      logFileValidationEnabled: true,
      cloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCT}:log-group:ct:*`,
      isLogging: true,
      eventSelectors: [
        {
          readWriteType: 'All',
          includeManagementEvents: true,
          dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }],
        },
      ],
      tags: [{ key: 'owner', value: 'sec' }],
    },
    bucket: {
      name: 'logs',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::logs/*',
          },
        ],
      }),
      publicAccessBlock: {
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: true,
        restrictPublicBuckets: true,
      },
      logging: { targetBucket: 'access-logs', targetPrefix: 'logs/' },
    },
  }
}

function check(
  id: string,
  change: (t: PostureTrail, b: PostureBucket) => void = () => undefined,
  opts: { requiredTagKeys?: string[] } = {},
): ControlResult {
  const { trail, bucket } = good()
  change(trail, bucket)
  const input: PostureInput = { trails: [trail], buckets: { [bucket.name]: bucket } }
  const report = evaluatePosture(input, { controls: [id], ...opts })
  assert.equal(report.controls.length, 1)
  return report.controls[0]!
}

function passes(c: ControlResult): void {
  assert.equal(c.status, 'PASSED', JSON.stringify(c.findings))
  assert.deepEqual(c.remediation, [])
}

function fails(c: ControlResult, reason: RegExp, remedy: RegExp): void {
  assert.equal(c.status, 'FAILED', JSON.stringify(c.findings))
  assert.match(c.findings.find((f) => f.status === 'FAILED')!.reason, reason)
  assert.match(c.remediation.join('\n'), remedy)
}

describe('security posture controls', () => {
  it('the compliant configuration passes every control', () => {
    const { trail, bucket } = good()
    const r = evaluatePosture({ trails: [trail], buckets: { logs: bucket } })
    assert.deepEqual(
      r.controls.map((c) => [c.id, c.status]),
      [
        ['CloudTrail.1', 'PASSED'],
        ['CloudTrail.2', 'PASSED'],
        ['CloudTrail.3', 'PASSED'],
        ['CloudTrail.4', 'PASSED'],
        ['CloudTrail.5', 'PASSED'],
        ['CloudTrail.6', 'PASSED'],
        ['CloudTrail.7', 'PASSED'],
        ['CloudTrail.9', 'PASSED'],
        ['S3.22', 'PASSED'],
        ['S3.23', 'PASSED'],
      ],
    )
    assert.deepEqual(r.summary, { passed: 10, failed: 0, unknown: 0, notApplicable: 0 })
  })

  it('CloudTrail.1: a multi-Region logging trail with read and write management events', () => {
    passes(check('CloudTrail.1'))
    // No selectors configured: CloudTrail's default is all management events.
    passes(check('CloudTrail.1', (t) => delete t.eventSelectors))
    passes(
      check('CloudTrail.1', (t) => {
        t.eventSelectors = [{ readWriteType: 'ReadOnly' }, { readWriteType: 'WriteOnly' }]
      }),
    )
    fails(
      check('CloudTrail.1', (t) => (t.isMultiRegionTrail = false)),
      /main is not multi-Region/,
      /update-trail --name main --is-multi-region-trail/,
    )
    fails(
      check('CloudTrail.1', (t) => (t.eventSelectors = [{ readWriteType: 'WriteOnly' }])),
      /logs only write management events/,
      /put-event-selectors --trail-name main/,
    )
    fails(
      check('CloudTrail.1', (t) => (t.isLogging = false)),
      /is not logging/,
      /start-logging --name main/,
    )
    const none = evaluatePosture({ trails: [], buckets: {} }, { controls: ['CloudTrail.1'] })
    fails(none.controls[0]!, /no trails/, /create-trail .*--is-multi-region-trail/)
  })

  it('CloudTrail.1: advanced selectors count by eventCategory and readOnly', () => {
    const t = good().trail
    t.advancedEventSelectors = [
      { fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] },
    ]
    assert.deepEqual(managementCoverage(t), { read: true, write: true, excludedSources: [] })
    t.advancedEventSelectors = [
      {
        fieldSelectors: [
          { field: 'eventCategory', equals: ['Management'] },
          { field: 'readOnly', equals: ['true'] },
        ],
      },
      { fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }] },
    ]
    assert.deepEqual(managementCoverage(t), { read: true, write: false, excludedSources: [] })
    fails(
      check('CloudTrail.1', (x) => (x.advancedEventSelectors = t.advancedEventSelectors)),
      /only read management events/,
      /put-event-selectors/,
    )
  })

  it('CloudTrail.2: encryption at rest (KmsKeyId)', () => {
    passes(check('CloudTrail.2'))
    fails(
      check('CloudTrail.2', (t) => delete t.kmsKeyId),
      /main has no KmsKeyId/,
      /update-trail --name main --kms-key-id/,
    )
  })

  it('CloudTrail.3: at least one trail logging', () => {
    passes(check('CloudTrail.3'))
    fails(
      check('CloudTrail.3', (t) => (t.isLogging = false)),
      /No trail is logging/,
      /start-logging --name main/,
    )
  })

  it('CloudTrail.4: log file validation', () => {
    passes(check('CloudTrail.4'))
    fails(
      check('CloudTrail.4', (t) => (t.logFileValidationEnabled = false)),
      /digest files/,
      /update-trail --name main --enable-log-file-validation/,
    )
  })

  it('CloudTrail.5: CloudWatch Logs integration', () => {
    passes(check('CloudTrail.5'))
    fails(
      check('CloudTrail.5', (t) => delete t.cloudWatchLogsLogGroupArn),
      /no CloudWatchLogsLogGroupArn/,
      /--cloud-watch-logs-log-group-arn arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail\/main:\*/,
    )
  })

  it('CloudTrail.6: the trail bucket is not public', () => {
    passes(check('CloudTrail.6'))
    const publicPolicy = JSON.stringify({
      Statement: [
        { Sid: 'Open', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' },
      ],
    })
    // A public statement is neutralised by RestrictPublicBuckets...
    passes(check('CloudTrail.6', (_t, b) => (b.policy = publicPolicy)))
    // ...not without it.
    fails(
      check('CloudTrail.6', (_t, b) => {
        b.policy = publicPolicy
        delete b.publicAccessBlock
      }),
      /logs is public: its bucket policy allows everyone \(statement "Open"/,
      /put-public-access-block --bucket logs/,
    )
    fails(
      check('CloudTrail.6', (_t, b) => {
        b.publicAccessBlock!.ignorePublicAcls = false
        b.aclGrants = [
          { uri: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' },
        ]
      }),
      /ACL grants READ to AllUsers/,
      /RestrictPublicBuckets=true/,
    )
    // A Condition makes a statement not public; unreadable settings are UNKNOWN, not PASSED.
    passes(
      check('CloudTrail.6', (_t, b) => {
        delete b.publicAccessBlock
        b.policy = JSON.stringify({
          Statement: [
            { Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*', Condition: {} },
          ],
        })
      }),
    )
    assert.equal(check('CloudTrail.6', (_t, b) => (b.error = 'NoSuchBucket')).status, 'UNKNOWN')
  })

  it('CloudTrail.7: server access logging on the trail bucket', () => {
    passes(check('CloudTrail.7'))
    fails(
      check('CloudTrail.7', (_t, b) => delete b.logging),
      /logs has no server access logging/,
      /put-bucket-logging --bucket logs/,
    )
  })

  it('CloudTrail.9: trails are tagged', () => {
    passes(check('CloudTrail.9'))
    fails(
      check('CloudTrail.9', (t) => (t.tags = [{ key: 'aws:cloudformation:stack-name' }])),
      /main has no tags/,
      /add-tags --resource-id arn:aws:cloudtrail:us-east-1:111122223333:trail\/main/,
    )
    fails(
      check('CloudTrail.9', () => undefined, { requiredTagKeys: ['owner', 'env'] }),
      /lacks the tag\(s\) env/,
      /Key=owner,Value=\.\.\. Key=env,Value=\.\.\./,
    )
  })

  it('S3.22 / S3.23 (CIS 3.8 / 3.9): object-level write and read events of all buckets', () => {
    passes(check('S3.22'))
    passes(check('S3.23'))
    const writeOnly = (t: PostureTrail) => (t.eventSelectors![0]!.readWriteType = 'WriteOnly')
    passes(check('S3.22', writeOnly))
    fails(
      check('S3.23', writeOnly),
      /No logging multi-Region trail logs object-level read events/,
      /put-event-selectors --trail-name main .*"Values":\["arn:aws:s3"\]/,
    )
    // One bucket only is not every bucket.
    fails(
      check('S3.22', (t) => {
        t.eventSelectors![0]!.dataResources = [
          { type: 'AWS::S3::Object', values: ['arn:aws:s3:::logs/'] },
        ]
      }),
      /write events/,
      /AWS::S3::Object/,
    )
    const advanced = (ro?: string) => (t: PostureTrail) => {
      t.advancedEventSelectors = [
        {
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Data'] },
            { field: 'resources.type', equals: ['AWS::S3::Object'] },
            ...(ro ? [{ field: 'readOnly', equals: [ro] }] : []),
          ],
        },
      ]
    }
    passes(check('S3.23', advanced()))
    passes(check('S3.23', advanced('true')))
    fails(check('S3.23', advanced('false')), /read events/, /put-event-selectors/)
    fails(
      check('S3.22', (t) => (t.isMultiRegionTrail = false)),
      /multi-Region/,
      /put-event-selectors/,
    )
  })

  it('counts shadow copies of a trail once and rejects unknown control IDs', () => {
    const { trail, bucket } = good()
    const r = evaluatePosture(
      { trails: [trail, { ...trail }], buckets: { logs: bucket } },
      { controls: ['cloudtrail.2'] },
    )
    assert.equal(r.controls[0]!.findings.length, 1)
    assert.throws(() => evaluatePosture({ trails: [], buckets: {} }, { controls: ['S3.1'] }), {
      name: 'RangeError',
    })
  })
})
