/**
 * @module gateway/settings
 * Gateways from the config file (`gateways: [{ listen, upstream, region, accessKeyId,
 * secretAccessKey }]`) and from `opentrail serve --gateway HOST:PORT=UPSTREAM_URL`. Upstream
 * credentials not given in the config come from the standard AWS environment variables
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 */
import type { GatewaySettings } from './gateway.js'

export interface GatewayEntry {
  listen: string
  upstream: string
  region?: string
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  waitForRecord?: boolean
  tls?: { certFile: string; keyFile: string }
}

export class GatewaySettingsError extends Error {}

/** `HOST:PORT=UPSTREAM_URL` → `{ listen, upstream }`. */
export function parseGatewayFlag(spec: string): GatewayEntry {
  const eq = spec.indexOf('=')
  if (eq <= 0 || eq === spec.length - 1)
    throw new GatewaySettingsError(
      `--gateway takes HOST:PORT=UPSTREAM_URL (e.g. 127.0.0.1:7320=http://127.0.0.1:9000), not '${spec}'`,
    )
  return { listen: spec.slice(0, eq).trim(), upstream: spec.slice(eq + 1).trim() }
}

/** A configured gateway with its upstream credentials resolved. */
export function gatewaySettings(
  entry: GatewayEntry,
  env: NodeJS.ProcessEnv = process.env,
): GatewaySettings {
  const accessKeyId = entry.accessKeyId ?? env['AWS_ACCESS_KEY_ID']
  const secretAccessKey = entry.secretAccessKey ?? env['AWS_SECRET_ACCESS_KEY']
  const sessionToken =
    entry.sessionToken ?? (entry.accessKeyId ? undefined : env['AWS_SESSION_TOKEN'])
  if (!accessKeyId || !secretAccessKey)
    throw new GatewaySettingsError(
      `The gateway ${entry.listen} → ${entry.upstream} has no upstream credentials: set accessKeyId and secretAccessKey in its config entry, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.`,
    )
  return {
    listen: entry.listen,
    upstream: entry.upstream,
    ...(entry.region ? { region: entry.region } : {}),
    ...(entry.waitForRecord !== undefined ? { waitForRecord: entry.waitForRecord } : {}),
    ...(entry.tls ? { tls: entry.tls } : {}),
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
  }
}
