/**
 * CloudTrail Lake integrations end to end: channels through @aws-sdk/client-cloudtrail, and
 * PutAuditEvents on the `cloudtrail-data` service (REST-JSON, SigV4 signing name cloudtrail-data)
 * through OpenTrail's client and the AWS CLI (`aws cloudtrail-data put-audit-events`). Per-entry
 * results, request-level errors, and the stored events queried back and compared with what was sent.
 */
import { execFile } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { promisify } from 'node:util'
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  DeleteChannelCommand,
  DescribeQueryCommand,
  GetChannelCommand,
  GetQueryResultsCommand,
  ListChannelsCommand,
  StartQueryCommand,
  UpdateChannelCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail'
import { AuditEventsClient } from '../../src/lake/audit-client.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const OTHER = { accessKeyId: 'AKIAOTHER00000000002', secretAccessKey: 'other-secret-key-00000002' }

async function query(client: CloudTrailClient, sql: string): Promise<Record<string, string>[]> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }))
  for (;;) {
    const d = await client.send(new DescribeQueryCommand({ QueryId }))
    if (d.QueryStatus === 'FINISHED') break
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING')
      throw new Error(`${d.QueryStatus}: ${d.ErrorMessage}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  const r = await client.send(new GetQueryResultsCommand({ QueryId }))
  return (r.QueryResultRows ?? []).map((row) => Object.assign({}, ...row) as Record<string, string>)
}

function appEvent(accountId: string, i: number, extra: Record<string, unknown> = {}) {
  return {
    version: '0.01',
    userIdentity: { type: 'CustomUser', principalId: `user-${i % 3}`, details: { team: 'red' } },
    userAgent: 'app/1.0',
    eventSource: 'myapp.example.com',
    eventName: i % 2 === 0 ? 'Login' : 'Export',
    eventTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    UID: randomUUID(),
    requestParameters: { document: `doc-${i}`, size: i },
    recipientAccountId: accountId,
    ...extra,
  }
}

describe('CloudTrail Lake channels and PutAuditEvents', () => {
  let ts: TestServer
  let client: CloudTrailClient
  let audit: AuditEventsClient
  let account: string
  let storeId: string
  let storeArn: string
  let channelArn: string
  const sent: ReturnType<typeof appEvent>[] = []

  before(async () => {
    ts = await startTestServer({
      accounts: [
        { accountId: '111122223333', users: [], roles: [] },
        {
          accountId: '222233334444',
          roles: [],
          users: [{ name: 'other', policies: ['AWSCloudTrail_FullAccess'], accessKeys: [OTHER] }],
        },
      ],
    })
    client = ts.client()
    audit = new AuditEventsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
    })
    const st = await client.send(
      new CreateEventDataStoreCommand({
        Name: 'app-audit',
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] },
        ],
      }),
    )
    storeArn = st.EventDataStoreArn!
    storeId = storeArn.split('/')[1]!
    account = storeArn.split(':')[4]!
  })
  after(async () => {
    await ts?.close()
  })

  it('manages channels', async () => {
    const mgmt = await client.send(new CreateEventDataStoreCommand({ Name: 'management' }))
    await assert.rejects(
      client.send(
        new CreateChannelCommand({
          Name: 'wrong-category',
          Source: 'Custom',
          Destinations: [{ Type: 'EVENT_DATA_STORE', Location: mgmt.EventDataStoreArn }],
        }),
      ),
      { name: 'InvalidEventDataStoreCategoryException' },
    )
    const ch = await client.send(
      new CreateChannelCommand({
        Name: 'my-app',
        Source: 'Custom',
        Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeId }],
        Tags: [{ Key: 'team', Value: 'red' }],
      }),
    )
    channelArn = ch.ChannelArn!
    assert.match(channelArn, /^arn:aws:cloudtrail:us-east-1:\d{12}:channel\/[0-9a-f-]{36}$/)
    assert.deepEqual(ch.Destinations, [{ Type: 'EVENT_DATA_STORE', Location: storeArn }])
    await assert.rejects(
      client.send(
        new CreateChannelCommand({
          Name: 'my-app',
          Source: 'Custom',
          Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeId }],
        }),
      ),
      { name: 'ChannelAlreadyExistsException' },
    )
    const got = await client.send(new GetChannelCommand({ Channel: channelArn }))
    assert.equal(got.Name, 'my-app')
    assert.equal(got.Source, 'Custom')
    const renamed = await client.send(
      new UpdateChannelCommand({ Channel: channelArn, Name: 'my-app-2' }),
    )
    assert.equal(renamed.Name, 'my-app-2')
    const list = await client.send(new ListChannelsCommand({}))
    assert.deepEqual(list.Channels, [{ ChannelArn: channelArn, Name: 'my-app-2' }])
    const other = ts.client(OTHER)
    await assert.rejects(other.send(new GetChannelCommand({ Channel: channelArn })), {
      name: 'ChannelNotFoundException',
    })
    await assert.rejects(client.send(new GetChannelCommand({ Channel: 'nope' })), {
      name: 'ChannelARNInvalidException',
    })
  })

  it('ingests audit events with per-entry results', async () => {
    for (let i = 0; i < 10; i++) sent.push(appEvent(account, i))
    const good = sent.map((e, i) => {
      const eventData = JSON.stringify(e)
      return {
        id: `e${i}`,
        eventData,
        ...(i === 0
          ? { eventDataChecksum: createHash('sha256').update(eventData).digest('base64') }
          : {}),
      }
    })
    const bad = [
      { id: 'badsum', eventData: JSON.stringify(appEvent(account, 99)), eventDataChecksum: 'x' },
      { id: 'notjson', eventData: '{nope' },
      {
        id: 'nofield',
        eventData: JSON.stringify({ ...appEvent(account, 98), eventName: undefined }),
      },
      { id: 'norecipient', eventData: JSON.stringify(appEvent('999999999999', 97)) },
    ]
    const out = await audit.putAuditEvents({ channelArn, auditEvents: [...good, ...bad] })
    assert.equal(out.successful.length, 10)
    assert.deepEqual(
      out.successful.map((s) => s.id),
      good.map((g) => g.id),
    )
    for (const s of out.successful) assert.match(s.eventID, /^[0-9a-f-]{36}$/)
    assert.deepEqual(
      out.failed.map((f) => [f.id, f.errorCode]),
      [
        ['badsum', 'InvalidChecksum'],
        ['notjson', 'InvalidData'],
        ['nofield', 'FieldNotFound'],
        ['norecipient', 'InvalidRecipient'],
      ],
    )
    const ch = await client.send(new GetChannelCommand({ Channel: channelArn }))
    assert.equal(ch.IngestionStatus?.LatestIngestionAttemptEventID, out.successful.at(-1)!.eventID)
  })

  it('refuses bad requests as a whole', async () => {
    const one = (id: string) => ({ id, eventData: JSON.stringify(appEvent(account, 1)) })
    await assert.rejects(audit.putAuditEvents({ channelArn, auditEvents: [one('a'), one('a')] }), {
      name: 'DuplicatedAuditEventId',
    })
    await assert.rejects(
      audit.putAuditEvents({
        channelArn,
        auditEvents: Array.from({ length: 101 }, (_, i) => one(`x${i}`)),
      }),
      { name: 'ValidationException' },
    )
    const big = 'x'.repeat(200 * 1024)
    await assert.rejects(
      audit.putAuditEvents({
        channelArn,
        auditEvents: Array.from({ length: 6 }, (_, i) => ({
          id: `big${i}`,
          eventData: JSON.stringify(appEvent(account, i, { errorMessage: big })),
        })),
      }),
      { name: 'ValidationException' },
    )
    await assert.rejects(
      audit.putAuditEvents({
        channelArn: channelArn.replace(/channel\/.*/, `channel/${randomUUID()}`),
        auditEvents: [one('a')],
      }),
      { name: 'ChannelNotFound' },
    )
    await assert.rejects(audit.putAuditEvents({ channelArn: 'bogus', auditEvents: [one('a')] }), {
      name: 'InvalidChannelARN',
    })
    const other = new AuditEventsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: OTHER,
    })
    await assert.rejects(other.putAuditEvents({ channelArn, auditEvents: [one('a')] }), {
      name: 'ChannelNotFound',
    })
  })

  it('stores the events for queries (eventData struct, maps, eventCategory)', async () => {
    const rows = await query(
      client,
      `SELECT eventData.eventName AS name, count(*) AS n FROM ${storeId}
       WHERE eventCategory = 'ActivityAuditLog' GROUP BY 1 ORDER BY 1`,
    )
    const expected = new Map<string, number>()
    for (const e of sent) expected.set(e.eventName, (expected.get(e.eventName) ?? 0) + 1)
    assert.deepEqual(
      rows.map((r) => [r['name'], Number(r['n'])]),
      [...expected].sort(),
    )
    const [one] = await query(
      client,
      `SELECT eventData.requestParameters['document'] AS doc, eventData.userIdentity.principalId AS who,
              element_at(eventData.userIdentity.details, 'team') AS team, metadata.channelARN AS ch, eventTime
       FROM ${storeId} WHERE eventData.UID = '${sent[3]!.UID}'`,
    )
    assert.deepEqual(
      { ...one, eventTime: new Date(one!['eventTime']! + 'Z').toISOString() },
      { doc: 'doc-3', who: 'user-0', team: 'red', ch: channelArn, eventTime: sent[3]!.eventTime },
    )
  })

  it('works with the AWS CLI (aws cloudtrail-data put-audit-events)', async (t) => {
    const exec = promisify(execFile)
    try {
      await exec('aws', ['cloudtrail-data', 'help'])
    } catch {
      t.skip('aws CLI with cloudtrail-data is not installed')
      return
    }
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: ts.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ts.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    }
    const e = appEvent(account, 42)
    const { stdout } = await exec(
      'aws',
      [
        '--endpoint-url',
        ts.url,
        'cloudtrail-data',
        'put-audit-events',
        '--channel-arn',
        channelArn,
        '--audit-events',
        JSON.stringify([{ id: 'cli-1', eventData: JSON.stringify(e) }]),
        '--output',
        'json',
      ],
      { env },
    )
    const out = JSON.parse(stdout) as { successful: { id: string }[]; failed: unknown[] }
    assert.deepEqual(out.failed, [])
    assert.equal(out.successful[0]!.id, 'cli-1')
    const rows = await query(
      client,
      `SELECT eventID FROM ${storeId} WHERE eventData.UID = '${e.UID}'`,
    )
    assert.equal(rows.length, 1)
  })

  it('deletes channels', async () => {
    await client.send(new DeleteChannelCommand({ Channel: channelArn }))
    await assert.rejects(client.send(new GetChannelCommand({ Channel: channelArn })), {
      name: 'ChannelNotFoundException',
    })
  })
})
