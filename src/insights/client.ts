/**
 * @module insights/client
 * A small client for OpenTrail's Insights extension API (target prefix `OpenTrailInsights_20250601`,
 * AWS JSON 1.1, SigV4 for service `cloudtrail`), for the CLI, tests and scripts. Errors carry the
 * AWS error code as `name`, like the SDK's.
 */
import { awsJsonCall, type CallTarget } from '../shared/aws-call.js'
import { INSIGHTS_TARGET_PREFIX } from './api.js'

export type { Credentials } from '../shared/aws-call.js'
/** The errors the client throws (the AWS code as `name`, `status`, `$metadata`). */
export { AwsCallError as InsightsApiError } from '../shared/aws-call.js'

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

export class InsightsClient {
  constructor(private readonly o: CallTarget) {}

  call<T>(operation: string, input: Record<string, unknown> = {}): Promise<T> {
    return awsJsonCall<T>({
      ...this.o,
      service: 'cloudtrail',
      target: `${INSIGHTS_TARGET_PREFIX}.${operation}`,
      version: '1.1',
      input,
    })
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
