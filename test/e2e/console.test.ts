/**
 * The web console's server side end to end: the bootstrap password, sign-in (IAM user, root, MFA,
 * failures, lockout), the ConsoleLogin events it leaves, session cookies and CSRF, console calls
 * to the JSON API and S3 API recorded as the signed-in user, sign-out.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { IdentityStore } from '../../src/iam/identities.js'
import { hashPassword, newTotpSecret, totpCode } from '../../src/iam/password.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { lookupAll, type Recorded } from '../helpers/raw.js'

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101'

interface Signed {
  cookie: string
  csrf: string
  body: Record<string, unknown>
}

async function signIn(
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; json: Record<string, unknown>; setCookie: string | null }> {
  const res = await fetch(`${url}/console/api/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'console-test' },
    body: JSON.stringify(body),
  })
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown>,
    setCookie: res.headers.get('set-cookie'),
  }
}

async function signedIn(url: string, body: Record<string, unknown>): Promise<Signed> {
  const r = await signIn(url, body)
  assert.equal(r.status, 200, JSON.stringify(r.json))
  return {
    cookie: r.setCookie!.split(';')[0]!,
    csrf: r.json['csrfToken'] as string,
    body: r.json,
  }
}

async function consoleCall(
  url: string,
  s: Partial<Signed>,
  operation: string,
  input: unknown = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `${TARGET}.${operation}`,
  }
  if (s.cookie) headers['cookie'] = s.cookie
  if (s.csrf) headers['x-csrf-token'] = s.csrf
  const res = await fetch(url + '/', { method: 'POST', headers, body: JSON.stringify(input) })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

async function waitFor(
  t: TestServer,
  pred: (e: Recorded) => boolean,
  eventName: string,
): Promise<Recorded> {
  const client = t.client()
  for (let i = 0; i < 100; i++) {
    const all = await lookupAll(client, [{ AttributeKey: 'EventName', AttributeValue: eventName }])
    const hit = all.find(pred)
    if (hit) return hit
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no ${eventName} event matched`)
}

describe('web console: sign-in, sessions and console calls', () => {
  let t: TestServer
  let accountId: string
  let adminPassword: string
  let store: IdentityStore

  before(async () => {
    t = await startTestServer()
    adminPassword = (await readFile(join(t.dataDir, 'console-password'), 'utf8')).trim()
    store = await IdentityStore.open(join(t.dataDir, 'iam.json'))
    accountId = store.defaultAccountId!
    await store.createUser(accountId, 'reader', ['AWSCloudTrail_ReadOnlyAccess'])
    await store.setLoginProfile(accountId, 'reader', await hashPassword('Reader-pass-1'))
  })
  after(() => t.close())

  it('writes the administrator password to console-password, mode 0600', async () => {
    const info = await stat(join(t.dataDir, 'console-password'))
    assert.equal(info.mode & 0o777, 0o600)
    assert.ok(adminPassword.length >= 16)
  })

  it('signs in with a session cookie (HttpOnly, SameSite=Strict) and records Success', async () => {
    const r = await signIn(t.url, { userName: 'admin', password: adminPassword })
    assert.equal(r.status, 200)
    assert.match(r.setCookie!, /HttpOnly/)
    assert.match(r.setCookie!, /SameSite=Strict/)
    assert.match(r.setCookie!, /Path=\//)
    assert.equal(r.json['userName'], 'admin')
    assert.equal(typeof r.json['csrfToken'], 'string')
    const e = await waitFor(
      t,
      (e) => (e.responseElements as { ConsoleLogin?: string })?.ConsoleLogin === 'Success',
      'ConsoleLogin',
    )
    assert.equal(e.eventSource, 'signin.amazonaws.com')
    assert.equal(e.eventType, 'AwsConsoleSignIn')
    assert.equal((e.userIdentity as { userName: string }).userName, 'admin')
    assert.equal((e.additionalEventData as { MFAUsed: string }).MFAUsed, 'No')
    assert.equal(e.errorMessage, undefined)
    assert.equal(e.recipientAccountId, accountId)
  })

  it('refuses a sign-in that is not JSON (a cross-site form cannot sign anyone in)', async () => {
    const res = await fetch(`${t.url}/console/api/signin`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ userName: 'admin', password: adminPassword }),
    })
    assert.equal(res.status, 415)
    assert.equal(res.headers.get('set-cookie'), null)
  })

  it('records a wrong password and an unknown user as Failure, "Failed authentication"', async () => {
    const bad = await signIn(t.url, { userName: 'reader', password: 'Wrong-pass-1' })
    assert.equal(bad.status, 401)
    assert.equal(bad.setCookie, null)
    const unknown = await signIn(t.url, { userName: 'Secret-typed-here', password: 'x' })
    assert.equal(unknown.status, 401)
    const failed = await waitFor(
      t,
      (e) => (e.userIdentity as { userName?: string }).userName === 'reader',
      'ConsoleLogin',
    )
    assert.deepEqual(failed.responseElements, { ConsoleLogin: 'Failure' })
    assert.equal(failed.errorMessage, 'Failed authentication')
    assert.equal((failed.userIdentity as { type: string }).type, 'IAMUser')
    const hidden = await waitFor(
      t,
      (e) =>
        (e.userIdentity as { userName?: string }).userName === 'HIDDEN_DUE_TO_SECURITY_REASONS',
      'ConsoleLogin',
    )
    assert.deepEqual(hidden.responseElements, { ConsoleLogin: 'Failure' })
    // The mistyped value is never recorded.
    assert.doesNotMatch(JSON.stringify(hidden), /Secret-typed-here/)
  })

  it('runs API calls as the signed-in user, with the CSRF token, recorded as from the console', async () => {
    const s = await signedIn(t.url, { userName: 'admin', password: adminPassword })
    const created = await consoleCall(t.url, s, 'CreateTrail', {
      Name: 'console-trail',
      S3BucketName: 'console-bucket',
    })
    assert.equal(created.status, 200, JSON.stringify(created.json))
    const e = await waitFor(t, () => true, 'CreateTrail')
    const ui = e.userIdentity as Record<string, unknown>
    assert.equal(ui['type'], 'IAMUser')
    assert.equal(ui['userName'], 'admin')
    assert.match(ui['accessKeyId'] as string, /^ASIA[A-Z2-7]{16}$/)
    assert.equal(
      (ui['sessionContext'] as { attributes: { mfaAuthenticated: string } }).attributes
        .mfaAuthenticated,
      'false',
    )
    assert.equal(e.sessionCredentialFromConsole, 'true')
    assert.equal(e.userAgent, 'node')
  })

  it('refuses a console call without the CSRF token, without a session, or after sign-out', async () => {
    const s = await signedIn(t.url, { userName: 'admin', password: adminPassword })
    const noCsrf = await consoleCall(t.url, { cookie: s.cookie }, 'ListTrails')
    assert.equal(noCsrf.status, 403)
    assert.equal(noCsrf.json['__type'], 'AccessDeniedException')
    const wrongCsrf = await consoleCall(
      t.url,
      { cookie: s.cookie, csrf: 'x' + s.csrf },
      'ListTrails',
    )
    assert.equal(wrongCsrf.status, 403)
    const none = await consoleCall(t.url, {}, 'ListTrails')
    assert.equal(none.json['__type'], 'MissingAuthenticationTokenException')
    const out = await fetch(`${t.url}/console/api/signout`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    })
    assert.equal(out.status, 200)
    const after = await consoleCall(t.url, s, 'ListTrails')
    assert.equal(after.status, 403)
    assert.equal(after.json['__type'], 'ExpiredTokenException')
    const session = await fetch(`${t.url}/console/api/session`, { headers: { cookie: s.cookie } })
    assert.equal(session.status, 401)
  })

  it("applies the user's own policies to console calls", async () => {
    const s = await signedIn(t.url, { userName: 'reader', password: 'Reader-pass-1' })
    const list = await consoleCall(t.url, s, 'DescribeTrails')
    assert.equal(list.status, 200)
    const denied = await consoleCall(t.url, s, 'DeleteTrail', { Name: 'console-trail' })
    assert.equal(denied.status, 400)
    assert.equal(denied.json['__type'], 'AccessDeniedException')
    assert.match(denied.json['message'] as string, /user\/reader is not authorized/)
  })

  it('asks for a TOTP code when the user has MFA, and records MFAUsed Yes', async () => {
    const secret = newTotpSecret()
    await store.createUser(accountId, 'mfa-user', ['AWSCloudTrail_ReadOnlyAccess'])
    await store.setLoginProfile(accountId, 'mfa-user', await hashPassword('Mfa-user-pass-1'))
    await store.setMfa(accountId, 'mfa-user', secret)
    const first = await signIn(t.url, { userName: 'mfa-user', password: 'Mfa-user-pass-1' })
    assert.equal(first.status, 200)
    assert.deepEqual(first.json, { mfaRequired: true })
    assert.equal(first.setCookie, null)
    const wrong = await signIn(t.url, {
      userName: 'mfa-user',
      password: 'Mfa-user-pass-1',
      mfaCode: '000000' === totpCode(secret, Date.now()) ? '111111' : '000000',
    })
    assert.equal(wrong.status, 401)
    const s = await signedIn(t.url, {
      userName: 'mfa-user',
      password: 'Mfa-user-pass-1',
      mfaCode: totpCode(secret, Date.now()),
    })
    assert.equal(s.body['mfaAuthenticated'], true)
    const ok = await waitFor(
      t,
      (e) =>
        (e.userIdentity as { userName?: string }).userName === 'mfa-user' &&
        (e.responseElements as { ConsoleLogin: string }).ConsoleLogin === 'Success',
      'ConsoleLogin',
    )
    assert.equal((ok.additionalEventData as { MFAUsed: string }).MFAUsed, 'Yes')
    const failed = await waitFor(
      t,
      (e) =>
        (e.userIdentity as { userName?: string }).userName === 'mfa-user' &&
        (e.responseElements as { ConsoleLogin: string }).ConsoleLogin === 'Failure',
      'ConsoleLogin',
    )
    assert.equal((failed.additionalEventData as { MFAUsed: string }).MFAUsed, 'Yes')
  })

  it('signs the root user in once it has a password, recorded as Root', async () => {
    const before = await signIn(t.url, { account: accountId, root: true, password: 'Root-pass-1' })
    assert.equal(before.status, 401)
    await store.setLoginProfile(accountId, undefined, await hashPassword('Root-pass-1'))
    const s = await signedIn(t.url, { account: accountId, root: true, password: 'Root-pass-1' })
    assert.equal(s.body['type'], 'Root')
    const e = await waitFor(
      t,
      (e) =>
        (e.userIdentity as { type: string }).type === 'Root' &&
        (e.responseElements as { ConsoleLogin: string }).ConsoleLogin === 'Success',
      'ConsoleLogin',
    )
    assert.equal((e.userIdentity as { arn: string }).arn, `arn:aws:iam::${accountId}:root`)
    const call = await consoleCall(t.url, s, 'ListTrails')
    assert.equal(call.status, 200)
    const listed = await waitFor(
      t,
      (e) => (e.userIdentity as { type: string }).type === 'Root',
      'ListTrails',
    )
    assert.equal(listed.sessionCredentialFromConsole, 'true')
  })

  it('locks an identity after 5 failures in 15 minutes, even with the right password', async () => {
    await store.createUser(accountId, 'victim', [])
    await store.setLoginProfile(accountId, 'victim', await hashPassword('Victim-pass-1'))
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await signIn(t.url, { userName: 'victim', password: `guess-${i}` })).status,
        401,
      )
    const right = await signIn(t.url, { userName: 'victim', password: 'Victim-pass-1' })
    assert.equal(right.status, 401)
    assert.match(right.json['message'] as string, /Too many failed sign-in attempts/)
  })

  it('lists a bucket through the S3 bridge as the signed-in user', async () => {
    const s = await signedIn(t.url, { userName: 'admin', password: adminPassword })
    const mb = await fetch(`${t.url}/console-made-bucket`, { method: 'PUT' })
    assert.equal(mb.status, 403) // unsigned: the S3 API refuses; the console does not take it
    const res = await fetch(`${t.url}/console/api/s3/console-bucket?list-type=2`, {
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    })
    // The trail's bucket does not exist in the embedded store until created: S3's own error.
    assert.match(await res.text(), /NoSuchBucket|ListBucketResult/)
    const noCsrf = await fetch(`${t.url}/console/api/s3/console-bucket?list-type=2`, {
      headers: { cookie: s.cookie },
    })
    assert.equal(noCsrf.status, 403)
  })

  it('sends signed S3 requests for a bucket named console to the S3 API, not the console', async () => {
    const page = await fetch(`${t.url}/console/`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 x' },
    })
    assert.match(page.headers.get('content-type') ?? '', /xml/)
  })
})
