/**
 * Test helper: the real AWS CLI (`aws`) pointed at a test server as the README says
 * (AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials AWS_PROFILE=opentrail --endpoint-url <url>),
 * with no config file and none of the caller's AWS_* variables, so the machine's own AWS setup
 * cannot leak in.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const probe = spawnSync('aws', ['--version'], { encoding: 'utf8' })
/** `aws --version`'s answer, or undefined when the AWS CLI is not on PATH. */
export const AWS_CLI_VERSION =
  probe.error || probe.status !== 0 ? undefined : `${probe.stdout}${probe.stderr}`.trim()

export interface AwsRun {
  /** The exit code; -1 when the CLI was killed (timeout). */
  code: number
  stdout: string
  stderr: string
}

/** What the CLI needs of a test server. */
export interface AwsTarget {
  url: string
  credentialsFile: string
}

/**
 * The environment for the CLI: `base` without its AWS_* variables, HOME and the config file in
 * `home`, the server's credentials file, profile opentrail, no pager, and `extra`.
 */
export function awsEnv(
  ts: AwsTarget,
  home: string,
  extra: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith('AWS_'))),
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: ts.credentialsFile,
    AWS_PROFILE: 'opentrail',
    AWS_PAGER: '',
    ...extra,
  }
}

/** Runs `aws args` with `env`, `input` on stdin; never rejects on a failing command. */
export function runAws(
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number },
): Promise<AwsRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('aws', args, {
      env: o.env,
      ...(o.cwd ? { cwd: o.cwd } : {}),
      timeout: o.timeoutMs ?? 60_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(o.input ?? '')
  })
}

export interface AwsCli {
  /** The CLI's HOME, a fresh temporary directory. */
  home: string
  env: NodeJS.ProcessEnv
  /** `aws --endpoint-url <url> --output json ...prefix ...args`. */
  aws(...args: string[]): Promise<AwsRun>
  /** The same, asserting success; its parsed JSON output ({} when empty). */
  ok<T = Record<string, unknown>>(...args: string[]): Promise<T>
  /** Removes HOME. */
  close(): Promise<void>
}

/** The AWS CLI against `ts`, JSON output, with a fresh HOME (remove it with `close()`). */
export async function awsCli(
  ts: AwsTarget,
  o: { region?: string; prefix?: string[]; tmpPrefix?: string } = {},
): Promise<AwsCli> {
  const home = await mkdtemp(join(tmpdir(), o.tmpPrefix ?? 'opentrail-aws-cli-'))
  const env = awsEnv(ts, home, o.region ? { AWS_DEFAULT_REGION: o.region } : {})
  const aws = (...args: string[]) =>
    runAws(['--endpoint-url', ts.url, '--output', 'json', ...(o.prefix ?? []), ...args], { env })
  return {
    home,
    env,
    aws,
    async ok<T>(...args: string[]) {
      const r = await aws(...args)
      assert.equal(r.code, 0, `aws ${[...(o.prefix ?? []), ...args].join(' ')}: ${r.stderr}`)
      return (r.stdout.trim() ? JSON.parse(r.stdout) : {}) as T
    },
    close: () => rm(home, { recursive: true, force: true }),
  }
}
