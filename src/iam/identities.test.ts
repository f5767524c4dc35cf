import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IdentityStore, RELOAD_CHECK_INTERVAL_MS } from './identities.js'

describe('IdentityStore: changes made by another process', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-iam-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('finds a key another process created, re-reading iam.json at most once per second', async () => {
    const file = join(dir, 'iam.json')
    let now = 1_000_000
    const server = await IdentityStore.open(file, { now: () => now })
    await server.ensureAccount('111122223333')

    const cli = await IdentityStore.open(file)
    await cli.createUser('111122223333', 'alice', ['AWSCloudTrail_ReadOnlyAccess'])
    const k1 = await cli.createAccessKey('111122223333', 'alice')

    // First miss: the file was replaced, so the server re-reads it.
    assert.equal(server.secretFor(k1.accessKeyId), k1.secretAccessKey)
    assert.equal(server.principalFor(k1.accessKeyId)?.arn, 'arn:aws:iam::111122223333:user/alice')
    assert.equal(server.policiesFor(k1.accessKeyId).length, 1)

    // A miss right after another miss does not touch the file...
    assert.equal(server.secretFor('AKIANOTAKEY000000000'), undefined)
    const k2 = await (await IdentityStore.open(file)).createAccessKey('111122223333', 'alice')
    assert.equal(server.secretFor(k2.accessKeyId), undefined)
    // ...one a second later does.
    now += RELOAD_CHECK_INTERVAL_MS
    assert.equal(server.secretFor(k2.accessKeyId), k2.secretAccessKey)
  })

  it('does not re-read its own writes, and merges before its own mutations', async () => {
    const file = join(dir, 'iam2.json')
    const a = await IdentityStore.open(file)
    await a.ensureAccount('111122223333')
    await a.createUser('111122223333', 'admin', ['AdministratorAccess'])
    const b = await IdentityStore.open(file)
    await b.createUser('111122223333', 'bob', [])
    // a has not looked since; its next mutation must keep bob.
    await a.createUser('111122223333', 'carol', [])
    const c = await IdentityStore.open(file)
    assert.deepEqual(
      c
        .listUsers()
        .map((u) => u.userName)
        .sort(),
      ['admin', 'bob', 'carol'],
    )
  })
})
