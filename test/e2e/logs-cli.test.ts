/**
 * `opentrail logs ...` and `opentrail alarms ...` (the real CLI as a child process) against a
 * started server: groups, filter, tail, test-pattern, metric filters, alarms and their history.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import { opentrailEnv, runOpentrail } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

describe('opentrail logs and alarms', () => {
  let ts: TestServer
  let home: string
  let env: NodeJS.ProcessEnv
  let logs: CloudWatchLogsClient

  before(async () => {
    ts = await startTestServer()
    home = await mkdtemp(join(tmpdir(), 'opentrail-logs-cli-home-'))
    env = opentrailEnv(home, ts.dataDir, { OPENTRAIL_ENDPOINT_URL: ts.url })
    logs = new CloudWatchLogsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
      maxAttempts: 1,
    })
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'web' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'web', logStreamName: 'a' }))
    const now = Date.now()
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'web',
        logStreamName: 'a',
        logEvents: [
          { timestamp: now - 3000, message: '{"eventName":"ListBuckets","user":"alice"}' },
          { timestamp: now - 2000, message: '{"eventName":"StopLogging","user":"mallory"}' },
          { timestamp: now - 1000, message: 'ERROR disk full' },
        ],
      }),
    )
  })
  after(async () => {
    logs?.destroy()
    await ts?.close()
    if (home) await rm(home, { recursive: true, force: true })
  })

  const cli = (...args: string[]) => runOpentrail(args, env)

  it('lists groups and searches them with a pattern', async () => {
    const g = await cli('logs', 'groups')
    assert.equal(g.code, 0, g.stderr)
    assert.match(
      g.stdout,
      /^LOG GROUP\s+RETENTION\s+METRIC FILTERS\s+BYTES\nweb\s+never expire\s+0\s+\d+/,
    )
    const f = await cli('logs', 'filter', 'web', '--pattern', '{ $.user = mallory }')
    assert.equal(f.code, 0, f.stderr)
    const lines = f.stdout.trim().split('\n')
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /^\S+Z {2}a {2}\{"eventName":"StopLogging","user":"mallory"\}$/)
    const j = await cli('logs', 'filter', 'web', '--pattern', 'ERROR', '--json')
    assert.equal((JSON.parse(j.stdout) as { message: string }).message, 'ERROR disk full')
    const bad = await cli('logs', 'filter', 'web', '--pattern', '{ $.user = }')
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /InvalidParameterException|position 12/)
  })

  it('tests a pattern against messages', async () => {
    const r = await cli(
      'logs',
      'test-pattern',
      '[ip, user, status = 4*]',
      '-m',
      '10.0.0.1 alice 404',
      '-m',
      '10.0.0.2 bob 200',
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /match 1: 10\.0\.0\.1 alice 404\n {2}\$ip=10\.0\.0\.1 \$1=10\.0\.0\.1/)
    assert.match(r.stdout, /1 of 2 messages match/)
  })

  it('tails a group through a pattern', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'logs',
        'tail',
        'web',
        '--pattern',
        '?ERROR ?WARN',
        '--interval',
        '0.2',
        '--start-time',
        '10m',
      ],
      { env },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    try {
      const deadline = Date.now() + 20_000
      while (!out.includes('ERROR disk full') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100))
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: 'web',
          logStreamName: 'a',
          logEvents: [
            { timestamp: Date.now(), message: 'WARN cpu hot' },
            { timestamp: Date.now(), message: 'INFO fine' },
          ],
        }),
      )
      while (!out.includes('WARN cpu hot') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100))
    } finally {
      child.kill('SIGINT')
    }
    assert.match(out, /ERROR disk full/)
    assert.match(out, /WARN cpu hot/)
    assert.doesNotMatch(out, /INFO fine|mallory/)
  })

  it('manages metric filters and alarms', async () => {
    let r = await cli(
      'logs',
      'metric-filters',
      'put',
      'web',
      'stoplogging',
      '--pattern',
      '{ $.eventName = StopLogging }',
      '--namespace',
      'Security',
      '--metric-name',
      'StopLogging',
    )
    assert.equal(r.code, 0, r.stderr)
    r = await cli('logs', 'metric-filters', 'list', 'web')
    assert.match(
      r.stdout,
      /web\s+stoplogging\s+Security\/StopLogging \+= 1\s+\{ \$\.eventName = StopLogging \}/,
    )
    r = await cli(
      'alarms',
      'put',
      'stoplogging',
      '--namespace',
      'Security',
      '--metric-name',
      'StopLogging',
      '--threshold',
      '1',
      '--period',
      '60',
    )
    assert.equal(r.code, 0, r.stderr)
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'web',
        logStreamName: 'a',
        logEvents: [{ timestamp: Date.now(), message: '{"eventName":"StopLogging"}' }],
      }),
    )
    const deadline = Date.now() + 20_000
    do {
      r = await cli('alarms', 'list', '--state', 'ALARM')
      if (r.stdout.includes('stoplogging')) break
      await new Promise((res) => setTimeout(res, 200))
    } while (Date.now() < deadline)
    assert.match(
      r.stdout,
      /stoplogging\s+ALARM\s+\S+\s+Sum\(Security\/StopLogging, 60s\) >= 1 for 1/,
    )
    r = await cli('alarms', 'history', 'stoplogging')
    assert.match(r.stdout, /StateUpdate\s+Alarm updated from INSUFFICIENT_DATA to ALARM/)
    r = await cli('alarms', 'delete', 'stoplogging')
    assert.equal(r.code, 0, r.stderr)
    r = await cli('alarms', 'delete', 'stoplogging')
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /ResourceNotFound/)
    r = await cli('logs', 'metric-filters', 'delete', 'web', 'stoplogging')
    assert.equal(r.code, 0, r.stderr)
  })
})
