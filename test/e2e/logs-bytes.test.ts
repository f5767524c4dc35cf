/**
 * storedBytes counts UTF-8 bytes on every path: PutLogEvents adds them, DeleteLogStream takes the
 * same bytes away (it used to subtract characters, so non-ASCII groups drifted upwards).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogStreamCommand,
  DescribeLogGroupsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import { startTestServer, type TestServer } from '../helpers/server.js'

describe('log group storedBytes', () => {
  let ts: TestServer
  let logs: CloudWatchLogsClient

  before(async () => {
    ts = await startTestServer()
    logs = new CloudWatchLogsClient({
      endpoint: ts.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ts.accessKeyId, secretAccessKey: ts.secretAccessKey },
      maxAttempts: 1,
    })
  })
  after(() => ts.close())

  const storedBytes = async (name: string): Promise<number | undefined> =>
    (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }))).logGroups?.[0]
      ?.storedBytes

  it('adds and removes UTF-8 bytes, not characters', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'utf' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'utf', logStreamName: 'a' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'utf', logStreamName: 'b' }))
    const now = Date.now()
    const messages = ['café ☕', 'naïve — ok', 'plain']
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'utf',
        logStreamName: 'a',
        logEvents: messages.map((message, i) => ({ timestamp: now + i, message })),
      }),
    )
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'utf',
        logStreamName: 'b',
        logEvents: [{ timestamp: now, message: 'ü' }],
      }),
    )
    const bytesA = messages.reduce((n, m) => n + Buffer.byteLength(m), 0)
    assert.equal(await storedBytes('utf'), bytesA + 2)
    await logs.send(new DeleteLogStreamCommand({ logGroupName: 'utf', logStreamName: 'a' }))
    assert.equal(await storedBytes('utf'), 2)
  })
})
