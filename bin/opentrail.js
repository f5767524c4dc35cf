#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so a fresh clone needs no build step.
import process from 'node:process'
import { register } from 'tsx/esm/api'

register()
if (process.argv[2] === 'validate-logs') {
  // Loads only that command's modules: a faster start for a command timed against the AWS CLI's.
  await (await import('../src/cli/commands/validate-logs.ts')).runStandalone(process.argv)
} else {
  await import('../src/cli/main.ts')
}
