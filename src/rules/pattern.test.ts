/**
 * Conformance table: the examples of AWS's EventBridge documentation (content filtering, comparison
 * operators, arrays, CloudTrail patterns), each with the documented verdict, plus invalid patterns.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compilePattern } from './pattern.js'
import { RuleSet } from './rule-set.js'

const ec2Event = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345499999999',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
}

const numericEvent = {
  ...ec2Event,
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    sourceIPv6: '2001:db8:85a3::8a2e:370:7334',
    FilePath: '/usr/lib/libc.so',
    FileName: 'image.PNG',
    state: 'running',
    responseElements: null,
    lastName: '',
    nested: { a: 1 },
    tags: ['prod', 'web'],
    items: [
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
    ],
  },
}

const cloudTrailStop = {
  version: '0',
  id: '1',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.cloudtrail',
  account: '123456789012',
  time: '2023-07-10T12:00:42Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'StopLogging',
    sourceIPAddress: '192.168.10.20',
    userIdentity: { type: 'IAMUser', userName: 'bert-jan' },
    errorCode: 'TrailNotFoundException',
  },
}

const cases: [string, unknown, object, boolean][] = [
  ['exact source', ec2Event, { source: ['aws.ec2'] }, true],
  ['exact source, other value', ec2Event, { source: ['aws.s3'] }, false],
  ['OR of values', ec2Event, { detail: { state: ['pending', 'terminated'] } }, true],
  ['AND across fields', ec2Event, { source: ['aws.ec2'], detail: { state: ['running'] } }, false],
  ['field missing in event', ec2Event, { detail: { missing: ['x'] } }, false],
  ['prefix', ec2Event, { time: [{ prefix: '2017-12-22' }] }, true],
  ['prefix, no match', ec2Event, { region: [{ prefix: 'us-east' }] }, false],
  [
    'prefix ignore case',
    ec2Event,
    { source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] },
    true,
  ],
  ['suffix', numericEvent, { detail: { FileName: [{ suffix: '.PNG' }] } }, true],
  ['suffix is case-sensitive', numericEvent, { detail: { FileName: [{ suffix: '.png' }] } }, false],
  [
    'suffix ignore case',
    numericEvent,
    { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    true,
  ],
  [
    'equals-ignore-case',
    ec2Event,
    { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    true,
  ],
  [
    'anything-but string',
    ec2Event,
    { detail: { state: [{ 'anything-but': 'initializing' }] } },
    true,
  ],
  [
    'anything-but string, same',
    ec2Event,
    { detail: { state: [{ 'anything-but': 'terminated' }] } },
    false,
  ],
  [
    'anything-but list',
    ec2Event,
    { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    true,
  ],
  [
    'anything-but numbers',
    numericEvent,
    { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    true,
  ],
  [
    'anything-but numbers, listed',
    numericEvent,
    { detail: { 'c-count': [{ 'anything-but': [5, 6] }] } },
    false,
  ],
  [
    'anything-but prefix',
    ec2Event,
    { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    true,
  ],
  [
    'anything-but prefix, hit',
    ec2Event,
    { detail: { state: [{ 'anything-but': { prefix: 'term' } }] } },
    false,
  ],
  [
    'anything-but suffix',
    numericEvent,
    { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    true,
  ],
  [
    'anything-but equals-ignore-case',
    ec2Event,
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['TERMINATED', 'x'] } }] } },
    false,
  ],
  [
    'anything-but wildcard',
    numericEvent,
    { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    false,
  ],
  [
    'anything-but on a missing field',
    ec2Event,
    { detail: { nope: [{ 'anything-but': 'x' }] } },
    false,
  ],
  [
    'numeric range (documented example)',
    numericEvent,
    {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    true,
  ],
  [
    'numeric, out of range',
    numericEvent,
    { detail: { 'c-count': [{ numeric: ['>', 5] }] } },
    false,
  ],
  ['numeric on a string', ec2Event, { detail: { state: [{ numeric: ['>', 0] }] } }, false],
  ['exact number', numericEvent, { detail: { 'c-count': [5] } }, true],
  ['exact number is not a string', numericEvent, { detail: { 'c-count': ['5'] } }, false],
  ['cidr IPv4', numericEvent, { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, true],
  [
    'cidr IPv4, outside',
    numericEvent,
    { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } },
    false,
  ],
  ['cidr IPv6', numericEvent, { detail: { sourceIPv6: [{ cidr: '2001:db8:85a3::/64' }] } }, true],
  ['cidr on a non-IP', ec2Event, { detail: { state: [{ cidr: '10.0.0.0/8' }] } }, false],
  ['exists true', ec2Event, { detail: { state: [{ exists: true }] } }, true],
  ['exists false', ec2Event, { detail: { state: [{ exists: false }] } }, false],
  ['exists false, missing', ec2Event, { detail: { 'no-such': [{ exists: false }] } }, true],
  ['exists on an object node', numericEvent, { detail: { nested: [{ exists: true }] } }, false],
  [
    'exists false on an object node',
    numericEvent,
    { detail: { nested: [{ exists: false }] } },
    true,
  ],
  ['null value', numericEvent, { detail: { responseElements: [null] } }, true],
  ['null does not match missing', numericEvent, { detail: { other: [null] } }, false],
  ['empty string', numericEvent, { detail: { lastName: [''] } }, true],
  ['wildcard', ec2Event, { resources: [{ wildcard: 'arn:aws:ec2:*:instance/*' }] }, true],
  ['wildcard, no match', ec2Event, { resources: [{ wildcard: 'arn:aws:s3:*' }] }, false],
  ['wildcard, escaped star', { a: 'x*y' }, { a: [{ wildcard: 'x\\*y' }] }, true],
  ['wildcard, escaped star, no match', { a: 'xzy' }, { a: [{ wildcard: 'x\\*y' }] }, false],
  ['array in event matches any element', numericEvent, { detail: { tags: ['web'] } }, true],
  ['array in event, none', numericEvent, { detail: { tags: ['dev'] } }, false],
  [
    'resources: pattern array intersects event array',
    ec2Event,
    {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0',
      ],
    },
    true,
  ],
  [
    'array of objects: one element satisfies all',
    numericEvent,
    { detail: { items: { name: ['b'], size: [2] } } },
    true,
  ],
  [
    'array of objects: fields from different elements do not',
    numericEvent,
    { detail: { items: { name: ['a'], size: [2] } } },
    false,
  ],
  [
    '$or (documented example)',
    numericEvent,
    {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    true,
  ],
  [
    '$or, no branch',
    numericEvent,
    { detail: { $or: [{ 'c-count': [1] }, { 'd-count': [1] }] } },
    false,
  ],
  [
    '$or at top level with AND',
    ec2Event,
    { source: ['aws.ec2'], $or: [{ region: ['us-west-1'] }, { account: ['1'] }] },
    true,
  ],
  [
    'CloudTrail StopLogging (events-ref-cloudtrail)',
    cloudTrailStop,
    {
      source: ['aws.cloudtrail'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['cloudtrail.amazonaws.com'], eventName: ['StopLogging'] },
    },
    true,
  ],
  [
    'CloudTrail, other API',
    cloudTrailStop,
    { 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventName: ['StartLogging'] } },
    false,
  ],
  [
    'CloudTrail, user identity nested',
    cloudTrailStop,
    { detail: { userIdentity: { type: ['Root'] } } },
    false,
  ],
  [
    'CloudTrail, errorCode exists',
    cloudTrailStop,
    { detail: { errorCode: [{ exists: true }] } },
    true,
  ],
]

describe('event patterns: conformance with AWS documented examples', () => {
  for (const [name, event, pattern, expected] of cases) {
    it(`${name} → ${expected ? 'match' : 'no match'}`, () => {
      const p = compilePattern(JSON.stringify(pattern))
      assert.equal(p.matches(event), expected)
      // The indexed rule set gives the same verdict as the pattern alone.
      const set = new RuleSet([{ key: 'r', pattern: p }])
      assert.deepEqual(set.match(event), expected ? ['r'] : [])
    })
  }
})

const invalid: [string, string, RegExp][] = [
  ['not JSON', '{"source": [', /not valid JSON/],
  ['not an object', '["aws.ec2"]', /not an object/],
  ['value not in an array', '{"source": "aws.ec2"}', /source/],
  ['empty array', '{"source": []}', /Empty arrays.*source/],
  ['unknown operator', '{"source": [{"regex": "a.*"}]}', /Unrecognized match type regex at source/],
  ['two operators', '{"a": [{"prefix": "x", "suffix": "y"}]}', /exactly one operator/],
  ['numeric two lower bounds', '{"a": [{"numeric": [">", 0, ">", 5]}]}', /lower bounds/],
  ['numeric with a string', '{"a": [{"numeric": [">", "0"]}]}', /must be a number/],
  ['numeric out of range', '{"a": [{"numeric": [">", 6e9]}]}', /out of range/],
  ['anything-but mixed list', '{"a": [{"anything-but": ["x", 1]}]}', /mixed types/],
  ['wildcard **', '{"a": [{"wildcard": "a**b"}]}', /Consecutive wildcard/],
  ['bad cidr', '{"a": [{"cidr": "10.0.0.0/33"}]}', /Nonstandard IP/],
  ['exists not boolean', '{"a": [{"exists": "yes"}]}', /exists/],
  ['$or with one branch', '{"$or": [{"a": ["x"]}]}', /\$or/],
  ['prefix not a string', '{"a": [{"prefix": 5}]}', /prefix match pattern must be a string at a/],
]

describe('event patterns: invalid patterns', () => {
  for (const [name, text, re] of invalid) {
    it(name, () => {
      assert.throws(
        () => compilePattern(text),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'InvalidEventPatternException')
          assert.match(e.message, /^Event pattern is not valid\. Reason: /)
          assert.match(e.message, re)
          return true
        },
      )
    })
  }
})

describe('rule set', () => {
  it('returns each matching rule once, indexed or not', () => {
    const set = new RuleSet<string>()
    set.add('stop', compilePattern('{"detail": {"eventName": ["StopLogging", "DeleteTrail"]}}'))
    set.add('any-error', compilePattern('{"detail": {"errorCode": [{"exists": true}]}}'))
    set.add('s3', compilePattern('{"source": ["aws.s3"]}'))
    set.add('ip', compilePattern('{"detail": {"sourceIPAddress": [{"cidr": "192.168.0.0/16"}]}}'))
    set.add(
      'eic',
      compilePattern('{"detail": {"eventName": [{"equals-ignore-case": "stoplogging"}, "Other"]}}'),
    )
    set.add('eic-miss', compilePattern('{"detail": {"eventName": [{"equals-ignore-case": "x"}]}}'))
    assert.deepEqual(set.match(cloudTrailStop).sort(), ['any-error', 'eic', 'ip', 'stop'])
    assert.equal(set.size, 6)
  })
})
