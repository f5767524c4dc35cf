import { useState } from 'preact/hooks'
import { signIn, type Identity } from '../api'

export function SignIn(props: { expired: boolean; onSignedIn: (id: Identity) => void }) {
  const [root, setRoot] = useState(false)
  const [account, setAccount] = useState('')
  const [userName, setUserName] = useState('')
  const [password, setPassword] = useState('')
  const [mfaCode, setMfaCode] = useState('')
  const [needMfa, setNeedMfa] = useState(false)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function submit(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    const answer = await signIn({
      ...(account ? { account } : {}),
      ...(root ? { root: true } : { userName }),
      password,
      ...(needMfa ? { mfaCode } : {}),
    }).catch((err: unknown) => ({ error: String(err) }))
    setBusy(false)
    if ('identity' in answer) props.onSignedIn(answer.identity)
    else if ('mfaRequired' in answer) setNeedMfa(true)
    else {
      setError(answer.error)
      setPassword('')
      setMfaCode('')
    }
  }

  return (
    <main class="signin" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to OpenTrail</h1>
        {props.expired && (
          <p class="notice" role="status">
            Your session has ended. Sign in again.
          </p>
        )}
        <fieldset class="radios">
          <legend>Sign in as</legend>
          <label>
            <input type="radio" name="who" checked={!root} onChange={() => setRoot(false)} /> IAM
            user
          </label>
          <label>
            <input type="radio" name="who" checked={root} onChange={() => setRoot(true)} /> Root
            user
          </label>
        </fieldset>
        <label for="account">Account ID or alias</label>
        <input
          id="account"
          name="account"
          value={account}
          placeholder="default account"
          autoComplete="organization"
          onInput={(e) => setAccount(e.currentTarget.value)}
        />
        {!root && (
          <>
            <label for="username">IAM user name</label>
            <input
              id="username"
              name="username"
              required
              autoComplete="username"
              value={userName}
              onInput={(e) => setUserName(e.currentTarget.value)}
            />
          </>
        )}
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          required
          autoComplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {needMfa && (
          <>
            <label for="mfa">MFA code</label>
            <input
              id="mfa"
              name="mfa"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              required
              value={mfaCode}
              onInput={(e) => setMfaCode(e.currentTarget.value)}
            />
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : needMfa ? 'Submit MFA code' : 'Sign in'}
        </button>
        <p class="hint">
          The administrator's first password is in <code>&lt;data-dir&gt;/console-password</code>;
          set others with <code>opentrail user password NAME</code>.
        </p>
      </form>
    </main>
  )
}
