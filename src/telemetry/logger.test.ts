import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger } from './logger.js'

function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = []
  return { lines, stream: { write: (s: string) => void lines.push(s) } }
}

test('secrets are redacted at the top level and up to two levels deep', () => {
  const { lines, stream } = capture()
  const log = createLogger('info', stream)
  log.info(
    {
      secretAccessKey: 'SECRET-A',
      password: 'SECRET-B',
      sessionToken: 'SECRET-C',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=SECRET-D' },
      config: {
        metricsToken: 'SECRET-E',
        key: { secretAccessKey: 'SECRET-G' },
      },
      notifications: { smtp: { user: 'ops', pass: 'SECRET-F' } },
      request: { headers: { authorization: 'SECRET-H' } },
    },
    'configured',
  )
  assert.equal(lines.length, 1)
  const out = lines[0]!
  for (const s of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']) {
    assert.ok(!out.includes(`SECRET-${s}`), `SECRET-${s} leaked: ${out}`)
  }
  const parsed = JSON.parse(out) as {
    msg: string
    password: string
    config: { key: { secretAccessKey: string } }
    notifications: { smtp: { user: string; pass: string } }
  }
  assert.equal(parsed.password, '[Redacted]')
  assert.equal(parsed.config.key.secretAccessKey, '[Redacted]')
  assert.deepEqual(parsed.notifications.smtp, { user: 'ops', pass: '[Redacted]' })
  assert.equal(parsed.msg, 'configured')
})
