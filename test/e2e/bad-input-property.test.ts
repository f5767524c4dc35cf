/**
 * Bad input, property-based (fast-check): arbitrary targets and bodies over the whole API surface,
 * signed with the admin key: never a 5xx, always the AWS error shape, no state change on failure.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CreateTrailCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { loadModel } from '../../src/protocol/model.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { rawCall } from '../helpers/raw.js'
import { snapshot } from '../helpers/trails.js'

const model = loadModel(
  new URL('../../src/protocol/models/cloudtrail-2013-11-01.json', import.meta.url),
)

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
