/**
 * Test helper: runs `opentrail serve` as a child process (port 0: the URL is read from stdout),
 * keeping everything it prints, so tests can kill it or inspect its log output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  url: string
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | NodeJS.Signals | null>
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>
}

export async function spawnServer(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const check = () => {
      const m = /OpenTrail listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.stdout.off('data', check)
        resolve(m[1]!)
      }
    }
    child.stdout.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${String(code)}) before listening:\n${out}`))
    })
  })
  return {
    child,
    url,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** bin/opentrail.js, to run the CLI as a child process. */
export const OPENTRAIL_BIN = BIN

export interface CommandRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command; `env` entries set to undefined are removed from the environment. */
export function runCommand(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CommandRun> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: merged, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

export const commandExists = (cmd: string) =>
  runCommand('sh', ['-c', `command -v ${cmd}`], {}).then((r) => r.code === 0)

/**
 * The environment for `opentrail` commands run by tests: none of the caller's AWS_* variables or
 * OPENTRAIL_ENDPOINT_URL, a HOME with no AWS config or credentials (so credentials come from the
 * data directory's `opentrail` profile), OPENTRAIL_DATA_DIR, and `extra`.
 */
export function opentrailEnv(
  home: string,
  dataDir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('AWS_') && k !== 'OPENTRAIL_ENDPOINT_URL',
    ),
  )
  return {
    ...env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    OPENTRAIL_DATA_DIR: dataDir,
    ...extra,
  }
}

/** Runs `opentrail args`; the exit code is -1 when the command was killed (timeout). */
export function runOpentrail(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    )
  })
}
