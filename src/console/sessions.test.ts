import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IdentityStore } from '../iam/identities.js'
import { SESSION_COOKIE, SessionStore } from './sessions.js'

const req = (id: string, csrf?: string) =>
  ({
    headers: { cookie: `a=b; ${SESSION_COOKIE}=${id}`, ...(csrf ? { 'x-csrf-token': csrf } : {}) },
  }) as unknown as IncomingMessage

describe('console sessions', () => {
  it('expire after the idle timeout and the absolute lifetime, and drop their credential', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ot-sessions-'))
    try {
      const ids = await IdentityStore.open(join(dir, 'iam.json'))
      const acct = await ids.ensureAccount('111122223333')
      await ids.createUser(acct, 'alice', ['AdministratorAccess'])
      let now = Date.parse('2026-01-01T00:00:00Z')
      const store = new SessionStore(
        ids,
        { now: () => new Date(now) },
        { ttlMs: 10_000, idleMs: 4_000 },
      )
      const { id, session } = store.create(acct, 'alice', false)
      assert.equal(ids.principalFor(session.accessKeyId)?.userName, 'alice')
      assert.equal(ids.principalFor(session.accessKeyId)?.session?.fromConsole, true)
      assert.equal(store.lookup(req(id)).status, 'ok')
      assert.equal(store.csrfOk(req(id, session.csrfToken), session), true)
      assert.equal(store.csrfOk(req(id, session.csrfToken + 'x'), session), false)
      assert.equal(store.csrfOk(req(id), session), false)
      // Active use keeps it alive up to the absolute lifetime.
      for (let i = 0; i < 3; i++) {
        now += 3_000
        assert.equal(store.lookup(req(id)).status, 'ok')
      }
      now += 1_000 // 10 s after creation
      assert.equal(store.lookup(req(id)).status, 'expired')
      assert.equal(ids.secretFor(session.accessKeyId), undefined)
      // Idle timeout.
      const second = store.create(acct, 'alice', false)
      now += 4_000
      assert.equal(store.lookup(req(second.id)).status, 'expired')
      assert.equal(store.lookup(req('nonsense')).status, 'expired')
      assert.equal(store.lookup({ headers: {} } as IncomingMessage).status, 'none')
      assert.equal(store.size, 0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
