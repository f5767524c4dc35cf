/**
 * @module cli/ini
 * The AWS shared credentials/config file format: enough to read a profile's keys and region, and to
 * add or replace one profile while leaving the rest of the file as it was.
 */

export type IniSections = Map<string, Map<string, string>>

const SECTION = /^\s*\[([^\]]+)\]\s*$/
const ENTRY = /^\s*([^=#;\s][^=]*?)\s*=\s*(.*?)\s*$/

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map()
  let current: Map<string, string> | undefined
  for (const line of text.split(/\r?\n/)) {
    const section = SECTION.exec(line)
    if (section) {
      const name = section[1]!.trim()
      current = sections.get(name) ?? new Map<string, string>()
      sections.set(name, current)
      continue
    }
    const entry = ENTRY.exec(line)
    if (entry && current) current.set(entry[1]!.toLowerCase(), entry[2]!)
  }
  return sections
}

/** Replaces the section `[name]` (or appends it) with `values`, keeping every other line. */
export function upsertIniSection(
  text: string,
  name: string,
  values: Record<string, string>,
): string {
  const body = Object.entries(values).map(([k, v]) => `${k} = ${v}`)
  const lines = text === '' ? [] : text.replace(/\n$/, '').split(/\r?\n/)
  const out: string[] = []
  let skipping = false
  let replaced = false
  for (const line of lines) {
    const section = SECTION.exec(line)
    if (section) {
      skipping = section[1]!.trim() === name
      if (skipping && !replaced) {
        out.push(`[${name}]`, ...body)
        replaced = true
      }
      if (skipping) continue
    }
    if (!skipping) out.push(line)
  }
  if (!replaced) {
    if (out.length > 0 && out[out.length - 1]!.trim() !== '') out.push('')
    out.push(`[${name}]`, ...body)
  }
  return out.join('\n') + '\n'
}
