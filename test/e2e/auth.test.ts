/**
 * Authentication (SigV4) and authorization (IAM) end to end: the real AWS SDK and raw requests
 * against a started server, and what each outcome leaves in Event History.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, readAdminKey, type TestServer } from '../helpers/server.js'
import {
  findRecorded,
  lookupAll,
  rawCall,
  sdkError,
  signHeaders,
  type Recorded,
} from '../helpers/raw.js'
import { spawnServer } from '../helpers/process.js'

const ACCOUNT = '111122223333'
const AUDITOR = { accessKeyId: 'AKIAAUDITOR000000001', secretAccessKey: 'auditor-secret-key-0001' }
const OPS = { accessKeyId: 'AKIAOPS0000000000001', secretAccessKey: 'ops-secret-key-00000001' }
const NOBODY = { accessKeyId: 'AKIANOBODY0000000001', secretAccessKey: 'nobody-secret-key-00001' }
const GUARD = { accessKeyId: 'AKIAGUARD00000000001', secretAccessKey: 'guard-secret-key-000001' }
const UNKNOWN = { accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'guessed-secret-key-0001' }
const WRONG_SECRET = 'wrong-secret-key-0000001'

const accounts = [
  {
    accountId: ACCOUNT,
    users: [
      { name: 'auditor', policies: ['AWSCloudTrail_ReadOnlyAccess'], accessKeys: [AUDITOR] },
      {
        name: 'ops',
        policies: [
          'AWSCloudTrail_FullAccess',
          {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Deny', Action: 'cloudtrail:DeleteTrail', Resource: '*' }],
          },
        ],
        accessKeys: [OPS],
      },
      { name: 'nobody', policies: [], accessKeys: [NOBODY] },
      {
        name: 'guard',
        policies: [
          'AWSCloudTrail_FullAccess',
          {
            Statement: {
              Effect: 'Deny',
              Action: 'cloudtrail:DeleteTrail',
              Resource: `arn:aws:cloudtrail:*:${ACCOUNT}:trail/protected`,
            },
          },
        ],
        accessKeys: [GUARD],
      },
    ],
    roles: [],
  },
]

const MIN = 60_000

describe('e2e auth: SigV4 and IAM', () => {
  let ts: TestServer
  let admin: CloudTrailClient
  const as = (key: { accessKeyId: string; secretAccessKey: string }, region?: string) =>
    ts.client({ ...key, region })

  before(async () => {
    ts = await startTestServer({ accounts })
    admin = ts.client()
  })
  after(async () => {
    await ts.close()
  })

  it('puts the administrator into the first configured account', async () => {
    const r = await admin.send(new DescribeTrailsCommand({}))
    assert.ok(r.$metadata.requestId)
    const rec = await findRecorded(admin, r.$metadata.requestId!, [
      { AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' },
    ])
    assert.equal(rec.userIdentity?.accountId, ACCOUNT)
    assert.equal(rec.userIdentity?.userName, 'admin')
  })

  it('a request without Authorization gets MissingAuthenticationTokenException and is recorded', async () => {
    const res = await rawCall(ts.url, { target: 'DescribeTrails', body: '{}' })
    assert.equal(res.status, 403)
    assert.equal(res.body['__type'], 'MissingAuthenticationTokenException')
    assert.equal(res.errorType, 'MissingAuthenticationTokenException')
    assert.equal(res.body['message'], 'Missing Authentication Token')
    const rec = await findRecorded(admin, res.requestId, [
      { AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' },
    ])
    assert.equal(rec.errorCode, 'MissingAuthenticationTokenException')
    assert.equal(rec.userIdentity?.type, 'Unknown')
    assert.equal(rec.userIdentity?.accessKeyId, undefined)
  })

  it('an unknown access key gets UnrecognizedClientException', async () => {
    const e = await sdkError(as(UNKNOWN).send(new DescribeTrailsCommand({})))
    assert.equal(e.name, 'UnrecognizedClientException')
    assert.equal(e.message, 'The security token included in the request is invalid.')
    assert.ok(e.status >= 400 && e.status < 500)
  })

  it('a wrong secret gets InvalidSignatureException', async () => {
    const e = await sdkError(
      as({ ...AUDITOR, secretAccessKey: WRONG_SECRET }).send(new DescribeTrailsCommand({})),
    )
    assert.equal(e.name, 'InvalidSignatureException')
    assert.match(e.message, /^The request signature we calculated does not match/)
    assert.ok(e.status >= 400 && e.status < 500)
  })

  it('a tampered body or target breaks the signature', async () => {
    const body = Buffer.from('{}')
    const headers = await signHeaders(
      ts.url,
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'CloudTrail_20131101.DescribeTrails',
      },
      body,
      { key: ts },
    )
    const ok = await fetch(ts.url, { method: 'POST', headers, body })
    assert.equal(ok.status, 200)
    const tamperedBody = await fetch(ts.url, {
      method: 'POST',
      headers,
      body: '{"trailNameList":[]}',
    })
    assert.equal(tamperedBody.headers.get('x-amzn-errortype'), 'InvalidSignatureException')
    const tamperedTarget = await fetch(ts.url, {
      method: 'POST',
      headers: { ...headers, 'x-amz-target': 'CloudTrail_20131101.ListTrails' },
      body,
    })
    assert.equal(tamperedTarget.headers.get('x-amzn-errortype'), 'InvalidSignatureException')
  })

  it('a signature for another service is refused', async () => {
    const res = await rawCall(ts.url, { target: 'DescribeTrails', key: ts, service: 's3' })
    assert.equal(res.errorType, 'InvalidSignatureException')
    assert.match(String(res.body['message']), /scoped to correct service: 'cloudtrail'/)
  })

  it('a clock more than 15 minutes off gets InvalidSignatureException "Signature expired"', async () => {
    const behind = new CloudTrailClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
      maxAttempts: 1,
      systemClockOffset: -16 * MIN,
    })
    const e = await sdkError(behind.send(new DescribeTrailsCommand({})))
    assert.equal(e.name, 'InvalidSignatureException')
    assert.match(e.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/)

    const ahead = await rawCall(ts.url, {
      target: 'DescribeTrails',
      key: ts,
      date: new Date(Date.now() + 16 * MIN),
    })
    assert.equal(ahead.errorType, 'InvalidSignatureException')
    assert.match(String(ahead.body['message']), /^Signature not yet current/)

    const old = await rawCall(ts.url, {
      target: 'DescribeTrails',
      key: ts,
      date: new Date(Date.now() - 24 * 60 * MIN),
    })
    assert.equal(old.errorType, 'InvalidSignatureException')
    assert.match(String(old.body['message']), /^Signature expired/)

    // Within the window the same request is fine.
    for (const skew of [-14 * MIN, 14 * MIN]) {
      const ok = await rawCall(ts.url, {
        target: 'DescribeTrails',
        key: ts,
        date: new Date(Date.now() + skew),
      })
      assert.equal(ok.status, 200, `skew ${skew / MIN} min`)
    }
  })

  it('ReadOnlyAccess may DescribeTrails but CreateTrail is denied and recorded as AccessDenied', async () => {
    const auditor = as(AUDITOR)
    const d = await auditor.send(new DescribeTrailsCommand({}))
    assert.deepEqual(d.trailList, [])
    const e = await sdkError(
      auditor.send(new CreateTrailCommand({ Name: 'sneaky', S3BucketName: 'bucket' })),
    )
    assert.equal(e.name, 'AccessDeniedException')
    assert.equal(
      e.message,
      `User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/sneaky because no identity-based policy allows the cloudtrail:CreateTrail action`,
    )
    assert.deepEqual((await admin.send(new DescribeTrailsCommand({}))).trailList, [])
    const rec = await findRecorded(admin, e.requestId, [
      { AttributeKey: 'EventName', AttributeValue: 'CreateTrail' },
    ])
    assert.equal(rec.errorCode, 'AccessDenied')
    assert.equal(rec.errorMessage, e.message)
    assert.equal(rec.userIdentity?.type, 'IAMUser')
    assert.equal(rec.userIdentity?.userName, 'auditor')
    assert.equal(rec.userIdentity?.accessKeyId, AUDITOR.accessKeyId)
    assert.equal(rec.responseElements, null)
    // The auditor can find its own denied call too (LookupEvents is read-only access).
    const own = await auditor.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'auditor' }],
      }),
    )
    assert.ok(
      own.Events?.some(
        (ev) => (JSON.parse(ev.CloudTrailEvent!) as Recorded).requestID === e.requestId,
      ),
    )
  })

  it('an inline Deny beats the Allow of a managed policy; no policy means no access', async () => {
    const ops = as(OPS)
    await ops.send(new CreateTrailCommand({ Name: 'ops-trail', S3BucketName: 'bucket' }))
    const e = await sdkError(ops.send(new DeleteTrailCommand({ Name: 'ops-trail' })))
    assert.equal(e.name, 'AccessDeniedException')
    assert.match(e.message, /cloudtrail:DeleteTrail .* with an explicit deny/)
    const trails = await admin.send(new DescribeTrailsCommand({}))
    assert.deepEqual(
      trails.trailList?.map((t) => t.Name),
      ['ops-trail'],
    )
    const rec = await findRecorded(admin, e.requestId, [
      { AttributeKey: 'EventName', AttributeValue: 'DeleteTrail' },
    ])
    assert.equal(rec.errorCode, 'AccessDenied')
    assert.equal(rec.userIdentity?.userName, 'ops')

    const n = await sdkError(as(NOBODY).send(new DescribeTrailsCommand({})))
    assert.equal(n.name, 'AccessDeniedException')
    assert.match(n.message, /because no identity-based policy allows the cloudtrail:DescribeTrails/)
    await admin.send(new DeleteTrailCommand({ Name: 'ops-trail' }))
  })

  it('a malformed Authorization header gets IncompleteSignatureException and is recorded', async () => {
    for (const authorization of [
      'Bearer abc',
      'AWS4-HMAC-SHA256 garbage',
      'AWS4-HMAC-SHA256 Credential=AKIAX/20240101/us-east-1/cloudtrail, SignedHeaders=host, Signature=00',
    ]) {
      const res = await rawCall(ts.url, { target: 'DescribeTrails', headers: { authorization } })
      assert.equal(res.errorType, 'IncompleteSignatureException', authorization)
      assert.equal(res.body['__type'], 'IncompleteSignatureException')
      assert.ok(res.status >= 400 && res.status < 500)
      const rec = await findRecorded(admin, res.requestId, [
        { AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' },
      ])
      assert.equal(rec.errorCode, 'IncompleteSignatureException')
      assert.equal(rec.userIdentity?.type, 'Unknown')
    }
  })

  // Regression: an IAM Deny on a trail ARN must hold when the trail is named another way
  // (another partition): the call is authorized against the trail's canonical ARN.
  it('a resource-level Deny holds however the trail is named', async () => {
    const created = await admin.send(
      new CreateTrailCommand({ Name: 'protected', S3BucketName: 'bucket' }),
    )
    const arn = created.TrailARN!
    assert.equal(arn, `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/protected`)
    const guard = as(GUARD)
    const outcomes: string[] = []
    for (const Name of [
      'protected',
      arn,
      arn.replace('arn:aws:', 'arn:aws-cn:'),
      arn.replace('arn:aws:', 'arn:aws-us-gov:'),
    ]) {
      const outcome = await guard.send(new DeleteTrailCommand({ Name })).then(
        () => 'deleted',
        (e: Error) => e.name,
      )
      if (outcome !== 'AccessDeniedException') outcomes.push(`${Name}: ${outcome}`)
    }
    const left = await admin.send(new DescribeTrailsCommand({ trailNameList: ['protected'] }))
    await admin.send(new DeleteTrailCommand({ Name: arn })).catch(() => undefined)
    assert.equal(left.trailList?.length, 1, 'the protected trail was deleted')
    assert.deepEqual(outcomes, [])
  })

  it('failed authentications are recorded as Unknown with the claimed access key', async () => {
    const unknown = await sdkError(as(UNKNOWN).send(new DescribeTrailsCommand({})))
    const wrong = await sdkError(
      as({ ...OPS, secretAccessKey: WRONG_SECRET }, 'eu-west-1').send(
        new DescribeTrailsCommand({}),
      ),
    )
    const u = await findRecorded(admin, unknown.requestId, [
      { AttributeKey: 'AccessKeyId', AttributeValue: UNKNOWN.accessKeyId },
    ])
    assert.equal(u.userIdentity?.type, 'Unknown')
    assert.equal(u.userIdentity?.accessKeyId, UNKNOWN.accessKeyId)
    assert.equal(u.userIdentity?.userName, undefined)
    assert.equal(u.errorCode, 'UnrecognizedClientException')
    assert.equal(u.recipientAccountId, ACCOUNT)

    // A wrong secret for a real user's key must not be attributed to that user.
    const eu = ts.client({ region: 'eu-west-1' })
    const w = await findRecorded(eu, wrong.requestId, [
      { AttributeKey: 'AccessKeyId', AttributeValue: OPS.accessKeyId },
    ])
    assert.equal(w.userIdentity?.type, 'Unknown')
    assert.equal(w.userIdentity?.accessKeyId, OPS.accessKeyId)
    assert.equal(w.userIdentity?.userName, undefined)
    assert.equal(w.userIdentity?.arn, undefined)
    assert.equal(w.errorCode, 'InvalidSignatureException')
    assert.equal(w.awsRegion, 'eu-west-1')
    // ... and a Username lookup for that user does not return it.
    const asOps = await lookupAll(eu, [{ AttributeKey: 'Username', AttributeValue: 'ops' }])
    assert.ok(!asOps.some((r) => r.requestID === wrong.requestId))
  })

  it('no secret appears in any recorded event or in the event log files', async () => {
    // A few more calls of every outcome, so that all kinds of records exist.
    await as(AUDITOR).send(new DescribeTrailsCommand({}))
    await sdkError(
      as({ ...AUDITOR, secretAccessKey: WRONG_SECRET }).send(new DescribeTrailsCommand({})),
    )
    await sdkError(as(NOBODY).send(new CreateTrailCommand({ Name: 'x', S3BucketName: 'y' })))
    await rawCall(ts.url, { target: 'CreateTrail', key: ts, body: '{"Name": 1}' })
    await ts.server.pipeline.drain()
    const secrets = [
      ts.secretAccessKey,
      AUDITOR.secretAccessKey,
      OPS.secretAccessKey,
      NOBODY.secretAccessKey,
      UNKNOWN.secretAccessKey,
      WRONG_SECRET,
    ]
    const events = [
      ...(await lookupAll(admin)),
      ...(await lookupAll(ts.client({ region: 'eu-west-1' }))),
    ]
    assert.ok(events.length > 20, `expected many events, got ${events.length}`)
    const text = JSON.stringify(events)
    for (const s of secrets) assert.ok(!text.includes(s), 'a secret is in a recorded event')
    const logDir = join(ts.dataDir, 'log')
    for (const f of await readdir(logDir)) {
      const bytes = await readFile(join(logDir, f), 'latin1')
      assert.ok(bytes.includes(ts.accessKeyId), 'the log files hold the records')
      for (const s of secrets) assert.ok(!bytes.includes(s), `a secret is in ${f}`)
    }
  })
})

describe('e2e auth: config policies', () => {
  it('refuses to start with an inline policy that is not a valid document', async () => {
    const bad = [
      { Statement: [{ Effect: 'Allow', Action: 42, Resource: '*' }] },
      { Statement: [null] },
      { Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] },
    ]
    for (const policy of bad) {
      await assert.rejects(
        startTestServer({
          accounts: [
            {
              accountId: ACCOUNT,
              users: [{ name: 'broken', policies: [policy], accessKeys: [] }],
              roles: [],
            },
          ],
        }),
        /ERR_CONFIG_INVALID: user broken/,
        JSON.stringify(policy),
      )
    }
  })
})

describe('e2e auth: the server log output holds no secret', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-authlog-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  // Regression: YAML syntax errors are reported by line and column only, never the source line.
  it('a config file that fails to parse is reported without its secrets', async () => {
    const config = join(dir, 'broken.yaml')
    const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCY0000000000'
    await writeFile(
      config,
      [
        'accounts:',
        "  - accountId: '111122223333'",
        '    users:',
        '      - name: auditor',
        '        accessKeys:',
        `          - { accessKeyId: AKIAAUDITOR000000001, secretAccessKey: "${secret}" `,
        '',
      ].join('\n'),
    )
    const err = await spawnServer(['--data-dir', join(dir, 'd2'), '--config', config]).then(
      async (p) => {
        await p.kill()
        return new Error('the server started with a broken config')
      },
      (e: Error) => e,
    )
    assert.match(err.message, /not valid YAML/)
    assert.ok(!err.message.includes(secret.slice(0, 8)), 'the secret is in the output')
  })

  it('at trace level, through good, denied, failed and malformed calls', async () => {
    const config = join(dir, 'config.json')
    await writeFile(config, JSON.stringify({ accounts }))
    const dataDir = join(dir, 'data')
    const proc = await spawnServer(['--data-dir', dataDir, '--config', config], {
      OPENTRAIL_LOG_LEVEL: 'trace',
    })
    try {
      const adminKey = await readAdminKey(dataDir)
      const client = (key: { accessKeyId: string; secretAccessKey: string }) =>
        new CloudTrailClient({
          endpoint: proc.url,
          region: 'us-east-1',
          credentials: key,
          maxAttempts: 1,
        })
      await client(adminKey).send(
        new CreateTrailCommand({ Name: 'trail1', S3BucketName: 'bucket1' }),
      )
      await client(AUDITOR).send(new DescribeTrailsCommand({}))
      await sdkError(client(AUDITOR).send(new DeleteTrailCommand({ Name: 'trail1' })))
      await sdkError(client(OPS).send(new DeleteTrailCommand({ Name: 'trail1' })))
      await sdkError(
        client({ ...OPS, secretAccessKey: WRONG_SECRET }).send(new DescribeTrailsCommand({})),
      )
      await sdkError(client(UNKNOWN).send(new DescribeTrailsCommand({})))
      await rawCall(proc.url, { target: 'CreateTrail', key: adminKey, body: '{"Name": [' })
      await rawCall(proc.url, { target: 'Nope', key: adminKey })
      await rawCall(proc.url, { target: 'DescribeTrails', body: '{}' })
      await rawCall(proc.url, {
        target: 'DescribeTrails',
        key: adminKey,
        date: new Date(Date.now() - 60 * MIN),
      })
      assert.equal(await proc.kill('SIGTERM'), 0)
      const out = proc.output()
      assert.match(out, /OpenTrail listening on http:/)
      assert.match(out, /Created the administrator/)
      for (const s of [
        adminKey.secretAccessKey,
        AUDITOR.secretAccessKey,
        OPS.secretAccessKey,
        NOBODY.secretAccessKey,
        UNKNOWN.secretAccessKey,
        WRONG_SECRET,
      ])
        assert.ok(!out.includes(s), 'a secret is in the server output')
    } finally {
      await proc.kill()
    }
  })
})
