/**
 * @module insights/client
 * A small client for OpenTrail's Insights extension API (target prefix `OpenTrailInsights_20250601`,
 * AWS JSON 1.1, SigV4 for service `cloudtrail`), for the CLI, tests and scripts. Errors carry the
 * AWS error code as `name`, like the SDK's.
 */
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { INSIGHTS_TARGET_PREFIX } from './api.js'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface WireAttributionValue {
  Value: string
  Average: number
}

export interface WireAnomaly {
  AnomalyId: string
  State: 'OPEN' | 'CLOSED'
  AccountId: string
  Region: string
  EventSource: string
  EventName: string
  InsightType: string
  ErrorCode?: string
  StartTime: number
  DetectedAt: number
  EndTime?: number
  WindowCount: number
  Score: number
  BaselineAverage: number
  InsightAverage: number
  InsightDuration: number
  BaselineDuration: number
  Emitted: boolean
  StartEventId: string
  EndEventId?: string
  Attributions?: {
    Attribute: string
    Insight: WireAttributionValue[]
    Baseline: WireAttributionValue[]
  }[]
  Series?: { Minute: number; Count: number; Expected: number; Upper: number }[]
}

export class InsightsApiError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = name
  }
}

export class InsightsClient {
  private readonly signer: SignatureV4

  constructor(
    private readonly o: {
      endpoint: string
      region: string
      credentials: Credentials | (() => Promise<Credentials>)
      /** Milliseconds to add to the local clock when signing (a server with another clock). */
      clockOffsetMs?: number
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

  async call<T>(operation: string, input: Record<string, unknown> = {}): Promise<T> {
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
          'x-amz-target': `${INSIGHTS_TARGET_PREFIX}.${operation}`,
        },
        body,
      }),
      { signingDate: new Date(Date.now() + (this.o.clockOffsetMs ?? 0)) },
    )
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') headers[k] = String(v)
    const res = await fetch(new URL('/', url), { method: 'POST', headers, body })
    const text = await res.text()
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown> & {
      __type?: string
      message?: string
    }
    if (!res.ok) {
      const type = json.__type ?? res.headers.get('x-amzn-errortype') ?? 'UnknownError'
      throw new InsightsApiError(
        type.slice(type.lastIndexOf('#') + 1),
        json.message ?? `HTTP ${res.status}`,
        res.status,
      )
    }
    return json as T
  }

  async list(input: Record<string, unknown> = {}): Promise<WireAnomaly[]> {
    const out: WireAnomaly[] = []
    let token: string | undefined
    do {
      const page = await this.call<{ Anomalies: WireAnomaly[]; NextToken?: string }>(
        'ListInsightsAnomalies',
        { ...input, ...(token ? { NextToken: token } : {}) },
      )
      out.push(...page.Anomalies)
      token = page.NextToken
    } while (token)
    return out
  }

  async get(id: string): Promise<WireAnomaly> {
    return (await this.call<{ Anomaly: WireAnomaly }>('GetInsightsAnomaly', { AnomalyId: id }))
      .Anomaly
  }
}
