/**
 * The filter-pattern conformance table: AWS's documented examples (CloudWatch Logs user guide,
 * "Filter pattern syntax", its JSON, space-delimited and regex pages; the CIS monitoring patterns) with
 * the events they should and should not match, and invalid patterns with the position reported.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ServiceError } from '../../shared/errors.js'
import { compilePattern, MessageInput, ObjectInput } from './compile.js'

const ERRORS = [
  '[ERROR 400] BAD REQUEST',
  '[ERROR 401] UNAUTHORIZED REQUEST',
  '[ERROR 419] MISSING ARGUMENTS',
  '[ERROR 420] INVALID ARGUMENTS',
]

const DOC_JSON = JSON.stringify({
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  ThisFlag: true,
  ThatFlag: false,
  latency: 1500,
  numbers: [0.001, 20],
  literal: 'Ev*ent',
  errorCode: '400',
})

const COMPOUND = JSON.stringify({
  user: { id: 1, email: 'John.Stiles@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1],
    [5, 6],
  ],
})

const APACHE =
  '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
const APACHE_404 = '10.0.0.2 - - [10/Oct/2000:13:25:16 -0700] "GET /index.html HTTP/1.0" 404 2048'

/** [pattern, message, expected] */
const TABLE: [string, string, boolean][] = [
  // Terms (case-sensitive substrings), phrases, OR, exclusion, match-all.
  ...ERRORS.map((m): [string, string, boolean] => ['ERROR', m, true]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['"ERROR" "ARGUMENTS"', m, i >= 2]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['ERROR ARGUMENTS', m, i >= 2]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['ERROR -ARGUMENTS', m, i < 2]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['"ERROR" - "ARGUMENTS"', m, i < 2]),
  ...ERRORS.map((m, i): [string, string, boolean] => [
    '?UNAUTHORIZED ?MISSING',
    m,
    i === 1 || i === 2,
  ]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['"INVALID ARGUMENTS"', m, i === 3]),
  ...ERRORS.map((m): [string, string, boolean] => ['', m, true]),
  ...ERRORS.map((m): [string, string, boolean] => ['""', m, true]),
  ['error', ERRORS[0]!, false],
  // Regular expressions.
  ...ERRORS.map((m, i): [string, string, boolean] => ['%AUTHORIZED%', m, i === 1]),
  ...ERRORS.map((m, i): [string, string, boolean] => ['%4[0-1][0-9]%', m, i < 3]),
  ['%[Ee]rror|[Ff]ail%', 'request timed out', false],
  ['%[Ee]rror|[Ff]ail%', 'request Failed', true],
  ['%^\\[ERROR%', ERRORS[0]!, true],
  ['?%UNAUTH% ?INVALID', ERRORS[3]!, true],
  ['?%UNAUTH% ?INVALID', ERRORS[0]!, false],
  // JSON: strings, wildcards, arrays, null, missing, booleans, numbers.
  ['{ $.eventType = "UpdateTrail" }', DOC_JSON, true],
  ['{ $.eventType = UpdateTrail }', DOC_JSON, true],
  ['{ $.eventType = "updatetrail" }', DOC_JSON, false],
  ['{ $.eventType != "UpdateTrail" }', DOC_JSON, false],
  ['{ $.sourceIPAddress != 123.123.* }', DOC_JSON, true],
  ['{ $.sourceIPAddress = 111.111.* }', DOC_JSON, true],
  ['{ $.sourceIPAddress = "*.111" }', DOC_JSON, true],
  ['{ $.sourceIPAddress = *11.1* }', DOC_JSON, true],
  ['{ $.literal = Ev*ent }', DOC_JSON, true],
  ['{ $.eventType = Update*Trail }', DOC_JSON, false],
  ['{ $.arrayKey[0] = "value" }', DOC_JSON, true],
  ['{ $.arrayKey[1] = "another value" }', DOC_JSON, true],
  ['{ $.arrayKey[2] = "value" }', DOC_JSON, false],
  ['{ $.arrayKey = "value" }', DOC_JSON, false],
  ['{ $.objectList[1].id = 2 }', DOC_JSON, true],
  ['{ $.objectList[0].name = b }', DOC_JSON, false],
  ['{ $.objectList[1] = * }', DOC_JSON, false],
  ['{ $.SomeObject IS NULL }', DOC_JSON, true],
  ['{ $.eventType IS NULL }', DOC_JSON, false],
  ['{ $.SomeOtherObject NOT EXISTS }', DOC_JSON, true],
  ['{ $.SomeObject NOT EXISTS }', DOC_JSON, false],
  ['{ $.ThisFlag IS TRUE }', DOC_JSON, true],
  ['{ $.ThatFlag IS FALSE }', DOC_JSON, true],
  ['{ $.ThatFlag IS TRUE }', DOC_JSON, false],
  ['{ $.latency >= 500 }', DOC_JSON, true],
  ['{ $.latency > +1000 }', DOC_JSON, true],
  ['{ $.latency < 1500 }', DOC_JSON, false],
  ['{ $.latency <= 1.5e3 }', DOC_JSON, true],
  ['{ $.latency = 1500 }', DOC_JSON, true],
  ['{ $.latency != 1500 }', DOC_JSON, false],
  ['{ $.numbers[0] < 10e-3 }', DOC_JSON, true],
  ['{ $.numbers[1] > -20 }', DOC_JSON, true],
  ['{ $.errorCode = 400 }', DOC_JSON, true],
  ['{ $.errorCode > 399 }', DOC_JSON, true],
  ['{ $.latency = * }', DOC_JSON, true],
  ['{ $.missing = * }', DOC_JSON, false],
  ['{ $.missing != "x" }', DOC_JSON, false],
  ['{ $.eventType = %Update.*% }', DOC_JSON, true],
  ['{ $.eventType = %^Trail% }', DOC_JSON, false],
  ['{ $.eventType = "UpdateTrail" }', 'not json at all', false],
  // Names that Object.prototype has are fields like any other.
  ['{ $.constructor NOT EXISTS }', DOC_JSON, true],
  ['{ $.toString = * }', DOC_JSON, false],
  ['{ $.__proto__ NOT EXISTS }', DOC_JSON, true],
  ['{ $.constructor = "x" }', '{"constructor":"x"}', true],
  ['{ $.eventType = "a" || $.eventType = UpdateTrail || $.eventType = "b" }', DOC_JSON, true],
  ['{ $.latency = "1500" || $.latency = "x" }', DOC_JSON, true],
  ['{ $.SomeObject = "null" || $.SomeObject = "x" }', DOC_JSON, false],
  // JSON: && binds tighter than ||; parentheses (AWS's compound examples).
  ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', COMPOUND, true],
  ['{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', COMPOUND, false],
  [
    '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
    COMPOUND,
    true,
  ],
  [
    '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
    COMPOUND,
    false,
  ],
  ['{ $.coordinates[1][0] = 5 }', COMPOUND, true],
  ['{$.user.id=1&&$.actions[0]=GET}', COMPOUND, true],
  // Space-delimited.
  ['[ip, user, username, timestamp, request, status_code, bytes]', APACHE, true],
  ['[ip, user, username, timestamp, request, status_code]', APACHE, false],
  ['[ip, user, ..., status_code = 4*, bytes > 1000]', APACHE, false],
  ['[ip, user, ..., status_code = 4*, bytes > 1000]', APACHE_404, true],
  ['[ip, user, ..., status_code = 2*, bytes > 1000]', APACHE, true],
  ['[..., request = *html*, status_code = 4* && status_code != 403, bytes]', APACHE_404, true],
  ['[..., request = *html*, status_code = 4* && status_code != 404, bytes]', APACHE_404, false],
  ['[..., request = *html*, status_code, bytes]', APACHE, false],
  [
    '[ip, user, username, timestamp = *Oct*, request = "GET /apache_pb.gif HTTP/1.0", ...]',
    APACHE,
    true,
  ],
  ['[ip = %127\\.0\\.0\\.[1-9]%, ...]', APACHE, true],
  ['[ip = %127\\.0\\.0\\.[1-9]%, ...]', APACHE_404, false],
  ['[ip != 10.*, ...]', APACHE, true],
  ['[w1 = ERROR || w1 = WARN, w2]', 'ERROR disk', true],
  ['[w1 = ERROR || w1 = WARN, w2]', 'WARN disk', true],
  ['[w1 = ERROR || w1 = WARN, w2]', 'INFO disk', false],
  ['[w1 = ERROR || w1 = WARN, w2]', 'ERROR disk full', false],
  ['[..., bytes >= 2048]', APACHE_404, true],
  ['[a, ..., b, ..., c]', 'x y z', true],
]

const CLOUDTRAIL = (over: Record<string, unknown>) => ({
  eventVersion: '1.09',
  userIdentity: { type: 'IAMUser', userName: 'alice' },
  eventTime: '2026-01-01T00:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: 'ListUsers',
  sourceIPAddress: '203.0.113.5',
  eventType: 'AwsApiCall',
  ...over,
})

const CIS_4_1 =
  '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }'
const CIS_4_2 = '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'
const CIS_4_3 =
  '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
const CIS_4_6 = '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
const CIS_4_7 =
  '{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }'

const CIS: [string, Record<string, unknown>, boolean][] = [
  [CIS_4_1, CLOUDTRAIL({ errorCode: 'AccessDenied' }), true],
  [CIS_4_1, CLOUDTRAIL({ errorCode: 'Client.UnauthorizedOperation' }), true],
  [CIS_4_1, CLOUDTRAIL({ errorCode: 'AccessDenied', eventName: 'HeadBucket' }), false],
  [
    CIS_4_1,
    CLOUDTRAIL({ errorCode: 'AccessDenied', sourceIPAddress: 'delivery.logs.amazonaws.com' }),
    false,
  ],
  [
    CIS_4_1,
    CLOUDTRAIL({ errorCode: 'Client.UnauthorizedOperation', eventName: 'HeadBucket' }),
    true,
  ],
  [CIS_4_1, CLOUDTRAIL({}), false],
  [
    CIS_4_2,
    CLOUDTRAIL({ eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'No' } }),
    true,
  ],
  [
    CIS_4_2,
    CLOUDTRAIL({ eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'Yes' } }),
    false,
  ],
  [CIS_4_2, CLOUDTRAIL({ eventName: 'ConsoleLogin' }), false],
  [CIS_4_3, CLOUDTRAIL({ userIdentity: { type: 'Root' } }), true],
  [
    CIS_4_3,
    CLOUDTRAIL({ userIdentity: { type: 'Root', invokedBy: 'support.amazonaws.com' } }),
    false,
  ],
  [CIS_4_3, CLOUDTRAIL({ userIdentity: { type: 'Root' }, eventType: 'AwsServiceEvent' }), false],
  [CIS_4_6, CLOUDTRAIL({ eventName: 'ConsoleLogin', errorMessage: 'Failed authentication' }), true],
  [CIS_4_6, CLOUDTRAIL({ eventName: 'ConsoleLogin' }), false],
  [
    CIS_4_7,
    CLOUDTRAIL({ eventSource: 'kms.amazonaws.com', eventName: 'ScheduleKeyDeletion' }),
    true,
  ],
  [CIS_4_7, CLOUDTRAIL({ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' }), false],
]

/** [pattern, 1-based position named in the error] */
const INVALID: [string, number][] = [
  ['{ $.eventName = }', 17],
  ['{ $.eventName = "x"', 20],
  ['{ eventName = "x" }', 3],
  ['{ $.latency > abc }', 15],
  ['{ $.a = 1 } extra', 13],
  ['{ $.a IS MAYBE }', 10],
  ['{ $.a NOT THERE }', 11],
  ['{ $ = 1 }', 3],
  ['{ $.a = 1 &&  }', 15],
  ['{ ($.a = 1 }', 12],
  ['{ $.a = 1 | $.b = 2 }', 11],
  ['{ $.a[x] = 1 }', 6],
  ['%a(b)%', 3],
  ['%é%', 2],
  ['%%', 1],
  ['%abc', 1],
  ['%a% %b% %c%', 9],
  ['"unterminated', 1],
  ['[a, b', 6],
  ['[]', 2],
  ['[a, a]', 5],
  ['[a, 1b]', 5],
  ['ERROR = x', 7],
]

describe('filter-pattern conformance (AWS documented examples)', () => {
  for (const [pattern, message, expected] of TABLE) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${message.slice(0, 40)}`, () => {
      const p = compilePattern(pattern)
      assert.equal(p.test(new MessageInput(message)), expected)
      // The same event as an object (pipeline records) gives the same answer for JSON patterns.
      if (p.pattern.kind === 'json' && message.startsWith('{'))
        assert.equal(p.test(new ObjectInput(JSON.parse(message))), expected)
    })
  }
})

describe('CIS AWS Foundations monitoring patterns on CloudTrail records', () => {
  for (const [pattern, record, expected] of CIS) {
    it(`${pattern.slice(0, 50)}… on ${JSON.stringify(record).slice(100, 180)}`, () => {
      const p = compilePattern(pattern)
      assert.equal(p.test(new ObjectInput(record)), expected)
      assert.equal(p.test(new MessageInput(JSON.stringify(record))), expected)
    })
  }
})

describe('invalid filter patterns', () => {
  for (const [pattern, position] of INVALID) {
    it(`${JSON.stringify(pattern)} is rejected at position ${position}`, () => {
      assert.throws(
        () => compilePattern(pattern),
        (e: unknown) => {
          assert.ok(e instanceof ServiceError)
          assert.equal(e.code, 'InvalidParameterException')
          assert.match(e.message, new RegExp(`at position ${position}:`))
          return true
        },
      )
    })
  }
  it('rejects patterns over 1024 characters', () => {
    assert.throws(() => compilePattern('a'.repeat(1025)), /at most 1024/)
  })
})

describe('extractors and dispatch hints', () => {
  it('reads JSON fields and delimited fields by name and position', () => {
    const j = compilePattern('{ $.latency = * }')
    assert.equal(j.extractor('$.latency')!(new MessageInput(DOC_JSON)), 1500)
    assert.equal(j.extractor('$.objectList[1].name')!(new MessageInput(DOC_JSON)), 'b')
    assert.equal(j.extractor('latency'), undefined)
    const d = compilePattern('[ip, user, username, timestamp, request, status_code, bytes]')
    assert.equal(d.extractor('$bytes')!(new MessageInput(APACHE)), '1534')
    assert.equal(d.extractor('$6')!(new MessageInput(APACHE)), '200')
    assert.equal(d.extractor('$nope'), undefined)
  })
  it('knows which values a JSON pattern pins down', () => {
    const p = compilePattern(
      '{ ($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }',
    )
    assert.deepEqual([...p.pins.get('$.eventName')!].sort(), ['DisableKey', 'ScheduleKeyDeletion'])
    assert.deepEqual([...p.pins.get('$.eventSource')!], ['kms.amazonaws.com'])
    assert.equal(compilePattern(CIS_4_1).pins.size, 0)
    assert.deepEqual([...compilePattern(CIS_4_3).pins.keys()], ['$.userIdentity.type'])
    assert.equal(compilePattern('{ $.eventName = Get* }').pins.size, 0)
    assert.equal(compilePattern('{ $.a = 1 }').pins.size, 0)
    assert.equal(compilePattern('{ $.a = x && $.a = y }').pins.get('$.a')!.size, 0)
  })
})
