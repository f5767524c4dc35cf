/**
 * Bad input end to end: every malformed request gets AWS's error code (in `__type` and
 * X-Amzn-ErrorType) with a 4xx status, changes nothing, and is itself recorded. Then a
 * property-based test (fast-check) of the whole API surface: no 5xx, no state change on failure.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  AddTagsCommand,
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  PutEventSelectorsCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { loadModel } from '../../src/protocol/model.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { findRecorded, rawCall, type RawRequest, type RawResponse } from '../helpers/raw.js'

const model = loadModel(
  new URL('../../src/protocol/models/cloudtrail-2013-11-01.json', import.meta.url),
)
const MIB = 1024 * 1024

/** Everything a client can observe about the trail control plane's state. */
async function snapshot(client: CloudTrailClient): Promise<unknown> {
  const trails = (await client.send(new DescribeTrailsCommand({ includeShadowTrails: true })))
    .trailList
  const details = await Promise.all(
    (trails ?? []).map(async (t) => {
      const [status, selectors, tags] = await Promise.all([
        client.send(new GetTrailStatusCommand({ Name: t.TrailARN })),
        client.send(new GetEventSelectorsCommand({ TrailName: t.TrailARN })),
        client.send(new ListTagsCommand({ ResourceIdList: [t.TrailARN!] })),
      ])
      return [
        status.IsLogging,
        selectors.EventSelectors,
        selectors.AdvancedEventSelectors,
        tags.ResourceTagList,
      ]
    }),
  )
  return [trails, details]
}

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

// ---------------------------------------------------------------------------------------------
// Property-based: arbitrary targets and bodies, signed with the admin key.

const OPS = Object.keys(model.operations)
const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']

/** Member names of an operation's input shape, recursively, so generated keys often hit real ones. */
function memberNames(): string[] {
  const names = new Set<string>()
  for (const shape of Object.values(model.shapes))
    for (const m of Object.keys(shape.members ?? {})) names.add(m)
  return [...names]
}
const MEMBERS = memberNames()

const targetArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...OPS).map((op) => `CloudTrail_20131101.${op}`) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...OPS)
      .map((op) => `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${op}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...PROTO_NAMES).map((op) => `CloudTrail_20131101.${op}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `CloudTrail_20131101.${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
)

const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('existing', 'arn:aws:cloudtrail:us-east-1:000000000000:trail/existing', ''),
  fc.constantFrom('ReadOnly', 'WriteOnly', 'All', 'Equals', 'eventCategory', 'Management'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
)
const keyArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...MEMBERS) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
)
const { value: valueArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 4 }),
  ),
}))

const bodyArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.dictionary(keyArb, valueArb, { maxKeys: 5 }).map((v) => JSON.stringify(v)),
  },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 50 }) },
  {
    weight: 1,
    arbitrary: fc
      .dictionary(keyArb, valueArb, { maxKeys: 3 })
      .map((v) => JSON.stringify(v).replace(/^\{/, '{"__proto__":{"polluted":1},')),
  },
)

/** The operations OpenTrail implements (the rest of the model answers UnknownOperation). */
const IMPLEMENTED = [
  'AddTags',
  'CreateTrail',
  'DeleteTrail',
  'DescribeTrails',
  'GetEventSelectors',
  'GetInsightSelectors',
  'GetTrail',
  'GetTrailStatus',
  'ListTags',
  'ListTrails',
  'LookupEvents',
  'PutEventSelectors',
  'PutInsightSelectors',
  'RemoveTags',
  'StartLogging',
  'StopLogging',
  'UpdateTrail',
]
const NAMES = fc.constantFrom(
  'existing',
  'arn:aws:cloudtrail:us-east-1:000000000000:trail/existing',
  'fuzz-trail',
  'fuzz_trail.2',
  'eventCategory',
  'readOnly',
  'eventSource',
  'Management',
  'Data',
  'AWS::S3::Object',
  'arn:aws:s3:::bucket/',
)

/** Values shaped like the model says (mostly right types, sometimes a wrong leaf). */
function shapeArb(name: string, depth = 0): fc.Arbitrary<unknown> {
  const shape = model.shapes[name]!
  let typed: fc.Arbitrary<unknown>
  switch (shape.type) {
    case 'structure': {
      const members = Object.entries(shape.members ?? {})
      typed =
        depth > 5
          ? fc.constant({})
          : fc.record(
              Object.fromEntries(members.map(([k, m]) => [k, shapeArb(m.shape, depth + 1)])),
              { requiredKeys: [] },
            )
      break
    }
    case 'list':
      typed = fc.array(shapeArb(shape.member!.shape, depth + 1), { maxLength: depth > 3 ? 1 : 3 })
      break
    case 'map':
      typed = fc.dictionary(fc.string({ maxLength: 5 }), shapeArb(shape.value!.shape, depth + 1), {
        maxKeys: 2,
      })
      break
    case 'string':
      typed = shape.enum
        ? fc.oneof(fc.constantFrom(...shape.enum), fc.constantFrom('bogus', ''))
        : fc.oneof(
            NAMES,
            fc.string({ maxLength: 30 }),
            fc.string({ minLength: 120, maxLength: 300 }),
          )
      break
    case 'boolean':
      typed = fc.boolean()
      break
    case 'integer':
    case 'long':
      typed = fc.integer({ min: -3, max: 100 })
      break
    case 'timestamp':
      typed = fc.oneof(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.double({ min: -1e13, max: 1e13, noNaN: true }),
        fc.constantFrom('2024-01-01T00:00:00Z', '1700000000'),
      )
      break
    default:
      typed = fc.string({ maxLength: 10 })
  }
  return fc.oneof({ weight: 12, arbitrary: typed }, { weight: 1, arbitrary: leaf })
}

/** A call to a real operation with a body shaped like its input. */
const shapedCallArb: fc.Arbitrary<[string, string | Uint8Array]> = fc
  .constantFrom(...IMPLEMENTED)
  .chain((op) =>
    shapeArb(model.operations[op]!.input!.shape).map((body): [string, string | Uint8Array] => [
      `CloudTrail_20131101.${op}`,
      JSON.stringify(body),
    ]),
  )

describe('e2e bad input: property-based', () => {
  let ts: TestServer
  let admin: CloudTrailClient

  before(async () => {
    ts = await startTestServer()
    admin = ts.client()
    await admin.send(new CreateTrailCommand({ Name: 'existing', S3BucketName: 'existing-bucket' }))
  })
  after(async () => {
    await ts.close()
  })

  it('arbitrary targets and bodies: never a 5xx, always the AWS error shape, no state change on failure', async () => {
    let state = await snapshot(admin)
    let failures = 0
    let calls = 0
    // Each run sends a batch of calls concurrently (every call costs an fsync; batches share
    // them), then compares the state when none of them succeeded.
    const callArb = fc.oneof(fc.tuple(targetArb, bodyArb), shapedCallArb)
    const batchArb = fc.array(callArb, { minLength: 1, maxLength: 8 })
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        const results = await Promise.all(
          batch.map(([target, body]) => rawCall(ts.url, { key: ts, target, body })),
        )
        calls += batch.length
        for (const res of results) {
          assert.ok(res.status < 500, `${res.status} ${res.text}`)
          if (res.status === 200) continue
          failures++
          assert.ok(res.status >= 400, `status ${res.status}`)
          assert.equal(typeof res.body['__type'], 'string', res.text)
          assert.equal(res.errorType, res.body['__type'])
          assert.equal(typeof res.body['message'], 'string')
        }
        const now = await snapshot(admin)
        if (results.every((r) => r.status !== 200)) assert.deepEqual(now, state)
        state = now
        assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
      }),
      {
        numRuns: Number(process.env['FUZZ_RUNS'] ?? 80),
        // fast-check prints the seed of a failing run; FUZZ_SEED replays it.
        ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}),
      },
    )
    assert.ok(calls >= 80 && failures > calls / 2, `${failures} of ${calls} calls failed`)
    // The server is still healthy and every call was recorded without a hitch.
    await ts.server.pipeline.drain()
    for (const sink of ts.server.pipeline.status())
      assert.equal(sink.lastError, undefined, `${sink.name}: ${sink.lastError}`)
  })
})
