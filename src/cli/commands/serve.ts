/** @module cli/commands/serve  `opentrail serve`: run the server until SIGINT/SIGTERM. */
import type { Command } from 'commander'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../config/load.js'

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
    .action(async (opts: { port?: number; host?: string; dataDir?: string; config?: string }) => {
      let config
      try {
        config = await loadConfig(opts)
      } catch (err) {
        if (err instanceof ConfigError) {
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
