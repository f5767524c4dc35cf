import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  generatePassword,
  hashPassword,
  passwordProblem,
  totpCode,
  verifyPassword,
  verifyTotp,
} from './password.js'

describe('console passwords and TOTP', () => {
  it('hashes with scrypt and verifies only the right password', async () => {
    const hash = await hashPassword('Correct-horse-1')
    assert.match(hash, /^scrypt\$16384\$8\$1\$/)
    assert.notEqual(hash, await hashPassword('Correct-horse-1')) // salted
    assert.equal(await verifyPassword('Correct-horse-1', hash), true)
    assert.equal(await verifyPassword('correct-horse-1', hash), false)
    assert.equal(await verifyPassword('Correct-horse-1', 'plain'), false)
    assert.equal(await verifyPassword('x', 'scrypt$99999999$8$1$AA$AA'), false)
  })

  it('asks for 8+ characters of three classes, and generates passwords that pass', () => {
    assert.match(passwordProblem('Ab1')!, /8 to 128/)
    assert.match(passwordProblem('alllowercase')!, /three/)
    assert.equal(passwordProblem('Lower-and-1'), undefined)
    for (let i = 0; i < 50; i++) assert.equal(passwordProblem(generatePassword()), undefined)
  })

  it('accepts the TOTP code of this step and the next or previous one only', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
    const t = Date.parse('2026-01-01T00:00:15Z')
    assert.equal(verifyTotp(secret, totpCode(secret, t), t), true)
    assert.equal(verifyTotp(secret, totpCode(secret, t - 30_000), t), true)
    assert.equal(verifyTotp(secret, totpCode(secret, t - 90_000), t), false)
    assert.equal(verifyTotp(secret, 'abcdef', t), false)
  })
})
