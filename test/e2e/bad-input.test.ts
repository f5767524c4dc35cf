/**
 * Bad input end to end: every malformed request gets AWS's error code (in `__type` and
 * X-Amzn-ErrorType) with a 4xx status, changes nothing, and is itself recorded. The property-based
 * test of the whole API surface is in bad-input-property.test.ts.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  AddTagsCommand,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { findRecorded, rawCall, type RawRequest, type RawResponse } from '../helpers/raw.js'
import { snapshot } from '../helpers/trails.js'

const MIB = 1024 * 1024

describe('e2e bad input', () => {
  let ts: TestServer
  let admin: CloudTrailClient
  let state: unknown

  const call = (req: RawRequest) => rawCall(ts.url, { key: ts, ...req })

  /** The AWS error contract for one bad request, and that it is recorded. */
  async function expectError(
    res: RawResponse,
    code: string,
    eventName: string,
    message?: RegExp,
  ): Promise<void> {
    assert.equal(res.body['__type'], code, res.text)
    assert.equal(res.errorType, code)
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`)
    assert.equal(typeof res.body['message'], 'string')
    if (message) assert.match(String(res.body['message']), message)
    assert.ok(res.requestId)
    const rec = await findRecorded(admin, res.requestId, [
      { AttributeKey: 'EventName', AttributeValue: eventName },
    ])
    assert.equal(rec.errorCode, code)
    assert.equal(rec.errorMessage, res.body['message'])
    assert.deepEqual(await snapshot(admin), state, 'a failed call changed state')
  }

  before(async () => {
    ts = await startTestServer()
    admin = ts.client()
    const created = await admin.send(
      new CreateTrailCommand({ Name: 'existing', S3BucketName: 'existing-bucket' }),
    )
    await admin.send(
      new AddTagsCommand({
        ResourceId: created.TrailARN,
        TagsList: [{ Key: 'team', Value: 'audit' }],
      }),
    )
    await admin.send(
      new PutEventSelectorsCommand({
        TrailName: 'existing',
        EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }],
      }),
    )
    state = await snapshot(admin)
  })
  after(async () => {
    await ts.close()
  })

  it('malformed JSON: SerializationException', async () => {
    for (const body of [
      '{"Name": ',
      '{Name: "x"}',
      "{'Name': 'x'}",
      '{"Name":"x"} trailing',
      '}',
    ]) {
      await expectError(
        await call({ target: 'CreateTrail', body }),
        'SerializationException',
        'CreateTrail',
        /JSON/,
      )
    }
  })

  it('a body that is JSON but not an object: SerializationException', async () => {
    for (const body of ['[]', 'null', '"CreateTrail"', '42', 'true']) {
      await expectError(
        await call({ target: 'CreateTrail', body }),
        'SerializationException',
        'CreateTrail',
      )
    }
  })

  it('invalid UTF-8: SerializationException', async () => {
    const bodies = [
      Buffer.concat([Buffer.from('{"Name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"Name":"'), Buffer.from([0xc3]), Buffer.from('"}')]),
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded UTF-16 surrogate
    ]
    for (const body of bodies) {
      await expectError(
        await call({ target: 'CreateTrail', body }),
        'SerializationException',
        'CreateTrail',
        /UTF-8/,
      )
    }
  })

  it('unknown operations and targets: UnknownOperationException', async () => {
    await expectError(
      await call({ target: 'FormatDisk' }),
      'UnknownOperationException',
      'FormatDisk',
    )
    // In the service model, not implemented here.
    await expectError(
      await call({ target: 'EnableFederation', body: '{"EventDataStore":"eds"}' }),
      'UnknownOperationException',
      'EnableFederation',
    )
    // Names every JavaScript object has.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      await expectError(await call({ target: name }), 'UnknownOperationException', name)
    }
    // Another service's prefix, and a target without an operation.
    for (const target of ['DynamoDB_20120810.ListTables', 'CloudTrail_20131101', 'x.y.z']) {
      const res = await call({ target })
      assert.equal(res.body['__type'], 'UnknownOperationException', target)
      assert.equal(res.errorType, 'UnknownOperationException')
      assert.ok(res.status >= 400 && res.status < 500)
    }
    // The long form of a real target works.
    const ok = await call({
      target: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails',
    })
    assert.equal(ok.status, 200, ok.text)
  })

  it('missing X-Amz-Target: UnknownOperationException', async () => {
    const res = await call({ target: null, body: '{}' })
    await expectError(res, 'UnknownOperationException', 'UnknownOperation')
  })

  it('wrong member types: SerializationException', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['CreateTrail', { Name: 123, S3BucketName: 'b' }, /string/],
      ['CreateTrail', { Name: 'n', S3BucketName: 'b', IsMultiRegionTrail: 'yes' }, /boolean/],
      ['CreateTrail', { Name: 'n', S3BucketName: 'b', TagsList: { Key: 'k' } }, /list/],
      ['CreateTrail', { Name: 'n', S3BucketName: 'b', TagsList: ['k'] }, /object/],
      ['DescribeTrails', { trailNameList: 'existing' }, /list/],
      ['LookupEvents', { StartTime: 'yesterday' }, /timestamp/],
      ['LookupEvents', { StartTime: true }, /timestamp/],
      ['LookupEvents', { EndTime: 1e300 }, /timestamp/],
      [
        'LookupEvents',
        { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 7 }] },
        /string/,
      ],
      [
        'PutEventSelectors',
        { TrailName: 'existing', EventSelectors: [{ ReadWriteType: 1 }] },
        /string/,
      ],
    ]
    for (const [op, body, msg] of cases) {
      await expectError(
        await call({ target: op, body: JSON.stringify(body) }),
        'SerializationException',
        op,
        msg,
      )
    }
  })

  it('unknown members: SerializationException naming the member', async () => {
    const cases: [string, unknown, string][] = [
      ['DescribeTrails', { Foo: 1 }, 'Foo'],
      ['CreateTrail', { Name: 'n', S3BucketName: 'b', name: 'lower' }, 'name'],
      [
        'CreateTrail',
        { Name: 'n', S3BucketName: 'b', TagsList: [{ Key: 'k', Colour: 'x' }] },
        'Colour',
      ],
      ['DeleteTrail', { Name: 'existing', constructor: 1 }, 'constructor'],
      ['DeleteTrail', { Name: 'existing', toString: 'x' }, 'toString'],
      ['DeleteTrail', { Name: 'existing', hasOwnProperty: {} }, 'hasOwnProperty'],
    ]
    for (const [op, body, member] of cases) {
      await expectError(
        await call({ target: op, body: JSON.stringify(body) }),
        'SerializationException',
        op,
        new RegExp(`'${member}'`),
      )
    }
    // JSON.stringify drops __proto__ keys, so write that one by hand.
    await expectError(
      await call({ target: 'DeleteTrail', body: '{"Name":"existing","__proto__":{"x":1}}' }),
      'SerializationException',
      'DeleteTrail',
      /'__proto__'/,
    )
  })

  it('missing required members and constraint violations: ValidationException', async () => {
    await expectError(
      await call({ target: 'CreateTrail', body: '{}' }),
      'ValidationException',
      'CreateTrail',
      /^2 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; Value null at 's3BucketName'/,
    )
    await expectError(
      await call({ target: 'DeleteTrail', body: '{"Name": null}' }),
      'ValidationException',
      'DeleteTrail',
      /Value null at 'name'/,
    )
    await expectError(
      await call({ target: 'DescribeTrails', body: '{"trailNameList":["existing",null]}' }),
      'ValidationException',
      'DescribeTrails',
      /Value null at 'trailNameList\.2\.member' failed to satisfy constraint: Member must not be null/,
    )
    await expectError(
      await call({ target: 'StartLogging', body: '' }),
      'ValidationException',
      'StartLogging',
      /Value null at 'name'/,
    )
    await expectError(
      await call({ target: 'LookupEvents', body: JSON.stringify({ EventCategory: 'nonsense' }) }),
      'ValidationException',
      'LookupEvents',
      /Member must satisfy enum value set: \[insight\]/,
    )
  })

  it('bad time ranges: InvalidTimeRangeException', async () => {
    const now = Date.now() / 1000
    for (const body of [
      { StartTime: now, EndTime: now - 60 },
      { StartTime: now + 3600 },
      { StartTime: 8.64e12, EndTime: -8.64e12 },
    ]) {
      await expectError(
        await call({ target: 'LookupEvents', body: JSON.stringify(body) }),
        'InvalidTimeRangeException',
        'LookupEvents',
      )
    }
    // The widest representable range is fine.
    const wide = await call({
      target: 'LookupEvents',
      body: JSON.stringify({ StartTime: -8.64e12, EndTime: 8.64e12, MaxResults: 1 }),
    })
    assert.equal(wide.status, 200, wide.text)
  })

  it('bad tokens: InvalidNextTokenException', async () => {
    for (const NextToken of ['garbage', '%%%', 'eyJ0IjoxfQ==', 'a'.repeat(10_000)]) {
      await expectError(
        await call({ target: 'LookupEvents', body: JSON.stringify({ NextToken }) }),
        'InvalidNextTokenException',
        'LookupEvents',
      )
    }
  })

  it('bad MaxResults: InvalidMaxResultsException', async () => {
    for (const MaxResults of [0, 51, -5, 1.5]) {
      await expectError(
        await call({ target: 'LookupEvents', body: JSON.stringify({ MaxResults }) }),
        'InvalidMaxResultsException',
        'LookupEvents',
      )
    }
  })

  it('deeply nested JSON is refused, not a crash', async () => {
    const depth = 100_000
    const body = '{"TagsList":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
    const res = await call({ target: 'CreateTrail', body })
    assert.equal(res.body['__type'], 'SerializationException', res.text.slice(0, 200))
    assert.ok(res.status >= 400 && res.status < 500)
  })

  it('a body over 2 MiB: 413 RequestEntityTooLargeException, unread but recorded', async () => {
    const body = '{"Name":"' + 'a'.repeat(2 * MIB) + '","S3BucketName":"b"}'
    const res = await call({ target: 'CreateTrail', body, region: 'us-east-1' })
    assert.equal(res.status, 413)
    assert.equal(res.body['__type'], 'RequestEntityTooLargeException')
    assert.equal(res.errorType, 'RequestEntityTooLargeException')
    const rec = await findRecorded(admin, res.requestId, [
      { AttributeKey: 'AccessKeyId', AttributeValue: ts.accessKeyId },
    ])
    assert.equal(rec.errorCode, 'RequestEntityTooLargeException')
    assert.equal(rec.eventName, 'CreateTrail')
    assert.equal(rec.userIdentity?.type, 'Unknown', 'the signature was never checked')
    assert.equal(rec.requestParameters, null)
    assert.deepEqual(await snapshot(admin), state)
    // Exactly 2 MiB is read and handled normally.
    const head = '{"trailNameList":["'
    const tail = '"]}'
    const exact = head + 'x'.repeat(2 * MIB - head.length - tail.length) + tail
    assert.equal(Buffer.byteLength(exact), 2 * MIB)
    const read = await call({ target: 'DescribeTrails', body: exact })
    assert.notEqual(read.errorType, 'RequestEntityTooLargeException')
    assert.ok(read.status < 500, read.text.slice(0, 200))
    // ... and its record (over 2 MiB of JSON) goes through the pipeline like any other.
    await findRecorded(admin, read.requestId, [
      { AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' },
    ])
  })
})
