import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { checkPolicy, evaluate, wildcard, type PolicyDocument } from './policy.js'
import { MANAGED_POLICIES } from './managed-policies.js'

const TRAIL = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit'
const allow = (Action: string | string[], Resource: string | string[] = '*'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action, Resource }],
})

describe('iam/policy wildcard', () => {
  it('* matches any run of characters, ? exactly one', () => {
    assert.ok(wildcard('cloudtrail:Describe*', false).test('cloudtrail:DescribeTrails'))
    assert.ok(wildcard('cloudtrail:Describe*', false).test('cloudtrail:Describe'))
    assert.ok(wildcard('cloudtrail:Get?rail', false).test('cloudtrail:GetTrail'))
    assert.ok(!wildcard('cloudtrail:Get?rail', false).test('cloudtrail:GetTTrail'))
    assert.ok(!wildcard('cloudtrail:Get?rail', false).test('cloudtrail:Getrail'))
    assert.ok(wildcard('*', false).test(''))
  })

  it('treats regular-expression characters literally and anchors both ends', () => {
    assert.ok(wildcard('arn:aws:s3:::my.bucket', false).test('arn:aws:s3:::my.bucket'))
    assert.ok(!wildcard('arn:aws:s3:::my.bucket', false).test('arn:aws:s3:::myXbucket'))
    assert.ok(!wildcard('a+b', false).test('aab'))
    assert.ok(wildcard('a+b(c)[d]{1}|^$\\', false).test('a+b(c)[d]{1}|^$\\'))
    assert.ok(!wildcard('cloudtrail:List', false).test('cloudtrail:ListTrails'))
    assert.ok(!wildcard('List*', false).test('cloudtrail:ListTrails'))
    assert.ok(wildcard('*/audit', false).test('x\ny/audit'), '* spans newlines too')
  })

  it('honours the case flag', () => {
    assert.ok(wildcard('cloudtrail:describe*', true).test('CloudTrail:DescribeTrails'))
    assert.ok(!wildcard('cloudtrail:describe*', false).test('CloudTrail:DescribeTrails'))
  })
})

describe('iam/policy evaluate', () => {
  it('denies by default (no policies, or no matching statement)', () => {
    assert.equal(evaluate([], 'cloudtrail:DescribeTrails', '*'), 'ImplicitDeny')
    assert.equal(
      evaluate([allow('cloudtrail:Get*')], 'cloudtrail:DescribeTrails', '*'),
      'ImplicitDeny',
    )
    assert.equal(evaluate([allow('s3:*')], 'cloudtrail:CreateTrail', TRAIL), 'ImplicitDeny')
  })

  it('allows on a matching Action and Resource, actions case-insensitively', () => {
    assert.equal(evaluate([allow('cloudtrail:*')], 'cloudtrail:CreateTrail', TRAIL), 'Allow')
    assert.equal(
      evaluate([allow('CLOUDTRAIL:createtrail')], 'cloudtrail:CreateTrail', TRAIL),
      'Allow',
    )
    assert.equal(evaluate([allow('*')], 'anything:AtAll', 'arn:x'), 'Allow')
    assert.equal(
      evaluate([allow(['s3:GetObject', 'cloudtrail:Describe*'])], 'cloudtrail:DescribeTrails', '*'),
      'Allow',
    )
  })

  it('matches resources case-sensitively and with wildcards', () => {
    const p = allow('cloudtrail:*', 'arn:aws:cloudtrail:*:111122223333:trail/aud?t')
    assert.equal(evaluate([p], 'cloudtrail:DeleteTrail', TRAIL), 'Allow')
    assert.equal(
      evaluate([p], 'cloudtrail:DeleteTrail', TRAIL.replace('audit', 'AUDIT')),
      'ImplicitDeny',
    )
    assert.equal(evaluate([p], 'cloudtrail:DeleteTrail', TRAIL + 'x'), 'ImplicitDeny')
    assert.equal(
      evaluate([p], 'cloudtrail:DeleteTrail', TRAIL.replace('111122223333', '444455556666')),
      'ImplicitDeny',
    )
  })

  it('an explicit Deny wins over any Allow, in whichever policy or order it comes', () => {
    const deny: PolicyDocument = {
      Statement: { Effect: 'Deny', Action: 'cloudtrail:DeleteTrail', Resource: '*' },
    }
    const full = MANAGED_POLICIES['AWSCloudTrail_FullAccess']!
    assert.equal(evaluate([full, deny], 'cloudtrail:DeleteTrail', TRAIL), 'ExplicitDeny')
    assert.equal(evaluate([deny, full], 'cloudtrail:DeleteTrail', TRAIL), 'ExplicitDeny')
    assert.equal(evaluate([full, deny], 'cloudtrail:CreateTrail', TRAIL), 'Allow')
    const mixed: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 'cloudtrail:*', Resource: TRAIL },
      ],
    }
    assert.equal(evaluate([mixed], 'cloudtrail:StartLogging', TRAIL), 'ExplicitDeny')
    assert.equal(evaluate([mixed], 'cloudtrail:StartLogging', TRAIL + '2'), 'Allow')
    // A Deny alone is still no Allow.
    assert.equal(evaluate([deny], 'cloudtrail:CreateTrail', TRAIL), 'ImplicitDeny')
  })

  it('NotAction allows (or denies) everything except the listed actions', () => {
    const p: PolicyDocument = {
      Statement: {
        Effect: 'Allow',
        NotAction: ['cloudtrail:Delete*', 'cloudtrail:Stop*'],
        Resource: '*',
      },
    }
    assert.equal(evaluate([p], 'cloudtrail:CreateTrail', TRAIL), 'Allow')
    assert.equal(evaluate([p], 'cloudtrail:DeleteTrail', TRAIL), 'ImplicitDeny')
    assert.equal(evaluate([p], 'CloudTrail:stoplogging', TRAIL), 'ImplicitDeny')
    const d: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', NotAction: 'cloudtrail:LookupEvents', Resource: '*' },
      ],
    }
    assert.equal(evaluate([d], 'cloudtrail:LookupEvents', '*'), 'Allow')
    assert.equal(evaluate([d], 'cloudtrail:DescribeTrails', '*'), 'ExplicitDeny')
  })

  it('NotResource applies to every resource except the listed ones', () => {
    const p: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: 'cloudtrail:*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: 'cloudtrail:DeleteTrail',
          NotResource: 'arn:aws:cloudtrail:*:*:trail/scratch-*',
        },
      ],
    }
    assert.equal(evaluate([p], 'cloudtrail:DeleteTrail', TRAIL), 'ExplicitDeny')
    assert.equal(
      evaluate(
        [p],
        'cloudtrail:DeleteTrail',
        'arn:aws:cloudtrail:us-east-1:111122223333:trail/scratch-1',
      ),
      'Allow',
    )
    const onlyOthers: PolicyDocument = {
      Statement: { Effect: 'Allow', Action: '*', NotResource: [TRAIL] },
    }
    assert.equal(evaluate([onlyOthers], 'cloudtrail:DeleteTrail', TRAIL), 'ImplicitDeny')
    assert.equal(evaluate([onlyOthers], 'cloudtrail:DeleteTrail', TRAIL + '-2'), 'Allow')
  })

  it('ignores statements without an action or a resource element', () => {
    const p = {
      Statement: [
        { Effect: 'Allow', Resource: '*' },
        { Effect: 'Allow', Action: '*' },
      ],
    }
    assert.equal(evaluate([p as PolicyDocument], 'cloudtrail:DescribeTrails', '*'), 'ImplicitDeny')
  })

  it('ReadOnlyAccess allows reads and lookups, not writes; FullAccess allows cloudtrail:*', () => {
    const ro = [MANAGED_POLICIES['AWSCloudTrail_ReadOnlyAccess']!]
    for (const a of ['DescribeTrails', 'GetTrailStatus', 'ListTrails', 'LookupEvents', 'ListTags'])
      assert.equal(evaluate(ro, `cloudtrail:${a}`, '*'), 'Allow', a)
    for (const a of ['CreateTrail', 'DeleteTrail', 'StartLogging', 'PutEventSelectors', 'AddTags'])
      assert.equal(evaluate(ro, `cloudtrail:${a}`, TRAIL), 'ImplicitDeny', a)
    const full = [MANAGED_POLICIES['AWSCloudTrail_FullAccess']!]
    assert.equal(evaluate(full, 'cloudtrail:DeleteTrail', TRAIL), 'Allow')
    assert.equal(evaluate(full, 'iam:CreateUser', '*'), 'ImplicitDeny')
  })
})

describe('iam/policy checkPolicy', () => {
  it('accepts valid documents', () => {
    for (const p of Object.values(MANAGED_POLICIES)) assert.equal(checkPolicy(p), undefined)
    assert.equal(
      checkPolicy({ Statement: { Effect: 'Deny', NotAction: 'x:Y', NotResource: ['a', 'b'] } }),
      undefined,
    )
  })

  it('rejects malformed documents with a message instead of throwing', () => {
    const bad: unknown[] = [
      null,
      'AdministratorAccess',
      {},
      { Statement: { Effect: 'allow', Action: '*', Resource: '*' } },
      { Statement: { Effect: 'Allow', Resource: '*' } },
      { Statement: { Effect: 'Allow', Action: '*' } },
      { Statement: [null] },
      { Statement: ['Allow'] },
      { Statement: { Effect: 'Allow', Action: 42, Resource: '*' } },
      { Statement: { Effect: 'Allow', Action: ['cloudtrail:*', 7], Resource: '*' } },
      { Statement: { Effect: 'Allow', Action: '*', Resource: { arn: '*' } } },
      { Statement: { Effect: 'Deny', NotAction: true, Resource: '*' } },
      { Statement: { Effect: 'Allow', Action: '*', Resource: '*', NotResource: 'x' } },
      { Statement: { Effect: 'Allow', Action: '*', NotAction: 'x', Resource: '*' } },
    ]
    for (const doc of bad) {
      let msg: string | undefined
      assert.doesNotThrow(() => {
        msg = checkPolicy(doc)
      }, JSON.stringify(doc))
      assert.equal(typeof msg, 'string', `should reject ${JSON.stringify(doc)}`)
    }
  })

  it('every document it accepts evaluates without throwing', () => {
    const doc = { Statement: { Effect: 'Allow', Action: ['cloudtrail:*'], Resource: ['*'] } }
    assert.equal(checkPolicy(doc), undefined)
    assert.equal(evaluate([doc as PolicyDocument], 'cloudtrail:X', '*'), 'Allow')
  })
})
