import { useState } from 'preact/hooks'
import { validateLogs, type ValidateResult } from '../api'
import { errorText, localInput } from '../util'

/** Validates a trail's log files over a time range (the digest chain walk, run on the server). */
export function ValidatePanel({ trailArn }: { trailArn: string }) {
  const [start, setStart] = useState(localInput(new Date(Date.now() - 3_600_000)))
  const [end, setEnd] = useState(localInput(new Date(Date.now() + 60_000)))
  const [result, setResult] = useState<ValidateResult | undefined>()
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const [all, setAll] = useState(false)

  async function run(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    setResult(undefined)
    try {
      setResult(
        await validateLogs(trailArn, new Date(start).toISOString(), new Date(end).toISOString()),
      )
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  const invalid = result ? result.digests.invalid + result.logs.invalid : 0
  const shown = result
    ? all
      ? result.findings
      : result.findings.filter((f) => f.level !== 'valid')
    : []
  return (
    <div>
      <form class="inline" onSubmit={(e) => void run(e)}>
        <label>
          From
          <input
            type="datetime-local"
            value={start}
            onInput={(e) => setStart(e.currentTarget.value)}
          />
        </label>
        <label>
          To
          <input type="datetime-local" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Validating…' : 'Validate log files'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div role="status" class="validation">
          <p class={invalid ? 'bad' : 'ok'}>
            {invalid ? 'INVALID: ' : 'Valid: '}
            {result.digests.valid}/{result.digests.valid + result.digests.invalid} digest files
            valid, {result.logs.valid}/{result.logs.valid + result.logs.invalid} log files valid
            {result.digests.valid + result.digests.invalid === 0
              ? ' (no digests found in this range)'
              : ''}
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={all}
              onChange={(e) => setAll(e.currentTarget.checked)}
            />
            Show valid files too
          </label>
          <ul class="findings">
            {shown.map((f) => (
              <li class={f.level === 'invalid' ? 'bad' : f.level === 'valid' ? 'ok' : ''}>
                {f.text}
              </li>
            ))}
          </ul>
          {result.truncated && <p class="muted">Only the first 1,000 findings are shown.</p>}
        </div>
      )}
    </div>
  )
}
