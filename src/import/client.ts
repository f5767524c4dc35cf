/**
 * @module import/client
 * A small client for the import API (AWS JSON 1.1, SigV4 for service `cloudtrail`), for the CLI and
 * scripts; the AWS SDKs have no commands for OpenTrail's own target prefix. Errors look like the
 * SDK's (a `name`, a `message` and `$metadata`), so callers can treat them alike.
 */
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { IMPORT_TARGET_PREFIX } from './api.js'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export class ImportApiError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string }
  constructor(name: string, message: string, status: number, requestId?: string) {
    super(message)
    this.name = name
    this.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) }
  }
}

export interface WireImport {
  ImportId: string
  Source: string
  ImportStatus: 'INITIALIZING' | 'IN_PROGRESS' | 'FAILED' | 'STOPPED' | 'COMPLETED'
  RetentionDays?: number
  OlderThanRetention?: string
  CreatedTimestamp: number
  UpdatedTimestamp: number
  ListingComplete?: boolean
  ErrorMessage?: string
  ImportStatistics: Record<string, number> & { RejectedByReason?: Record<string, number> }
}

export interface WireFailure {
  Location: string
  Kind: 'FILE' | 'RECORD'
  ErrorType: string
  ErrorMessage: string
  EventId?: string
  LastUpdatedTime: number
}

export class ImportClient {
  private readonly signer: SignatureV4

  constructor(
    private readonly o: {
      endpoint: string
      region: string
      credentials: () => Promise<Credentials>
      userAgent?: string
    },
  ) {
    this.signer = new SignatureV4({
      credentials: o.credentials,
      region: o.region,
      service: 'cloudtrail',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: true,
      applyChecksum: false,
    })
  }

  async call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    const url = new URL(this.o.endpoint)
    const body = JSON.stringify(input)
    const signed = await this.signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: '/',
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `${IMPORT_TARGET_PREFIX}.${operation}`,
          ...(this.o.userAgent ? { 'user-agent': this.o.userAgent } : {}),
        },
        body,
      }),
    )
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') headers[k] = String(v)
    let res: Response
    try {
      res = await fetch(new URL('/', url), { method: 'POST', headers, body })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      throw Object.assign(new Error(`Could not reach ${this.o.endpoint}: ${String(cause?.code)}`), {
        code: cause?.code,
      })
    }
    const text = await res.text()
    let json: Record<string, string | undefined> = {}
    try {
      json = text ? (JSON.parse(text) as Record<string, string | undefined>) : {}
    } catch {
      // a non-JSON error body: reported below with the status
    }
    if (!res.ok) {
      const type = json['__type'] ?? res.headers.get('x-amzn-errortype') ?? 'UnknownError'
      throw new ImportApiError(
        type.slice(type.lastIndexOf('#') + 1),
        json['message'] ?? json['Message'] ?? `HTTP ${res.status}`,
        res.status,
        res.headers.get('x-amzn-requestid') ?? undefined,
      )
    }
    return json as unknown as T
  }

  start(input: Record<string, unknown>): Promise<WireImport> {
    return this.call('StartImport', input)
  }

  get(id: string): Promise<WireImport> {
    return this.call('GetImport', { ImportId: id })
  }

  stop(id: string): Promise<WireImport> {
    return this.call('StopImport', { ImportId: id })
  }

  async list(): Promise<WireImport[]> {
    const out: WireImport[] = []
    let token: string | undefined
    do {
      const page = await this.call<{ Imports?: WireImport[]; NextToken?: string }>('ListImports', {
        ...(token ? { NextToken: token } : {}),
      })
      out.push(...(page.Imports ?? []))
      token = page.NextToken
    } while (token)
    return out
  }

  async failures(id: string, max = Infinity): Promise<WireFailure[]> {
    const out: WireFailure[] = []
    let token: string | undefined
    do {
      const page = await this.call<{ Failures?: WireFailure[]; NextToken?: string }>(
        'ListImportFailures',
        { ImportId: id, MaxResults: 1000, ...(token ? { NextToken: token } : {}) },
      )
      out.push(...(page.Failures ?? []))
      token = page.NextToken
    } while (token && out.length < max)
    return out
  }
}
