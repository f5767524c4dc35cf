/**
 * `opentrail check` (the real CLI as a child process) against a started server: a fresh trail with
 * a public bucket fails every control (exit 1), the JSON report parses; after remediation through
 * the CloudTrail and S3 APIs everything passes (exit 0).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AddTagsCommand,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail'
import {
  CreateBucketCommand,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { rawCall } from '../helpers/raw.js'
import { opentrailEnv, runOpentrail } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

interface WireReport {
  Summary: { Passed: number; Failed: number; Unknown: number; NotApplicable: number }
  Controls: {
    ControlId: string
    Status: string
    RelatedRequirements: string[]
    Findings: { Resource: string; Status: string; Reason: string }[]
    Remediation: string[]
  }[]
}

describe('opentrail check against a started server', () => {
  let ts: TestServer
  let home: string
  let env: NodeJS.ProcessEnv
  let s3: S3Client

  before(async () => {
    ts = await startTestServer()
    home = await mkdtemp(join(tmpdir(), 'opentrail-check-home-'))
    env = opentrailEnv(home, ts.dataDir)
    s3 = new S3Client({
      endpoint: ts.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
    })
  })
  after(async () => {
    s3.destroy()
    await ts.close()
    await rm(home, { recursive: true, force: true })
  })

  const check = (...args: string[]) =>
    runOpentrail(['check', '--endpoint-url', ts.url, ...args], env, 60_000)

  it('fails every control for a fresh trail on a public bucket, then passes after remediation', async () => {
    const none = await check('-o', 'json')
    assert.equal(none.code, 1, none.stderr)
    const empty = JSON.parse(none.stdout) as WireReport
    assert.deepEqual(
      empty.Controls.filter((c) => c.Status === 'FAILED').map((c) => c.ControlId),
      ['CloudTrail.1', 'CloudTrail.3', 'S3.22', 'S3.23'],
    )

    const ct = ts.client()
    await s3.send(new CreateBucketCommand({ Bucket: 'posture-logs' }))
    await s3.send(new CreateBucketCommand({ Bucket: 'posture-access-logs' }))
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'posture-logs',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Everyone',
              Effect: 'Allow',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::posture-logs/*',
            },
          ],
        }),
      }),
    )
    const trail = await ct.send(
      new CreateTrailCommand({ Name: 'posture', S3BucketName: 'posture-logs' }),
    )
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: 'posture',
        EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }],
      }),
    )

    const bad = await check('-o', 'json')
    assert.equal(bad.code, 1, bad.stderr)
    const report = JSON.parse(bad.stdout) as WireReport
    assert.deepEqual(
      report.Controls.map((c) => [c.ControlId, c.Status]),
      [
        ['CloudTrail.1', 'FAILED'],
        ['CloudTrail.2', 'FAILED'],
        ['CloudTrail.3', 'FAILED'],
        ['CloudTrail.4', 'FAILED'],
        ['CloudTrail.5', 'FAILED'],
        ['CloudTrail.6', 'FAILED'],
        ['CloudTrail.7', 'FAILED'],
        ['CloudTrail.9', 'FAILED'],
        ['S3.22', 'FAILED'],
        ['S3.23', 'FAILED'],
      ],
    )
    assert.deepEqual(report.Summary, { Passed: 0, Failed: 10, Unknown: 0, NotApplicable: 0 })
    const c6 = report.Controls.find((c) => c.ControlId === 'CloudTrail.6')!
    assert.match(c6.Findings[0]!.Reason, /statement "Everyone"/)
    assert.equal(c6.Findings[0]!.Resource, 'arn:aws:s3:::posture-logs')
    assert.match(c6.Remediation.join('\n'), /put-public-access-block --bucket posture-logs/)
    assert.ok(report.Controls[0]!.RelatedRequirements.includes('CIS 1.4.0 3.1'))

    // Remediation, as the report suggests.
    const acct = trail.TrailARN!.split(':')[4]!
    await ct.send(
      new UpdateTrailCommand({
        Name: 'posture',
        IsMultiRegionTrail: true,
        EnableLogFileValidation: true,
        KmsKeyId: 'alias/cloudtrail-logs',
        CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${acct}:log-group:CloudTrail/posture:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${acct}:role/CloudTrail_CloudWatchLogs_Role`,
      }),
    )
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: 'posture',
        EventSelectors: [
          {
            ReadWriteType: 'All',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }],
          },
        ],
      }),
    )
    await ct.send(new StartLoggingCommand({ Name: 'posture' }))
    await ct.send(
      new AddTagsCommand({
        ResourceId: trail.TrailARN!,
        TagsList: [{ Key: 'owner', Value: 'sec' }],
      }),
    )
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'posture-logs',
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
    )
    await s3.send(
      new PutBucketLoggingCommand({
        Bucket: 'posture-logs',
        BucketLoggingStatus: {
          LoggingEnabled: { TargetBucket: 'posture-access-logs', TargetPrefix: 'posture-logs/' },
        },
      }),
    )

    const good = await check()
    assert.equal(good.code, 0, good.stdout + good.stderr)
    assert.match(good.stdout, /10 passed, 0 failed, 0 unknown, 0 not applicable/)
    assert.match(good.stdout, /PASSED\s+CloudTrail\.6\s+CRITICAL/)

    const one = await check('--control', 'CloudTrail.9', '--required-tag', 'env', '-o', 'json')
    assert.equal(one.code, 1)
    const only = JSON.parse(one.stdout) as WireReport
    assert.deepEqual(
      only.Controls.map((c) => c.ControlId),
      ['CloudTrail.9'],
    )
    assert.match(only.Controls[0]!.Findings[0]!.Reason, /lacks the tag\(s\) env/)

    const unknown = await check('--control', 'S3.1')
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /Unknown control S3\.1/)

    // The same report from the server's API (beyond AWS), evaluated over its own state.
    const key = { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey }
    const api = await rawCall(ts.url, {
      target: 'OpenTrailPosture_20250601.GetSecurityPosture',
      key,
    })
    assert.equal(api.status, 200, api.text)
    const served = api.body as unknown as WireReport
    const cliReport = JSON.parse((await check('-o', 'json')).stdout) as WireReport
    assert.deepEqual(served.Summary, cliReport.Summary)
    assert.deepEqual(
      served.Controls.map((c) => [c.ControlId, c.Status, c.Findings]),
      cliReport.Controls.map((c) => [c.ControlId, c.Status, c.Findings]),
    )
    const badApi = await rawCall(ts.url, {
      target: 'OpenTrailPosture_20250601.GetSecurityPosture',
      key,
      body: JSON.stringify({ Controls: ['S3.1'] }),
    })
    assert.equal(badApi.status, 400)
    assert.equal(badApi.errorType?.split(':')[0], 'InvalidParameterException')
  })
})
