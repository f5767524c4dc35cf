/**
 * @module lake/audit-client
 * A small client for PutAuditEvents (service `cloudtrail-data`, REST-JSON, SigV4 signing name
 * `cloudtrail-data`), signed with the AWS SDK's own signer. `@aws-sdk/client-cloudtrail-data` sends
 * the same request; this client exists because that package is not on every registry (see
 * docs/lake.md). Used by the tests, the benchmark and anyone scripting ingestion.
 */
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { Agent, request } from 'node:http'

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 })

export interface AuditEvent {
  id: string
  eventData: string
  eventDataChecksum?: string
}

export interface PutAuditEventsOutput {
  successful: { id: string; eventID: string }[]
  failed: { id: string; errorCode: string; errorMessage: string }[]
}

export interface PutAuditEventsInput {
  channelArn: string
  externalId?: string
  auditEvents: AuditEvent[]
}

export interface SignedCall {
  path: string
  headers: Record<string, string>
  body: string
}

export class AuditEventsError extends Error {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = code
  }
}

export class AuditEventsClient {
  private readonly signer: SignatureV4
  private readonly url: URL

  constructor(opts: {
    endpoint: string
    region: string
    credentials: { accessKeyId: string; secretAccessKey: string }
  }) {
    this.url = new URL(opts.endpoint)
    this.signer = new SignatureV4({
      credentials: opts.credentials,
      region: opts.region,
      service: 'cloudtrail-data',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: true,
    })
  }

  async putAuditEvents(input: PutAuditEventsInput): Promise<PutAuditEventsOutput> {
    return this.send(await this.sign(input))
  }

  /** A signed call, ready to send (valid for 15 minutes). */
  async sign(input: PutAuditEventsInput): Promise<SignedCall> {
    const body = JSON.stringify({ auditEvents: input.auditEvents })
    const query: Record<string, string> = { channelArn: input.channelArn }
    if (input.externalId !== undefined) query['externalId'] = input.externalId
    const signed = await this.signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: Number(this.url.port),
        path: '/PutAuditEvents',
        query,
        headers: {
          host: this.url.host,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      }),
    )
    return {
      path: `/PutAuditEvents?${new URLSearchParams(query).toString()}`,
      headers: signed.headers,
      body,
    }
  }

  /** Sends a signed call. */
  async send(call: SignedCall): Promise<PutAuditEventsOutput> {
    const { status, text, type } = await new Promise<{
      status: number
      text: string
      type: string | undefined
    }>((ok, fail) => {
      const req = request(
        {
          method: 'POST',
          hostname: this.url.hostname,
          port: this.url.port,
          path: call.path,
          headers: call.headers,
          agent: keepAlive,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            ok({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              type: [res.headers['x-amzn-errortype']].flat()[0]?.split(':')[0],
            }),
          )
          res.on('error', fail)
        },
      )
      req.on('error', fail)
      req.end(call.body)
    })
    const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>
    if (status !== 200) {
      throw new AuditEventsError(
        type ?? 'UnknownError',
        typeof parsed['message'] === 'string' ? parsed['message'] : text,
        status,
      )
    }
    return parsed as unknown as PutAuditEventsOutput
  }
}
