import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseLookupAttribute, parseTime } from './args.js'
import { parseIni, upsertIniSection } from './ini.js'

describe('cli args', () => {
  const now = new Date('2024-05-01T12:00:00Z')

  it('parses relative, ISO and epoch times', () => {
    assert.equal(parseTime('30m', now).toISOString(), '2024-05-01T11:30:00.000Z')
    assert.equal(parseTime('2h', now).toISOString(), '2024-05-01T10:00:00.000Z')
    assert.equal(parseTime('1d', now).toISOString(), '2024-04-30T12:00:00.000Z')
    assert.equal(parseTime('45s', now).toISOString(), '2024-05-01T11:59:15.000Z')
    assert.equal(parseTime('now', now), now)
    assert.equal(parseTime('2024-04-01T00:00:00Z').toISOString(), '2024-04-01T00:00:00.000Z')
    assert.equal(parseTime('1714564800').toISOString(), '2024-05-01T12:00:00.000Z')
    assert.throws(() => parseTime('yesterday'), /is not a time/)
    assert.throws(() => parseTime('5 parsecs'), /is not a time/)
  })

  it('parses lookup attributes in both forms, any key case', () => {
    assert.deepEqual(parseLookupAttribute('eventname=CreateTrail'), {
      AttributeKey: 'EventName',
      AttributeValue: 'CreateTrail',
    })
    assert.deepEqual(parseLookupAttribute('ResourceName=arn:aws:x=y'), {
      AttributeKey: 'ResourceName',
      AttributeValue: 'arn:aws:x=y',
    })
    assert.deepEqual(parseLookupAttribute('AttributeKey=Username,AttributeValue=alice'), {
      AttributeKey: 'Username',
      AttributeValue: 'alice',
    })
    assert.throws(() => parseLookupAttribute('Color=red'), /unknown attribute 'Color'/)
    assert.throws(() => parseLookupAttribute('EventName'), /expected Key=Value/)
    assert.throws(() => parseLookupAttribute('EventName='), /empty/)
  })
})

describe('cli ini', () => {
  it('adds a profile, replaces it, and keeps the others', () => {
    const base =
      '[opentrail]\naws_access_key_id = A\naws_secret_access_key = S\nregion = us-east-1\n'
    const added = upsertIniSection(base, 'alice', {
      aws_access_key_id: 'B',
      aws_secret_access_key: 'T',
    })
    assert.equal(added, base + '\n[alice]\naws_access_key_id = B\naws_secret_access_key = T\n')
    const replaced = upsertIniSection(added, 'opentrail', { aws_access_key_id: 'C' })
    const parsed = parseIni(replaced)
    assert.equal(parsed.get('opentrail')?.get('aws_access_key_id'), 'C')
    assert.equal(parsed.get('opentrail')?.has('region'), false)
    assert.equal(parsed.get('alice')?.get('aws_secret_access_key'), 'T')
    assert.equal(upsertIniSection('', 'x', { k: 'v' }), '[x]\nk = v\n')
  })
})
