/**
 * Security posture: the Security Hub CloudTrail controls and the CIS logging checks, evaluated by
 * the server against OpenTrail's own trails and buckets (OpenTrailPosture_20250601
 * GetSecurityPosture, the same report as `opentrail check`), with findings and remediation.
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { errorText } from '../util'

export interface PostureReport {
  Summary: { Passed: number; Failed: number; Unknown: number; NotApplicable: number }
  Controls: {
    ControlId: string
    Title: string
    Severity: string
    RelatedRequirements?: string[]
    Status: string
    Findings: { Resource: string; Status: string; Reason: string }[]
    Remediation: string
  }[]
}

export const getPosture = () =>
  call<PostureReport>('GetSecurityPosture', {}, 'OpenTrailPosture_20250601')

const statusClass = (s: string) => (s === 'PASSED' ? 'ok' : s === 'FAILED' ? 'bad' : 'muted')

export function Posture() {
  const [report, setReport] = useState<PostureReport | undefined>()
  const [error, setError] = useState('')
  const [onlyFailed, setOnlyFailed] = useState(false)
  const load = () => {
    setReport(undefined)
    getPosture()
      .then(setReport)
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(load, [])
  const controls = (report?.Controls ?? []).filter((c) => !onlyFailed || c.Status === 'FAILED')
  return (
    <section aria-labelledby="posture-title">
      <div class="title-row">
        <h1 id="posture-title">Security posture</h1>
        <button type="button" onClick={load}>
          Evaluate again
        </button>
      </div>
      <p class="lead">
        Security Hub's CloudTrail controls and the CIS logging checks, evaluated against this
        server's trails and buckets. <code>opentrail check</code> prints the same report.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!report ? (
        !error && <p>Evaluating…</p>
      ) : (
        <>
          <p role="status" class="summary-line">
            <span class="ok">{report.Summary.Passed} passed</span> ·{' '}
            <span class="bad">{report.Summary.Failed} failed</span> · {report.Summary.Unknown}{' '}
            unknown · {report.Summary.NotApplicable} not applicable
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={onlyFailed}
              onChange={(e) => setOnlyFailed(e.currentTarget.checked)}
            />
            Only failed controls
          </label>
          {controls.map((c) => (
            <article class="panel" aria-labelledby={`ctl-${c.ControlId}`}>
              <header>
                <h2 id={`ctl-${c.ControlId}`}>
                  {c.ControlId} · {c.Title}
                </h2>
                <span class={statusClass(c.Status)}>{c.Status}</span>
              </header>
              <p class="muted">
                Severity {c.Severity}
                {c.RelatedRequirements?.length ? ` · ${c.RelatedRequirements.join(', ')}` : ''}
              </p>
              <ul class="plain">
                {c.Findings.map((f) => (
                  <li>
                    <span class={statusClass(f.Status)}>{f.Status}</span> {f.Resource}: {f.Reason}
                  </li>
                ))}
              </ul>
              {c.Status === 'FAILED' && (
                <p class="remediation">
                  <strong>Remediation:</strong> {c.Remediation}
                </p>
              )}
            </article>
          ))}
        </>
      )}
    </section>
  )
}
