/**
 * @module cli/connection
 * How a CLI command reaches a server: `--endpoint-url`, `--region`, `--profile`, and credentials
 * from the standard AWS chain, falling back to a profile in `<data-dir>/credentials`. Commands
 * speak the public APIs as any AWS client would: through an SDK client (`sdkClient`), or, for APIs
 * without one here, a signed call (shared/aws-call) to `connect(opts)`.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers'
import type { Command } from 'commander'
import { parseIni } from './ini.js'

type CredentialProvider = ReturnType<typeof fromNodeProviderChain>
type Credentials = Awaited<ReturnType<CredentialProvider>>

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:7310'
export const DEFAULT_PROFILE = 'opentrail'
export const CLI_USER_AGENT = 'opentrail-cli/0.1.0'

export interface ConnectionOptions {
  endpointUrl?: string
  region?: string
  profile?: string
  dataDir?: string
}

/** The data directory: `--data-dir`, then `OPENTRAIL_DATA_DIR`, then `./data`. */
export function resolveDataDir(flag: string | undefined, env = process.env): string {
  return resolve(flag ?? env['OPENTRAIL_DATA_DIR'] ?? './data')
}

export function addDataDirOption(cmd: Command): Command {
  return cmd.option(
    '-d, --data-dir <dir>',
    'data directory (default ./data, env OPENTRAIL_DATA_DIR)',
  )
}

export function addConnectionOptions(cmd: Command): Command {
  return addDataDirOption(
    cmd
      .option(
        '--endpoint-url <url>',
        `server URL (default ${DEFAULT_ENDPOINT}, env OPENTRAIL_ENDPOINT_URL)`,
      )
      .option('--region <region>', 'region (default: AWS_REGION, the profile, or us-east-1)')
      .option('--profile <name>', 'AWS profile (default: AWS_PROFILE, default, then opentrail)'),
  )
}

function readProfile(file: string, profile: string): Map<string, string> | undefined {
  try {
    return parseIni(readFileSync(file, 'utf8')).get(profile)
  } catch {
    return undefined
  }
}

export class CredentialsNotFound extends Error {
  override name = 'NoCredentials'
}

/**
 * The standard AWS chain (environment, shared files, profiles, SSO, process, web identity; see
 * fromNodeProviderChain). When it finds nothing, the profile of that name (or `opentrail`) in
 * `<data-dir>/credentials`, which the server writes at its first start.
 */
export function credentialProvider(opts: {
  profile?: string
  dataDir: string
}): CredentialProvider {
  // Instance-metadata credentials are AWS's, never OpenTrail's; probing for them costs a timeout
  // on every machine that is not on EC2. Opt back in with AWS_EC2_METADATA_DISABLED=false.
  process.env['AWS_EC2_METADATA_DISABLED'] ??= 'true'
  const standard = fromNodeProviderChain(opts.profile ? { profile: opts.profile } : {})
  const fallbackProfile = opts.profile ?? process.env['AWS_PROFILE'] ?? DEFAULT_PROFILE
  const fallbackFile = join(opts.dataDir, 'credentials')
  const fallback = fromIni({
    profile: fallbackProfile,
    filepath: fallbackFile,
    configFilepath: join(opts.dataDir, 'config'),
    ignoreCache: true,
  })
  let cached: Promise<Credentials> | undefined
  return () =>
    (cached ??= standard().catch(async (err: unknown) => {
      if ((err as Error).name !== 'CredentialsProviderError') throw err
      try {
        return await fallback()
      } catch {
        throw new CredentialsNotFound(
          `No credentials found: the AWS credential chain has none (${(err as Error).message}) ` +
            `and ${fallbackFile} has no profile '${fallbackProfile}'. Start the server once ` +
            `(opentrail serve) to create it, or pass --data-dir, --profile, or AWS_* variables.`,
        )
      }
    }))
}

/** `--region`, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, the data-dir profile's, us-east-1. */
export function resolveRegion(opts: {
  region?: string
  profile?: string
  dataDir: string
}): string {
  const env = process.env
  if (opts.region) return opts.region
  const fromEnv = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION']
  if (fromEnv) return fromEnv
  const profile = opts.profile ?? env['AWS_PROFILE'] ?? 'default'
  const configFile = env['AWS_CONFIG_FILE'] ?? join(homedir(), '.aws', 'config')
  const section = profile === 'default' ? 'default' : `profile ${profile}`
  const fromConfig = readProfile(configFile, section)?.get('region')
  if (fromConfig) return fromConfig
  const dataProfile = opts.profile ?? env['AWS_PROFILE'] ?? DEFAULT_PROFILE
  return readProfile(join(opts.dataDir, 'credentials'), dataProfile)?.get('region') ?? 'us-east-1'
}

export function resolveEndpoint(flag: string | undefined): string {
  return flag ?? process.env['OPENTRAIL_ENDPOINT_URL'] ?? DEFAULT_ENDPOINT
}

/** Where and as whom a command calls: what its options resolve to (see the functions above). */
export interface Connection {
  endpoint: string
  region: string
  credentials: CredentialProvider
  userAgent: string
}

export function connect(opts: ConnectionOptions): Connection {
  // OpenTrail targets Node 20; the SDK's notice about its future Node 22 floor is noise on a CLI.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true'
  const dataDir = resolveDataDir(opts.dataDir)
  return {
    endpoint: resolveEndpoint(opts.endpointUrl),
    region: resolveRegion({ ...opts, dataDir }),
    credentials: credentialProvider({ ...opts, dataDir }),
    userAgent: CLI_USER_AGENT,
  }
}

/** The configuration of an AWS SDK client for a connection. */
export function sdkConfig(c: Connection) {
  return {
    endpoint: c.endpoint,
    region: c.region,
    credentials: c.credentials,
    customUserAgent: c.userAgent,
    maxAttempts: 2,
  }
}

/** An AWS SDK client (CloudTrail, SNS, EventBridge...) for a command's connection options. */
export function sdkClient<C>(
  Client: new (config: ReturnType<typeof sdkConfig>) => C,
  opts: ConnectionOptions,
): C {
  return new Client(sdkConfig(connect(opts)))
}

export function cloudTrailClient(opts: ConnectionOptions): CloudTrailClient {
  return sdkClient(CloudTrailClient, opts)
}
