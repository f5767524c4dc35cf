/**
 * Unit tests of the gateway's parts: how bodies are planned for the upstream (payload hash checked
 * as bytes pass, signed aws-chunked verified and re-sent unsigned), how a call is identified, which
 * request parameters a JSON or query call logs, how upstream errors are read, and the settings.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { signingKey, type ChunkSigning } from '../s3api/payload.js'
import { s3StreamPlan, unsignedChunkedLength } from './body.js'
import {
  arnParameters,
  jsonCall,
  jsonMembers,
  jsonRequestParameters,
  queryCall,
  queryRequestParameters,
  s3Call,
} from './call.js'
import { errorReply, GatewayError, parseUpstreamError } from './errors.js'
import { gatewaySettings, GatewaySettingsError, parseGatewayFlag } from './settings.js'

async function* from(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p
}

/** Drains `it`, returning what came out before it threw (and the error). */
async function drain(it: AsyncIterable<Buffer>): Promise<{ out: Buffer; err?: Error }> {
  const out: Buffer[] = []
  try {
    for await (const c of it) out.push(c)
  } catch (err) {
    return { out: Buffer.concat(out), err: err as Error }
  }
  return { out: Buffer.concat(out) }
}

const noSigning: ChunkSigning = {
  seedSignature: '',
  amzDate: '',
  scope: '',
  signingKey: Buffer.alloc(0),
}

describe('gateway bodies', () => {
  it('passes a SHA-256-signed body through and holds the last piece back on a mismatch', async () => {
    const parts = [Buffer.from('hello '), Buffer.from('gateway')]
    const sha = createHash('sha256').update('hello gateway').digest('hex')
    const ok = s3StreamPlan({ 'x-amz-content-sha256': sha }, noSigning)
    assert.equal(ok.contentSha256, sha)
    const good = await drain(ok.body(from(...parts)))
    assert.equal(good.out.toString(), 'hello gateway')
    assert.equal(ok.bytesIn(), 13)

    const bad = s3StreamPlan({ 'x-amz-content-sha256': 'a'.repeat(64) }, noSigning)
    const r = await drain(bad.body(from(...parts)))
    assert.equal(r.err?.name, 'XAmzContentSHA256Mismatch')
    assert.equal(r.out.toString(), 'hello ', 'the last piece never reaches the upstream')
  })

  it('verifies signed aws-chunked bodies and sends the decoded bytes as UNSIGNED-PAYLOAD', async () => {
    // AWS's published example ("Transferring payload in multiple chunks").
    const signing: ChunkSigning = {
      seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      amzDate: '20130524T000000Z',
      scope: '20130524/us-east-1/s3/aws4_request',
      signingKey: signingKey(
        'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        '20130524',
        'us-east-1',
        's3',
      ),
    }
    const sig1 = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'
    const sig2 = '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'
    const sig3 = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'
    const body = (s2 = sig2) =>
      Buffer.concat([
        Buffer.from(`10000;chunk-signature=${sig1}\r\n`),
        Buffer.alloc(65536, 'a'),
        Buffer.from(`\r\n400;chunk-signature=${s2}\r\n`),
        Buffer.alloc(1024, 'a'),
        Buffer.from(`\r\n0;chunk-signature=${sig3}\r\n\r\n`),
      ])
    const headers = {
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-decoded-content-length': '66560',
      'content-encoding': 'aws-chunked',
    }
    const plan = s3StreamPlan(headers, signing)
    assert.equal(plan.contentSha256, 'UNSIGNED-PAYLOAD')
    assert.equal(plan.headers['content-length'], '66560')
    assert.equal(plan.headers['content-encoding'], undefined)
    const b = body()
    const good = await drain(plan.body(from(b.subarray(0, 1000), b.subarray(1000))))
    assert.equal(good.err, undefined)
    assert.deepEqual(good.out, Buffer.alloc(66560, 'a'))

    const forged = await drain(s3StreamPlan(headers, signing).body(from(body('0'.repeat(64)))))
    assert.equal(forged.err?.name, 'SignatureDoesNotMatch')
    assert.ok(forged.out.length < 66560, 'a forged chunk is not completed upstream')
  })

  it('rejects a missing payload hash and computes unsigned aws-chunked lengths', () => {
    assert.throws(() => s3StreamPlan({}, noSigning), { name: 'InvalidRequest' })
    assert.throws(() => s3StreamPlan({ 'x-amz-content-sha256': 'bogus' }, noSigning), {
      name: 'NotImplemented',
    })
    // 65536 + 10 bytes in 64 KiB chunks: "10000\r\n" + data + "\r\n", "a\r\n" + data + "\r\n",
    // "0\r\n", the trailer line "x-amz-checksum-crc32:XXXXXXXX\r\n", "\r\n".
    const expected = 7 + 65536 + 2 + 3 + 10 + 2 + 3 + 'x-amz-checksum-crc32:'.length + 8 + 2 + 2
    assert.equal(unsignedChunkedLength(65546, ['x-amz-checksum-crc32']), expected)
    assert.equal(unsignedChunkedLength(1, ['x-amz-unknown']), undefined)
  })
})

describe('gateway calls', () => {
  it('identifies S3, JSON and query operations', () => {
    const put = s3Call('PUT', '/bkt/a/b.txt', new URLSearchParams(), {})
    assert.deepEqual(
      [put.eventName, put.action, put.readOnly, put.data, put.s3?.bucket, put.s3?.key],
      ['PutObject', 's3:PutObject', false, true, 'bkt', 'a/b.txt'],
    )
    assert.equal(s3Call('GET', '/', new URLSearchParams(), {}).eventName, 'ListBuckets')
    assert.equal(s3Call('POST', '/', new URLSearchParams(), {}).eventName, 'UnknownOperation')
    const policy = s3Call('GET', '/bkt', new URLSearchParams('policy'), {})
    assert.deepEqual(
      [policy.eventName, policy.readOnly, policy.data],
      ['GetBucketPolicy', true, false],
    )
    const table = jsonCall('dynamodb', 'DynamoDB_20120810.DescribeTable')
    assert.deepEqual(
      [table.eventSource, table.eventName, table.action, table.readOnly, table.data],
      ['dynamodb.amazonaws.com', 'DescribeTable', 'dynamodb:DescribeTable', true, false],
    )
    assert.equal(jsonCall('dynamodb', 'DynamoDB_20120810.PutItem').data, true)
    assert.equal(jsonCall('dynamodb', 'DynamoDB_20120810.<script>').eventName, 'UnknownOperation')
    const sns = queryCall('sns', new URLSearchParams('Action=ListTopics&Version=2010-03-31'))
    assert.deepEqual(
      [sns.eventName, sns.action, sns.readOnly],
      ['ListTopics', 'sns:ListTopics', true],
    )
    assert.equal(queryCall('sns', new URLSearchParams('Action=Publish')).data, true)
  })

  it('logs only the parameters that name things', () => {
    const json = jsonRequestParameters(
      jsonMembers(
        Buffer.from(
          JSON.stringify({
            TableName: 't',
            Item: { pk: { S: 'secret value' } },
            Limit: 5,
            SecretToken: 'x',
          }),
        ),
      ),
    )
    assert.deepEqual(json, { tableName: 't', limit: 5 })
    assert.equal(jsonRequestParameters(jsonMembers(Buffer.from('not json'))), null)
    const query = queryRequestParameters(
      new URLSearchParams('Action=Publish&TopicArn=arn:t&Message=hello&Attributes.entry.1.key=k'),
    )
    assert.deepEqual(query, { topicArn: 'arn:t' })
  })

  it('authorizes on the ARNs a call names', () => {
    assert.deepEqual(
      arnParameters(
        jsonMembers(
          Buffer.from(
            JSON.stringify({
              TableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/t',
              ResourceArn: 'not an arn',
              Nested: { TopicArn: 'arn:aws:sns:us-east-1:123456789012:x' },
            }),
          ),
        ) ?? [],
      ),
      ['arn:aws:dynamodb:us-east-1:123456789012:table/t'],
    )
    assert.deepEqual(
      arnParameters(
        new URLSearchParams('Action=Publish&TopicArn=arn:aws:sns:us-east-1:123456789012:x'),
      ),
      ['arn:aws:sns:us-east-1:123456789012:x'],
    )
    assert.deepEqual(arnParameters(jsonMembers(Buffer.from('[')) ?? []), [])
  })
})

describe('gateway errors', () => {
  it('reads S3 XML, JSON and header-only upstream errors', () => {
    const xml = Buffer.from(
      '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key &amp; more</Message></Error>',
    )
    assert.deepEqual(parseUpstreamError(404, {}, xml), {
      code: 'NoSuchKey',
      message: 'The key & more',
    })
    const json = Buffer.from(
      '{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"gone"}',
    )
    assert.deepEqual(parseUpstreamError(400, {}, json), {
      code: 'ResourceNotFoundException',
      message: 'gone',
    })
    assert.equal(
      parseUpstreamError(
        400,
        { 'x-amzn-errortype': 'ThrottlingException:http://x' },
        Buffer.alloc(0),
      ).code,
      'ThrottlingException',
    )
    assert.equal(parseUpstreamError(404, {}, Buffer.alloc(0)).code, 'NotFound')
  })

  it("answers in the caller's protocol", () => {
    const denied = new GatewayError('AccessDeniedException', 'no', 403)
    const ids = { requestId: 'r', hostId: 'h' }
    assert.match(
      errorReply('s3', new GatewayError('AccessDenied', 'no', 403), ids).body,
      /<Code>AccessDenied<\/Code>/,
    )
    assert.match(errorReply('query', denied, ids).body, /<Code>AccessDenied<\/Code>/)
    assert.match(
      errorReply('query', denied, { ...ids, service: 'sns' }).body,
      /<Code>AuthorizationError<\/Code>/,
    )
    const json = errorReply('json', denied, ids)
    assert.equal(json.headers['x-amzn-errortype'], 'AccessDeniedException')
    assert.deepEqual(JSON.parse(json.body), { __type: 'AccessDeniedException', message: 'no' })
    assert.equal(errorReply('s3', denied, ids, true).body, '', 'HEAD answers carry no body')
  })
})

describe('gateway settings', () => {
  it('parses --gateway and takes upstream credentials from the environment', () => {
    const entry = parseGatewayFlag('127.0.0.1:7320=http://127.0.0.1:9000')
    assert.deepEqual(entry, { listen: '127.0.0.1:7320', upstream: 'http://127.0.0.1:9000' })
    assert.throws(() => parseGatewayFlag('http://127.0.0.1:9000'), GatewaySettingsError)
    const s = gatewaySettings(entry, {
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'SECRET',
      AWS_SESSION_TOKEN: 'TOKEN',
    })
    assert.deepEqual(s.credentials, {
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      sessionToken: 'TOKEN',
    })
    assert.throws(() => gatewaySettings(entry, {}), /no upstream credentials/)
    // Keys from the config entry win, and the environment's session token is not mixed in.
    const own = gatewaySettings(
      { ...entry, accessKeyId: 'A2', secretAccessKey: 'S2' },
      { AWS_SESSION_TOKEN: 'TOKEN' },
    )
    assert.deepEqual(own.credentials, { accessKeyId: 'A2', secretAccessKey: 'S2' })
  })
})
