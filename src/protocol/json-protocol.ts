/**
 * @module protocol/json-protocol
 * AWS JSON 1.1: operation from X-Amz-Target, error bodies `{"__type","message"}` with X-Amzn-ErrorType.
 */
import { ServiceError } from '../shared/errors.js'

export interface Target {
  service: string
  operation: string
}

/**
 * Parses `X-Amz-Target`. Accepts the short form (`CloudTrail_20131101.ListTrails`) and the long form
 * (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListTrails`).
 */
export function parseTarget(
  header: string | undefined,
  prefixes: Record<string, string[]>,
): Target | undefined {
  if (!header) return undefined
  const dot = header.lastIndexOf('.')
  if (dot < 0) return undefined
  const prefix = header.slice(0, dot)
  const operation = header.slice(dot + 1)
  for (const [service, accepted] of Object.entries(prefixes)) {
    if (accepted.includes(prefix)) return { service, operation }
  }
  return undefined
}

export interface ErrorBody {
  status: number
  code: string
  body: string
}

export function errorResponse(err: unknown, requestId: string): ErrorBody {
  if (err instanceof ServiceError) {
    return {
      status: err.status,
      code: err.code,
      body: JSON.stringify({ __type: err.code, message: err.message }),
    }
  }
  return {
    status: 500,
    code: 'InternalFailure',
    body: JSON.stringify({
      __type: 'InternalFailure',
      message: `The request processing has failed because of an unknown error. Request ID: ${requestId}`,
    }),
  }
}
