/**
 * Security packs: labelled cases from Panther's rule tests (../shared/datasets/panther-rule-tests)
 * for the Panther rules that watch the same behaviour as a pack detection (CIS filter patterns, the
 * protect-the-trail rule, the Sigma fixtures), and `opentrail packs` end to end against a server.
 *
 * Where a pack deliberately differs from Panther's rule, the case is listed in DIFFERS with the
 * reason, and the test asserts the opposite verdict: CIS patterns and protect-the-trail count
 * failed calls too (an attacker probing is worth an alert), CIS 4.5/4.9 cover more calls, and the
 * Sigma fixtures check calls, not the policy contents Panther inspects.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { after, before, describe, it } from 'node:test'
import {
  StopLoggingCommand,
  CloudTrailClient,
  CreateTrailCommand,
} from '@aws-sdk/client-cloudtrail'
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge'
import { SubscribeCommand } from '@aws-sdk/client-sns'
import type { CloudTrailRecord } from '../../src/events/record.js'
import type { RunningServer } from '../../src/main.js'
import {
  compilePattern as compileFilter,
  ObjectInput,
} from '../../src/monitoring/filter-pattern/compile.js'
import { CIS_CONTROLS } from '../../src/packs/cis.js'
import { awsJsonCall } from '../../src/shared/aws-call.js'
import { PROTECT_TRAIL_PATTERN, PROTECT_TRAIL_RULE } from '../../src/packs/protect-trail.js'
import { convertSigma } from '../../src/packs/sigma.js'
import { envelopeOf } from '../../src/rules/envelope.js'
import { compilePattern } from '../../src/rules/pattern.js'
import { receiver, startNotifyServer } from '../helpers/notify.js'

/** A copy of ../shared/datasets/panther-rule-tests (Apache-2.0) kept with the tests. */
const PANTHER = fileURLToPath(new URL('../fixtures/panther-rule-tests', import.meta.url))
const SIGMA = fileURLToPath(new URL('../fixtures/sigma', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

interface Case {
  ruleId: string
  testName: string
  expectedResult: boolean
  hasMocks: boolean
  event: CloudTrailRecord
}

function pantherCases(): Case[] {
  const text = gunzipSync(readFileSync(join(PANTHER, 'rule-tests.jsonl.gz'))).toString('utf8')
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Case)
    .filter((c) => !c.hasMocks)
}

const cis = (id: string) => {
  const f = compileFilter(CIS_CONTROLS.find((c) => c.id === id)!.filterPattern)
  return (r: CloudTrailRecord) => f.test(new ObjectInput(r))
}
const rule = (pattern: string) => {
  const p = compilePattern(pattern)
  return (r: CloudTrailRecord) => p.matches(envelopeOf(r))
}
const sigma = (file: string) => {
  const c = convertSigma(readFileSync(join(SIGMA, file), 'utf8'), file)
  assert.ok(c.pattern, `${file}: ${c.unsupported.join('; ')}`)
  return rule(c.pattern)
}

/** Pack detection → the Panther rules that watch the same behaviour. */
const MAPPING: [string, (r: CloudTrailRecord) => boolean, string[]][] = [
  [
    'protect-trail',
    rule(JSON.stringify(PROTECT_TRAIL_PATTERN)),
    ['AWS.CloudTrail.Stopped', 'AWS.CloudTrail.EventSelectorsDisabled'],
  ],
  ['CIS 4.1', cis('4.1'), ['AWS.CloudTrail.UnauthorizedAPICall']],
  ['CIS 4.3', cis('4.3'), ['AWS.Console.RootLogin', 'AWS.Root.Activity']],
  ['CIS 4.4', cis('4.4'), ['AWS.IAM.PolicyModified']],
  ['CIS 4.5', cis('4.5'), ['AWS.CloudTrail.Created']],
  ['CIS 4.7', cis('4.7'), ['AWS.KMS.CustomerManagedKeyLoss']],
  ['CIS 4.8', cis('4.8'), ['AWS.S3.BucketPolicyModified']],
  ['CIS 4.9', cis('4.9'), ['AWS.ConfigService.DisabledDeleted']],
  ['CIS 4.10', cis('4.10'), ['AWS.EC2.SecurityGroupModified']],
  ['CIS 4.11', cis('4.11'), ['AWS.EC2.NetworkACLModified']],
  ['CIS 4.12', cis('4.12'), ['AWS.EC2.GatewayModified']],
  ['CIS 4.13', cis('4.13'), ['AWS.EC2.RouteTableModified']],
  ['CIS 4.14', cis('4.14'), ['AWS.EC2.VPCModified']],
  ['sigma ec2_password_data', sigma('ec2_password_data.yml'), ['AWS.EC2.ManyPasswordReadAttempts']],
  ['sigma lambda_backdoor', sigma('lambda_backdoor.yml'), ['AWS.Potential.Backdoor.Lambda']],
  [
    'sigma organizations_leave',
    sigma('organizations_leave.yml'),
    ['AWS.CloudTrail.AttemptToLeaveOrg'],
  ],
  ['sigma iam_persistence', sigma('iam_persistence.yml'), ['AWS.IAM.Backdoor.User.Keys']],
  [
    'sigma share_snapshot_or_image',
    sigma('share_snapshot_or_image.yml'),
    ['AWS.CloudTrail.SnapshotMadePublic', 'AWS.CloudTrail.AMIModifiedForPublicAccess'],
  ],
]

/** `<detection> / <Panther test name>` → why the pack's verdict is the opposite of the label. */
const DIFFERS = new Map<string, string>([
  [
    'CIS 4.1 / Unauthorized API Call from Within AWS (FQDN)',
    'CIS 4.1 excludes only delivery.logs.amazonaws.com, Panther every AWS service FQDN',
  ],
  [
    'CIS 4.10 / Error Mofidying Security Group',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.11 / Error Modifying Network ACL',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.12 / Error Modifying Network Gateway',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.13 / Error Modifying Route Table',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.14 / Error Modifying VPC',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.4 / IAM Policy Change Error',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.5 / Error Creating CloudTrail',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.7 / KMS Disable Key Error',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.8 / S3 Bucket Policy Modified Error Response',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.9 / Error Deleting Config Recorder',
    'a failed call counts (CIS patterns do not test errorCode; attempts are worth an alert)',
  ],
  [
    'CIS 4.9 / Config Recorder Delivery Channel Created',
    'CIS 4.9 lists PutDeliveryChannel; Panther alerts on deletions only',
  ],
  [
    'CIS 4.3 / Root Activity - CreateServiceLinkedRole',
    'CIS 4.3 counts every root call; Panther skips service-linked roles',
  ],
  [
    'CIS 4.3 / Root Read-Only Enumeration',
    'CIS 4.3 counts every root call; Panther skips read-only ones',
  ],
  [
    'CIS 4.3 / Root User Failed Activity',
    'CIS 4.3 counts every root call; Panther skips failed ones',
  ],
  ['protect-trail / Error Stopping CloudTrail', 'protect-trail alerts on failed attempts too'],
  [
    'protect-trail / Event Selector Enabled',
    'protect-trail alerts on every PutEventSelectors; Panther only when selectors drop events',
  ],
  [
    'sigma iam_persistence / user1 create keys for user1',
    'the Sigma fixture does not compare caller and key owner (no field references in patterns)',
  ],
  [
    'sigma share_snapshot_or_image / Error Making AMI Public',
    'the Sigma fixture does not test errorCode',
  ],
  [
    'sigma share_snapshot_or_image / Error Making Snapshot Publicly Accessible',
    'the Sigma fixture does not test errorCode',
  ],
  [
    'sigma share_snapshot_or_image / Snapshot Not Made Publicly Accessible',
    'the Sigma fixture checks the call, not the permission added',
  ],
])

describe('e2e packs: Panther labelled cases', () => {
  const cases = pantherCases()
  for (const [name, detect, ruleIds] of MAPPING) {
    it(`${name} agrees with ${ruleIds.join(', ')} (except listed differences)`, () => {
      const mine = cases.filter((c) => ruleIds.includes(c.ruleId))
      assert.ok(mine.length > 0, `no Panther cases for ${ruleIds.join(', ')}`)
      const wrong: string[] = []
      for (const c of mine) {
        const key = `${name} / ${c.testName}`
        const expected = DIFFERS.has(key) ? !c.expectedResult : c.expectedResult
        if (detect(c.event) !== expected) wrong.push(`${key} (label ${c.expectedResult})`)
      }
      assert.deepEqual(wrong, [])
    })
  }
})

function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  )
}

describe('e2e packs: opentrail packs against a server', () => {
  let dataDir: string
  let server: RunningServer
  let key: { accessKeyId: string; secretAccessKey: string }
  let env: NodeJS.ProcessEnv
  let hook: Awaited<ReturnType<typeof receiver>>

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opentrail-packs-'))
    ;({ server, key } = await startNotifyServer(dataDir, { baseDelayMs: 20 }))
    hook = await receiver()
    env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_REGION: 'us-east-1',
      OPENTRAIL_ENDPOINT_URL: server.url,
    }
  })

  after(async () => {
    await hook.close()
    await server.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('enables protect-trail; a StopLogging call reaches the alert topic subscriber', async () => {
    const r = await cli(['packs', 'enable', 'protect-trail', '--output', 'json'], env)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { rule: string; topicArn: string }
    assert.equal(out.rule, PROTECT_TRAIL_RULE)
    assert.match(out.topicArn, /:opentrail-security-alerts$/)
    const again = await cli(['packs', 'enable', 'protect-trail'], env)
    assert.equal(again.code, 0, again.stderr)

    const sns = (await import('@aws-sdk/client-sns')).SNSClient
    await new sns({ endpoint: server.url, region: 'us-east-1', credentials: key }).send(
      new SubscribeCommand({ TopicArn: out.topicArn, Protocol: 'http', Endpoint: hook.url }),
    )
    const ct = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials: key })
    await ct.send(new CreateTrailCommand({ Name: 'guarded', S3BucketName: 'audit-bucket' }))
    await ct.send(new StopLoggingCommand({ Name: 'guarded' }))
    const [got] = await hook.waitFor(1)
    const ev = JSON.parse((JSON.parse(got!.body) as { Message: string }).Message) as {
      detail: { eventName: string }
    }
    assert.equal(ev.detail.eventName, 'StopLogging')
    const d = await new EventBridgeClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: key,
    }).send(new DescribeRuleCommand({ Name: PROTECT_TRAIL_RULE }))
    assert.equal(d.EventPattern, JSON.stringify(PROTECT_TRAIL_PATTERN))
  })

  it('imports Sigma rules and reports the ones it cannot convert', async () => {
    const r = await cli(['packs', 'import-sigma', SIGMA, '--output', 'json'], env)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {
      loaded: { rule: string }[]
      skipped: { file: string; reasons: string[] }[]
    }
    assert.equal(out.loaded.length, 11)
    assert.ok(out.loaded.some((l) => l.rule === 'sigma-cloudtrail_disable_logging'))
    assert.deepEqual(out.skipped.map((s) => s.file).sort(), [
      'not_cloudtrail.yml',
      'unsupported_aggregation.yml',
      'unsupported_contains_all.yml',
      'unsupported_regex_class.yml',
    ])
    const text = await cli(['rules', 'list', '--prefix', 'sigma-'], env)
    assert.equal(text.code, 0, text.stderr)
    assert.match(
      text.stdout,
      /sigma-ec2_password_data\s+ENABLED\s+Sigma: EC2 Windows Password Data Retrieved/,
    )
  })

  it('cis needs a log group: a clear error without one, metric filters and alarms with one', async () => {
    const none = await cli(['packs', 'enable', 'cis'], env)
    assert.notEqual(none.code, 0)
    assert.match(none.stderr, /No trail sends to a log group/)
    const r = await cli(
      ['packs', 'enable', 'cis', '--log-group', 'trail-logs', '--output', 'json'],
      env,
    )
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { controls: string[] }
    assert.equal(out.controls.length, 15)
    const alarms = server.monitoring.monitoring.allAlarms().map((a) => a.alarmName)
    assert.equal(alarms.filter((n) => n.startsWith('CIS-4.')).length, 15)
    // An alarm transition reaches the alert topic's subscriber (monitoring → Notifier → topic).
    const before = hook.got.length
    await awsJsonCall({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: async () => key,
      service: 'monitoring',
      target: 'GraniteServiceVersion20100801.SetAlarmState',
      version: '1.0',
      input: {
        AlarmName: 'CIS-4.5-CloudTrailChanges',
        StateValue: 'ALARM',
        StateReason: 'test transition',
      },
    })
    const got = await hook.waitFor(before + 1)
    const alarm = got
      .slice(before)
      .map((g) => JSON.parse(g.body) as { Subject?: string; Message: string })
      .find((m) => m.Subject?.startsWith('ALARM'))
    assert.ok(alarm, 'no alarm notification')
    assert.equal(alarm.Subject, 'ALARM: "CIS-4.5-CloudTrailChanges" in us-east-1')
    assert.equal((JSON.parse(alarm.Message) as { NewStateValue: string }).NewStateValue, 'ALARM')
  })

  it('convert-sigma prints a pattern or the reason', async () => {
    const ok = await cli(['packs', 'convert-sigma', join(SIGMA, 'organizations_leave.yml')], env)
    assert.equal(ok.code, 0, ok.stderr)
    assert.deepEqual(JSON.parse(ok.stdout), {
      detail: { eventSource: ['organizations.amazonaws.com'], eventName: ['LeaveOrganization'] },
    })
    const bad = await cli(
      ['packs', 'convert-sigma', join(SIGMA, 'unsupported_aggregation.yml')],
      env,
    )
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /timeframe/)
  })
})
