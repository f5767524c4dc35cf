/**
 * @module import/client
 * A small client for the import API (AWS JSON 1.1, SigV4 for service `cloudtrail`), for the CLI and
 * scripts; the AWS SDKs have no commands for OpenTrail's own target prefix. Errors look like the
 * SDK's (`AwsCallError` from shared/aws-call: a `name`, a `message` and `$metadata`), so callers can
 * treat them alike.
 */
import { awsJsonCall, type CallTarget } from '../shared/aws-call.js'
import { IMPORT_TARGET_PREFIX } from './api.js'

export type { Credentials } from '../shared/aws-call.js'

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
  constructor(private readonly o: CallTarget) {}

  call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    return awsJsonCall<T>({
      ...this.o,
      service: 'cloudtrail',
      target: `${IMPORT_TARGET_PREFIX}.${operation}`,
      version: '1.1',
      input,
    })
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
