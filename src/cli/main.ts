/** @module cli/main  The `opentrail` command. Each sub-command lives in `commands/<verb>.ts`. */
import { Command } from 'commander'
import { registerAlarms } from './commands/alarms.js'
import { registerCheck } from './commands/check.js'
import { registerImport } from './commands/import.js'
import { registerInsights } from './commands/insights.js'
import { registerPacks } from './commands/packs.js'
import { registerRules } from './commands/rules.js'
import { registerTopics } from './commands/topics.js'
import { registerKey } from './commands/key.js'
import { registerLake } from './commands/lake.js'
import { registerLogs } from './commands/logs.js'
import { registerLookupEvents } from './commands/lookup-events.js'
import { registerPassword } from './commands/password.js'
import { registerServe } from './commands/serve.js'
import { registerTail } from './commands/tail.js'
import { registerUser } from './commands/user.js'
import { registerValidateLogs } from './commands/validate-logs.js'

const program = new Command('opentrail')
  .description('OpenTrail: a self-hosted audit trail service, wire-compatible with AWS CloudTrail')
  .version('0.1.0')

registerServe(program)
registerUser(program)
registerPassword(program)
registerKey(program)
registerLookupEvents(program)
registerLake(program)
registerTail(program)
registerValidateLogs(program)
registerImport(program)
registerInsights(program)
registerTopics(program)
registerRules(program)
registerPacks(program)
registerCheck(program)
registerLogs(program)
registerAlarms(program)

await program.parseAsync(process.argv)
