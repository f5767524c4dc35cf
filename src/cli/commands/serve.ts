/** @module cli/commands/serve  `opentrail serve`: run the server until SIGINT/SIGTERM. */
import type { Command } from 'commander'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../config/load.js'
import { configSchema, type Config } from '../../config/schema.js'
import { gatewaySettings, GatewaySettingsError, parseGatewayFlag } from '../../gateway/settings.js'

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the OpenTrail server')
    .option('-p, --port <port>', 'port to listen on (default 7310, env OPENTRAIL_PORT)', (v) =>
      Number(v),
    )
    .option('--host <host>', 'address to listen on (default 127.0.0.1, env OPENTRAIL_HOST)')
    .option('-d, --data-dir <dir>', 'data directory (default ./data, env OPENTRAIL_DATA_DIR)')
    .option('-c, --config <file>', 'config file, YAML or JSON (env OPENTRAIL_CONFIG)')
    .option(
      '--delivery-interval <seconds>',
      'how often trails write log files (default 300, config deliveryIntervalSeconds)',
      Number,
    )
    .option(
      '--digest-interval <seconds>',
      'one digest file per trail and region per interval (default 3600, config digestIntervalSeconds)',
      Number,
    )
    .option(
      '--s3-endpoint <url>',
      'deliver trails to this S3-compatible endpoint instead of <data-dir>/buckets (config s3.endpoint)',
    )
    .option(
      '--gateway <HOST:PORT=UPSTREAM_URL>',
      'run a recording gateway in front of an AWS-compatible endpoint (repeatable; upstream credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; config gateways)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(async (opts: ServeOptions) => {
      let config
      try {
        config = withGateways(
          withS3Endpoint(withDeliveryFlags(await loadConfig(opts), opts), opts),
          opts,
        )
        // Fails early, before anything starts, when a gateway has no upstream credentials.
        for (const g of config.gateways) gatewaySettings(g)
      } catch (err) {
        if (err instanceof ConfigError || err instanceof GatewaySettingsError) {
          process.stderr.write(`${err.message}\n`)
          process.exit(2)
        }
        throw err
      }
      // Loaded here, not at the top: the client commands must not pay for the server's modules.
      const { startServer } = await import('../../main.js')
      const server = await startServer(config)
      process.stdout.write(
        `OpenTrail listening on ${server.url}\n` +
          server.gateways
            .map((g) => `Recording gateway ${g.url} -> ${g.settings.upstream}\n`)
            .join('') +
          `Credentials: ${join(server.dataDir, 'credentials')} (profile opentrail)\n` +
          `Try: AWS_SHARED_CREDENTIALS_FILE=${join(server.dataDir, 'credentials')} AWS_PROFILE=opentrail aws --endpoint-url ${server.url} cloudtrail describe-trails\n`,
      )
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        void server.close().then(() => process.exit(0))
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
}

interface ServeOptions {
  port?: number
  host?: string
  dataDir?: string
  config?: string
  deliveryInterval?: number
  digestInterval?: number
  s3Endpoint?: string
  gateway?: string[]
}

/** `--gateway HOST:PORT=UPSTREAM_URL` (repeatable) added to the config file's `gateways`. */
function withGateways(config: Config, opts: ServeOptions): Config {
  if (!opts.gateway?.length) return config
  let flags
  try {
    flags = opts.gateway.map(parseGatewayFlag)
  } catch (err) {
    throw new ConfigError(`Invalid options:\n  --gateway: ${(err as Error).message}`)
  }
  const parsed = configSchema.safeParse({ ...config, gateways: [...config.gateways, ...flags] })
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  --gateway: ${i.message}`)
    throw new ConfigError(`Invalid options:\n${lines.join('\n')}`)
  }
  return parsed.data
}

/** `--s3-endpoint` over the config file's `s3` section, validated by the same schema. */
function withS3Endpoint(config: Config, opts: ServeOptions): Config {
  if (opts.s3Endpoint === undefined) return config
  const parsed = configSchema.safeParse({
    ...config,
    s3: { ...(config.s3 ?? {}), endpoint: opts.s3Endpoint },
  })
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  --s3-endpoint: ${i.message}`)
    throw new ConfigError(`Invalid options:\n${lines.join('\n')}`)
  }
  return parsed.data
}

/** Applies the delivery flags over the loaded config, validated by the same schema. */
function withDeliveryFlags<T extends object>(config: T, opts: ServeOptions): T {
  if (opts.deliveryInterval === undefined && opts.digestInterval === undefined) return config
  const parsed = configSchema.safeParse({
    ...config,
    ...(opts.deliveryInterval !== undefined
      ? { deliveryIntervalSeconds: opts.deliveryInterval }
      : {}),
    ...(opts.digestInterval !== undefined ? { digestIntervalSeconds: opts.digestInterval } : {}),
  })
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  --${flagOf(i.path.join('.'))}: ${i.message}`)
    throw new ConfigError(`Invalid options:\n${lines.join('\n')}`)
  }
  return parsed.data as T
}

const flagOf = (field: string) =>
  field === 'deliveryIntervalSeconds'
    ? 'delivery-interval'
    : field === 'digestIntervalSeconds'
      ? 'digest-interval'
      : field
