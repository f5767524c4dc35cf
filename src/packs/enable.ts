/**
 * @module packs/enable
 * Enabling a security pack: what each pack creates, through the public APIs (`PackApi`), so that a
 * pack is nothing but ordinary topics, rules, metric filters and alarms a user could have made by
 * hand (and can inspect, change or delete the same way). Enabling twice changes nothing.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { CIS_CONTROLS, cisAlarm, cisMetricFilter } from './cis.js'
import type { PackApi } from './client.js'
import {
  PROTECT_TRAIL_DESCRIPTION,
  PROTECT_TRAIL_PATTERN,
  PROTECT_TRAIL_RULE,
} from './protect-trail.js'
import { convertSigma, sigmaRuleName, type SigmaConversion } from './sigma.js'

export const DEFAULT_TOPIC = 'opentrail-security-alerts'
export const PACKS = ['cis', 'protect-trail'] as const
export type PackName = (typeof PACKS)[number]

/** The topic ARN to alert: given, or the default topic (created if missing). */
export async function alertTopic(api: PackApi, topicArn?: string): Promise<string> {
  return topicArn ?? (await api.createTopic(DEFAULT_TOPIC))
}

export async function enableProtectTrail(
  api: PackApi,
  topicArn: string,
): Promise<{ rule: string; topicArn: string }> {
  await api.putRule(
    PROTECT_TRAIL_RULE,
    JSON.stringify(PROTECT_TRAIL_PATTERN),
    PROTECT_TRAIL_DESCRIPTION,
  )
  await api.putTargets(PROTECT_TRAIL_RULE, [{ Id: 'alerts', Arn: topicArn }])
  return { rule: PROTECT_TRAIL_RULE, topicArn }
}

/**
 * The log group for CIS: given, or the one the trail (`trail`, or the only trail with a log
 * group) sends to. CIS controls watch the trail's CloudWatch Logs log group.
 */
export async function cisLogGroup(
  api: PackApi,
  o: { logGroup?: string; trail?: string },
): Promise<string> {
  if (o.logGroup) return o.logGroup
  const trails = (await api.trails()).filter(
    (t) => t.logGroupArn && (!o.trail || t.name === o.trail),
  )
  if (trails.length !== 1) {
    throw new Error(
      trails.length === 0
        ? `No trail${o.trail ? ` named ${o.trail}` : ''} sends to a log group (CloudWatchLogsLogGroupArn); give --log-group.`
        : `Several trails send to log groups (${trails.map((t) => t.name).join(', ')}); give --trail or --log-group.`,
    )
  }
  // arn:aws:logs:region:account:log-group:NAME:*
  const m = /:log-group:([^:]+)/.exec(trails[0]!.logGroupArn!)
  if (!m) throw new Error(`Cannot read the log group name from ${trails[0]!.logGroupArn}`)
  return m[1]!
}

export async function enableCis(
  api: PackApi,
  o: { logGroupName: string; topicArn: string },
): Promise<{ controls: string[]; logGroupName: string; topicArn: string }> {
  // A trail creates its log group on first delivery; the filters need it now.
  await api.ensureLogGroup(o.logGroupName)
  for (const c of CIS_CONTROLS) {
    await api.putMetricFilter(cisMetricFilter(c, o.logGroupName))
    await api.putMetricAlarm(cisAlarm(c, o.topicArn))
  }
  return { controls: CIS_CONTROLS.map((c) => c.id), ...o }
}

export interface SigmaImport {
  loaded: { file: string; rule: string; title: string; level?: string }[]
  skipped: { file: string; title: string; reasons: string[] }[]
}

/** Every .yml/.yaml file under `dir`, in name order. */
export async function sigmaFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : 1))
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (/\.ya?ml$/i.test(e.name)) out.push(p)
    }
  }
  await walk(dir)
  return out
}

/** Converts every Sigma rule under `dir`; the convertible ones become event rules on `topicArn`. */
export async function importSigma(
  api: PackApi,
  dir: string,
  topicArn: string,
): Promise<SigmaImport> {
  const result: SigmaImport = { loaded: [], skipped: [] }
  for (const file of await sigmaFiles(dir)) {
    const rel = relative(dir, file)
    let c: SigmaConversion
    try {
      c = convertSigma(await readFile(file, 'utf8'), rel)
    } catch (e) {
      result.skipped.push({ file: rel, title: rel, reasons: [(e as Error).message] })
      continue
    }
    if (!c.pattern) {
      result.skipped.push({ file: rel, title: c.title, reasons: c.unsupported })
      continue
    }
    const name = sigmaRuleName(rel)
    try {
      await api.putRule(name, c.pattern, `Sigma: ${c.title}`.slice(0, 512))
      await api.putTargets(name, [{ Id: 'alerts', Arn: topicArn }])
      result.loaded.push({
        file: rel,
        rule: name,
        title: c.title,
        ...(c.level ? { level: c.level } : {}),
      })
    } catch (e) {
      result.skipped.push({ file: rel, title: c.title, reasons: [(e as Error).message] })
    }
  }
  return result
}
