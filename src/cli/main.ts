/** @module cli/main  The `opentrail` command. Each sub-command lives in `commands/<verb>.ts`. */
import { Command } from 'commander'
import { registerServe } from './commands/serve.js'

const program = new Command('opentrail')
  .description('OpenTrail: a self-hosted audit trail service, wire-compatible with AWS CloudTrail')
  .version('0.1.0')

registerServe(program)

await program.parseAsync(process.argv)
