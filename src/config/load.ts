/** @module config/load  Reads the config file and merges environment variables and flags over it. */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { configSchema, type Config } from './schema.js'

export class ConfigError extends Error {
  override name = 'ERR_CONFIG_INVALID'
}

export interface Overrides {
  port?: number
  host?: string
  dataDir?: string
  config?: string
}

export async function loadConfig(overrides: Overrides = {}, env = process.env): Promise<Config> {
  const file = overrides.config ?? env['OPENTRAIL_CONFIG']
  let raw: Record<string, unknown> = {}
  if (file) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`)
    }
    try {
      raw =
        ((file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Record<
          string,
          unknown
        > | null) ?? {}
    } catch (err) {
      throw new ConfigError(
        `Config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${parseErrorPosition(err)}`,
      )
    }
  }
  if (env['OPENTRAIL_PORT']) raw['port'] = Number(env['OPENTRAIL_PORT'])
  if (env['OPENTRAIL_HOST']) raw['host'] = env['OPENTRAIL_HOST']
  if (env['OPENTRAIL_DATA_DIR']) raw['dataDir'] = env['OPENTRAIL_DATA_DIR']
  if (env['OPENTRAIL_REGION']) raw['region'] = env['OPENTRAIL_REGION']
  if (overrides.port !== undefined) raw['port'] = overrides.port
  if (overrides.host !== undefined) raw['host'] = overrides.host
  if (overrides.dataDir !== undefined) raw['dataDir'] = overrides.dataDir
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ConfigError(`Invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`)
  }
  return parsed.data
}

/**
 * Where a parse error is, without echoing the offending source line: a config file holds secret
 * keys, and error messages reach terminals and logs.
 */
function parseErrorPosition(err: unknown): string {
  const e = err as { linePos?: { line: number; col: number }[]; message?: string }
  const pos = e.linePos?.[0]
  if (pos) return `syntax error at line ${pos.line}, column ${pos.col}`
  const m = /position (\d+)/.exec(e.message ?? '')
  return m ? `syntax error at character ${m[1]}` : 'syntax error'
}
