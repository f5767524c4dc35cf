/**
 * @module domains/posture/evaluate
 * The security posture report: every control (controls.ts) evaluated over the same trails and
 * bucket settings. Pure: the CLI (`opentrail check`), the server's API and the console gather the
 * input their own way and share this code.
 */
import { CONTROLS } from './controls.js'
import type {
  ComplianceStatus,
  ControlResult,
  PostureInput,
  PostureOptions,
  PostureReport,
  ResourceFinding,
} from './model.js'

export { CONTROLS } from './controls.js'

/** FAILED beats UNKNOWN beats PASSED; no findings is NOT_APPLICABLE. */
export function overall(findings: ResourceFinding[]): ComplianceStatus {
  if (findings.some((f) => f.status === 'FAILED')) return 'FAILED'
  if (findings.some((f) => f.status === 'UNKNOWN')) return 'UNKNOWN'
  if (findings.some((f) => f.status === 'PASSED')) return 'PASSED'
  return 'NOT_APPLICABLE'
}

/** Throws RangeError for a control ID that does not exist. */
export function evaluatePosture(input: PostureInput, o: PostureOptions = {}): PostureReport {
  const known = new Set(CONTROLS.map((c) => c.id))
  const wanted = o.controls?.map((id) => {
    const c = CONTROLS.find((x) => x.id.toLowerCase() === id.toLowerCase())
    if (!c) throw new RangeError(`Unknown control ${id}; known: ${[...known].join(', ')}.`)
    return c.id
  })
  // Trails listed twice (shadow copies of a multi-Region trail) count once.
  const seen = new Set<string>()
  const trails = input.trails.filter((t) => !seen.has(t.arn) && seen.add(t.arn))
  const clean: PostureInput = { ...input, trails }
  const controls: ControlResult[] = []
  for (const c of CONTROLS) {
    if (wanted && !wanted.includes(c.id)) continue
    const findings = c.evaluate(clean, o)
    const status = overall(findings)
    const failed = findings.filter((f) => f.status === 'FAILED')
    controls.push({
      id: c.id,
      title: c.title,
      severity: c.severity,
      cis: [...c.cis],
      status,
      findings,
      remediation: failed.length > 0 ? c.remediate(failed, clean, o) : [],
    })
  }
  const count = (s: ComplianceStatus) => controls.filter((c) => c.status === s).length
  return {
    controls,
    summary: {
      passed: count('PASSED'),
      failed: count('FAILED'),
      unknown: count('UNKNOWN'),
      notApplicable: count('NOT_APPLICABLE'),
    },
  }
}
