/**
 * The real `opentrail` CLI (`node bin/opentrail.js ...` as a child process) against a started
 * server. The environment is scrubbed of AWS settings, so credentials come from the data
 * directory's `opentrail` profile unless a test says otherwise.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  DeleteTrailCommand,
} from '@aws-sdk/client-cloudtrail'
import { opentrailEnv, runOpentrail } from '../helpers/process.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const BIN = fileURLToPath(new URL('../../bin/opentrail.js', import.meta.url))

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

describe('opentrail CLI against a started server', () => {
  let ts: TestServer
  let home: string
  let env: NodeJS.ProcessEnv

  before(async () => {
    ts = await startTestServer()
    home = await mkdtemp(join(tmpdir(), 'opentrail-cli-home-'))
    env = opentrailEnv(home, ts.dataDir)
  })
  after(async () => {
    await ts.close()
    await rm(home, { recursive: true, force: true })
  })

  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    runOpentrail(args, { ...env, ...extraEnv })
  const remote = (...args: string[]) => cli([...args, '--endpoint-url', ts.url])

  async function createTrail(name: string, client = ts.client()) {
    const created = await client.send(
      new CreateTrailCommand({ Name: name, S3BucketName: `${name}-bucket` }),
    )
    await client.send(new DeleteTrailCommand({ Name: name }))
    await ts.server.pipeline.drain()
    return created.TrailARN!
  }

  it('creates a user and a key that work against the running server at once', async () => {
    const created = await cli([
      'user',
      'create',
      'alice',
      '--policy',
      'AWSCloudTrail_ReadOnlyAccess',
    ])
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stdout, /Created user alice \(arn:aws:iam::\d{12}:user\/alice\)/)

    const key = await cli(['key', 'create', 'alice'])
    assert.equal(key.code, 0, key.stderr)
    const accessKeyId = /AccessKeyId\s+(AKIA[A-Z0-9]{16})/.exec(key.stdout)?.[1]
    const secretAccessKey = /SecretAccessKey\s+(\S+)/.exec(key.stdout)?.[1]
    assert.ok(accessKeyId && secretAccessKey, key.stdout)
    assert.equal(key.stderr, '') // the secret goes to stdout only

    // The server was started before the key existed: it must pick it up without a restart.
    const alice = ts.client({ accessKeyId, secretAccessKey })
    const described = await alice.send(new DescribeTrailsCommand({}))
    assert.ok(Array.isArray(described.trailList))
    await assert.rejects(
      alice.send(new CreateTrailCommand({ Name: 'alice-trail', S3BucketName: 'alice-bucket' })),
      (err: Error) => err.name === 'AccessDeniedException',
    )

    const list = await cli(['user', 'list'])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /alice\s+AWSCloudTrail_ReadOnlyAccess\s+AKIA/)
    assert.ok(list.stdout.includes(accessKeyId))
    assert.ok(!list.stdout.includes(secretAccessKey), 'user list must never show secrets')

    const again = await cli(['user', 'create', 'alice'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exists/)
    const noUser = await cli(['key', 'create', 'nobody'])
    assert.equal(noUser.code, 1)
    assert.match(noUser.stderr, /No user 'nobody'/)
  })

  it('writes a key to a credentials-file profile, usable with --profile', async () => {
    assert.equal(
      (await cli(['user', 'create', 'bob', '--policy', 'AWSCloudTrail_FullAccess'])).code,
      0,
    )
    const file = join(home, 'creds')
    const key = await cli(['key', 'create', 'bob', '--profile', 'bob', '--credentials-file', file])
    assert.equal(key.code, 0, key.stderr)
    const text = await readFile(file, 'utf8')
    const secret = /aws_secret_access_key = (\S+)/.exec(text)?.[1]
    assert.ok(secret)
    assert.ok(!key.stdout.includes(secret), 'the secret goes to the file only')
    assert.match(text, /^\[bob\]\naws_access_key_id = AKIA[A-Z0-9]{16}\n/)

    const again = await cli([
      'key',
      'create',
      'bob',
      '--profile',
      'bob',
      '--credentials-file',
      file,
    ])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already has a profile 'bob'/)

    // The standard AWS chain: this file as AWS_SHARED_CREDENTIALS_FILE with --profile bob.
    const asBob = await cli(
      ['events', '--profile', 'bob', '--endpoint-url', ts.url, '-o', 'json', '--max-items', '1'],
      { AWS_SHARED_CREDENTIALS_FILE: file },
    )
    assert.equal(asBob.code, 0, asBob.stderr)
    await ts.server.pipeline.drain()
    const mine = await remote('events', '-a', 'Username=bob', '-o', 'json')
    const events = (JSON.parse(mine.stdout) as { Events: { Username: string }[] }).Events
    assert.ok(events.length >= 1 && events.every((e) => e.Username === 'bob'))
  })

  it('lookup-events prints a table and JSON', async () => {
    await createTrail('table-trail')
    const table = await remote(
      'lookup-events',
      '--lookup-attribute',
      'EventName=CreateTrail',
      '--lookup-attribute',
      'Username=admin',
    )
    assert.equal(table.code, 0, table.stderr)
    const [header, ...rows] = table.stdout.trimEnd().split('\n')
    assert.match(header!, /^TIME\s+EVENT\s+USER\s+SOURCE\s+ERROR\s+RESOURCE$/)
    assert.equal(rows.length, 1)
    assert.match(
      rows[0]!,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+CreateTrail\s+admin\s+cloudtrail\.amazonaws\.com\s+-\s+arn:aws:cloudtrail:us-east-1:\d{12}:trail\/table-trail$/,
    )

    const json = await remote(
      'events',
      '-a',
      'EventName=CreateTrail',
      '-a',
      'Username=admin',
      '--output',
      'json',
    )
    assert.equal(json.code, 0, json.stderr)
    const body = JSON.parse(json.stdout) as {
      Events: { EventName: string; EventTime: string; CloudTrailEvent: string }[]
    }
    assert.equal(body.Events.length, 1)
    assert.equal(body.Events[0]!.EventName, 'CreateTrail')
    assert.ok(!Number.isNaN(Date.parse(body.Events[0]!.EventTime)))
    const record = JSON.parse(body.Events[0]!.CloudTrailEvent) as Record<string, unknown>
    assert.deepEqual(record['requestParameters'], {
      name: 'table-trail',
      s3BucketName: 'table-trail-bucket',
    })

    // Denied calls show their error code.
    const denied = await remote('events', '-a', 'Username=alice', '-a', 'EventName=CreateTrail')
    assert.match(denied.stdout, /CreateTrail\s+alice\s+cloudtrail\.amazonaws\.com\s+AccessDenied/)
  })

  it('combines several lookup attributes with AND', async () => {
    const bobKey = /aws_access_key_id = (\S+)\naws_secret_access_key = (\S+)/.exec(
      await readFile(join(home, 'creds'), 'utf8'),
    )!
    await createTrail(
      'bob-trail',
      ts.client({ accessKeyId: bobKey[1], secretAccessKey: bobKey[2] }),
    )
    const adminTrailArn = await createTrail('admin-trail')

    const both = await remote(
      'events',
      '-a',
      'EventName=CreateTrail',
      '-a',
      'Username=bob',
      '-o',
      'json',
    )
    assert.equal(both.code, 0, both.stderr)
    const events = (
      JSON.parse(both.stdout) as { Events: { Username: string; EventName: string }[] }
    ).Events
    assert.equal(events.length, 1)
    assert.deepEqual([events[0]!.EventName, events[0]!.Username], ['CreateTrail', 'bob'])

    const shorthand = await remote(
      'events',
      '-a',
      `AttributeKey=ResourceName,AttributeValue=${adminTrailArn}`,
      '-a',
      'EventName=DeleteTrail',
      '-o',
      'json',
    )
    const del = (JSON.parse(shorthand.stdout) as { Events: { EventName: string }[] }).Events
    assert.deepEqual(
      del.map((e) => e.EventName),
      ['DeleteTrail'],
    )

    const bad = await remote('events', '-a', 'Colour=blue')
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /unknown attribute 'Colour'; the keys are EventId, EventName/)
  })

  it('takes relative and absolute times, and pages with --max-results/--max-items', async () => {
    const count = async (...args: string[]) => {
      const r = await remote('events', '-a', 'EventName=CreateTrail', '-o', 'json', ...args)
      assert.equal(r.code, 0, r.stderr)
      return (JSON.parse(r.stdout) as { Events: unknown[] }).Events.length
    }
    // CreateTrail: alice's (denied), table-trail, bob-trail, admin-trail.
    assert.equal(await count('--start-time', '30m'), 4)
    assert.equal(await count('--start-time', '2h', '--end-time', 'now'), 4)
    assert.equal(await count('--end-time', '1h'), 0)
    assert.equal(await count('--start-time', '2d', '--end-time', '1d'), 0)
    const iso = new Date(Date.now() - 3_600_000).toISOString()
    assert.equal(await count('--start-time', iso), 4)

    const paged = await remote(
      'events',
      '-a',
      'EventName=CreateTrail',
      '--max-results',
      '1',
      '--max-items',
      '2',
      '-o',
      'json',
    )
    const body = JSON.parse(paged.stdout) as { Events: { EventId: string }[]; NextToken?: string }
    assert.equal(body.Events.length, 2)
    assert.ok(body.NextToken, 'a NextToken to resume from')
    const rest = await remote(
      'events',
      '-a',
      'EventName=CreateTrail',
      '--starting-token',
      body.NextToken,
      '-o',
      'json',
    )
    const restBody = JSON.parse(rest.stdout) as {
      Events: { EventId: string }[]
      NextToken?: string
    }
    assert.equal(restBody.Events.length, 2)
    assert.equal(restBody.NextToken, undefined)
    const ids = new Set([...body.Events, ...restBody.Events].map((e) => e.EventId))
    assert.equal(ids.size, 4)

    const bad = await remote('events', '--start-time', 'yesterday')
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /'yesterday' is not a time/)
  })

  it('tail shows a new event within about 2 seconds, once, and exits cleanly on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'tail', '-n', '0', '-o', 'json', '--endpoint-url', ts.url],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const waitFor = async (pred: () => boolean, ms: number) => {
      const deadline = Date.now() + ms
      while (!pred()) {
        if (Date.now() > deadline) return false
        await new Promise((r) => setTimeout(r, 20))
      }
      return true
    }
    try {
      assert.ok(await waitFor(() => stderr.includes('Following events'), 20_000), stderr)
      await new Promise((r) => setTimeout(r, 1500)) // a poll or two with nothing new

      const t0 = Date.now()
      await ts.client().send(new CreateTrailCommand({ Name: 'tail-trail', S3BucketName: 'tail-b' }))
      const seen = await waitFor(() => stdout.includes('tail-trail'), 5000)
      const elapsed = Date.now() - t0
      assert.ok(seen, `tail did not show the event; stdout: ${stdout} stderr: ${stderr}`)
      assert.ok(elapsed <= 2500, `tail took ${elapsed} ms`)

      await new Promise((r) => setTimeout(r, 2500)) // more polls: no duplicates, no own polls
      const lines = stdout.trim().split('\n').filter(Boolean)
      const events = lines.map((l) => JSON.parse(l) as { EventName: string; EventId: string })
      assert.deepEqual(
        events.map((e) => e.EventName),
        ['CreateTrail'],
        `only the new event, once: ${stdout}`,
      )
    } finally {
      child.kill('SIGINT')
    }
    assert.equal(await exited, 0)
    assert.ok(!/Error|at .*\.ts/.test(stderr), stderr)
  })

  it('reports connection and credential problems clearly', async () => {
    const down = await cli(['events', '--endpoint-url', 'http://127.0.0.1:9'])
    assert.equal(down.code, 255)
    assert.match(down.stderr, /Could not connect to the endpoint URL: "http:\/\/127\.0\.0\.1:9"/)

    const noCreds = await cli(['events', '--endpoint-url', ts.url], {
      OPENTRAIL_DATA_DIR: join(home, 'empty'),
    })
    assert.equal(noCreds.code, 255)
    assert.match(noCreds.stderr, /No credentials found/)

    // Configured AWS credentials win over the data directory's profile, as the chain says.
    const envKey = await cli(['events', '--endpoint-url', ts.url], {
      AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN000000000',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-key',
    })
    assert.equal(envKey.code, 254)
    assert.match(envKey.stderr, /An error occurred \(UnrecognizedClientException\)/)
  })
})
