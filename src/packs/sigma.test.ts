import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compilePattern } from '../rules/pattern.js'
import { convertSigma } from './sigma.js'

const rule = (detection: string, logsource = 'product: aws\n  service: cloudtrail') =>
  `title: T\nid: x\nlogsource:\n  ${logsource}\ndetection:\n${detection}\n`

function pattern(detection: string): unknown {
  const c = convertSigma(rule(detection))
  assert.deepEqual(c.unsupported, [])
  compilePattern(c.pattern!) // valid EventBridge pattern
  return JSON.parse(c.pattern!)
}

function matcher(detection: string): (detail: Record<string, unknown>) => boolean {
  const c = convertSigma(rule(detection))
  assert.deepEqual(c.unsupported, [])
  const p = compilePattern(c.pattern!)
  return (detail) => p.matches({ detail })
}

function unsupported(detection: string, logsource?: string): string {
  const c = convertSigma(rule(detection, logsource))
  assert.equal(c.pattern, undefined)
  return c.unsupported.join('; ')
}

describe('sigma → event patterns', () => {
  it('maps fields, lists and modifiers to operators', () => {
    assert.deepEqual(
      pattern(`  sel:
    eventSource: iam.amazonaws.com
    eventName:
      - CreateUser
      - DeleteUser
    userAgent|contains: 'boto*3'
    requestParameters.policyArn|endswith: /AdministratorAccess
    sourceIPAddress|cidr: 10.0.0.0/8
    userIdentity.arn|startswith: 'arn:aws:iam::'
    errorCode: null
  condition: sel`),
      {
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: ['CreateUser', 'DeleteUser'],
          userAgent: [{ wildcard: '*boto\\*3*' }],
          requestParameters: { policyArn: [{ suffix: '/AdministratorAccess' }] },
          sourceIPAddress: [{ cidr: '10.0.0.0/8' }],
          userIdentity: { arn: [{ prefix: 'arn:aws:iam::' }] },
          errorCode: [null, { exists: false }],
        },
      },
    )
  })

  it('plain values with wildcards become prefix, suffix or wildcard', () => {
    assert.deepEqual(
      pattern(`  sel:
    eventName: 'Get*'
    eventSource: '*.amazonaws.com'
    userAgent: 'aws-cli/*Python*'
  condition: sel`),
      {
        detail: {
          eventName: [{ prefix: 'Get' }],
          eventSource: [{ suffix: '.amazonaws.com' }],
          userAgent: [{ wildcard: 'aws-cli/*Python*' }],
        },
      },
    )
  })

  it('|re converts literal, anchored and alternation forms', () => {
    assert.deepEqual(
      pattern(`  sel:
    eventName|re: '^Stop.*'
  condition: sel`),
      { detail: { eventName: [{ prefix: 'Stop' }] } },
    )
    assert.deepEqual(
      pattern(`  sel:
    eventName|re: '^DeleteTrail$|^StopLogging$'
  condition: sel`),
      { detail: { eventName: ['DeleteTrail', 'StopLogging'] } },
    )
    assert.deepEqual(
      pattern(`  sel:
    userAgent|re: 'stratus'
  condition: sel`),
      { detail: { userAgent: [{ wildcard: '*stratus*' }] } },
    )
  })

  it('not: anything-but, or the field absent', () => {
    const m = matcher(`  sel:
    eventName: GetSecretValue
  filter:
    userIdentity.type: AWSService
  condition: sel and not filter`)
    assert.equal(m({ eventName: 'GetSecretValue', userIdentity: { type: 'IAMUser' } }), true)
    assert.equal(m({ eventName: 'GetSecretValue', userIdentity: { type: 'AWSService' } }), false)
    assert.equal(m({ eventName: 'GetSecretValue', userIdentity: {} }), true)
    assert.equal(m({ eventName: 'GetSecretValue' }), true)
    assert.equal(m({ eventName: 'ListSecrets', userIdentity: { type: 'IAMUser' } }), false)
  })

  it('1 of / all of / them / parentheses / condition lists', () => {
    const one = matcher(`  selection_a:
    eventName: A
  selection_b:
    eventName: B
  condition: 1 of selection_*`)
    assert.equal(one({ eventName: 'A' }), true)
    assert.equal(one({ eventName: 'B' }), true)
    assert.equal(one({ eventName: 'C' }), false)
    const all = matcher(`  s1:
    eventName: A
  s2:
    errorCode|exists: true
  condition: all of them`)
    assert.equal(all({ eventName: 'A', errorCode: 'AccessDenied' }), true)
    assert.equal(all({ eventName: 'A' }), false)
    const paren = matcher(`  a:
    eventName: A
  b:
    eventName: B
  f:
    errorCode: AccessDenied
  condition: (a or b) and not f`)
    assert.equal(paren({ eventName: 'B', errorCode: 'Throttling' }), true)
    assert.equal(paren({ eventName: 'B', errorCode: 'AccessDenied' }), false)
    const list = matcher(`  a:
    eventName: A
  b:
    eventName: B
  condition:
    - a
    - b`)
    assert.equal(list({ eventName: 'B' }), true)
  })

  it('a list of maps ORs them; |all ANDs values of one field when they can meet', () => {
    const m = matcher(`  sel:
    - eventName: A
      eventSource: s1
    - eventName: B
  condition: sel`)
    assert.equal(m({ eventName: 'A', eventSource: 's1' }), true)
    assert.equal(m({ eventName: 'A', eventSource: 's2' }), false)
    assert.equal(m({ eventName: 'B' }), true)
    assert.deepEqual(
      pattern(`  sel:
    eventName|all:
      - A
  other:
    eventName:
      - A
      - B
  condition: sel and other`),
      { detail: { eventName: ['A'] } },
    )
  })

  it('reports what patterns cannot express, naming it', () => {
    assert.match(
      unsupported('  sel:\n    eventName: A\n  condition: sel | count() > 5'),
      /aggregation/,
    )
    assert.match(unsupported('  kw:\n    - evil\n  condition: kw'), /keyword/)
    assert.match(
      unsupported("  sel:\n    eventName|re: '^Get[A-Z]+'\n  condition: sel"),
      /regex .* uses \[/,
    )
    assert.match(
      unsupported('  sel:\n    userAgent|contains|all:\n      - a\n      - b\n  condition: sel'),
      /wildcard and wildcard/,
    )
    assert.match(
      unsupported('  sel:\n    eventName|base64: x\n  condition: sel'),
      /modifier base64/,
    )
    assert.match(unsupported("  sel:\n    eventName: 'Get?'\n  condition: sel"), /'\?' wildcards/)
    assert.match(
      unsupported('  sel:\n    eventName: A\n  condition: nope'),
      /unknown selection nope/,
    )
    assert.match(
      unsupported('  sel:\n    Image: x\n  condition: sel', 'product: windows'),
      /not product: aws/,
    )
    const bad = convertSigma('title: [unclosed')
    assert.match(bad.unsupported[0]!, /YAML/)
  })
})
