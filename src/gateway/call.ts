/**
 * @module gateway/call
 * What a call through the recording gateway is: its protocol (S3 REST, AWS JSON, query), the
 * service (from the SigV4 credential scope), eventSource, eventName, the IAM action, readOnly, and
 * management or data event. S3 requests are resolved by the S3 API's own routing.
 */
import { camelKeys } from '../protocol/case.js'
import { classifyS3Request, splitPath, type OpInfo } from '../s3api/routing.js'

export type Protocol = 's3' | 'json' | 'query' | 'rest'

export interface S3Call {
  info: OpInfo
  bucket?: string
  key?: string
}

export interface CallInfo {
  protocol: Protocol
  /** The SigV4 signing name the client used: s3, dynamodb, sqs, ... */
  service: string
  eventSource: string
  /** The operation; `UnknownOperation` when the request names none we can tell. */
  eventName: string
  /** `<iam prefix>:<Action>`; empty when there is no operation. */
  action: string
  readOnly: boolean
  data: boolean
  s3?: S3Call
}

/** Signing names whose IAM prefix or event source differ from the signing name. */
const IAM_PREFIX: Record<string, string> = { monitoring: 'cloudwatch', email: 'ses' }
const EVENT_SOURCE: Record<string, string> = { email: 'ses.amazonaws.com' }

/** Operations CloudTrail records as data events (not in Event History), by service. */
const DATA_EVENTS: Record<string, RegExp> = {
  dynamodb:
    /^(GetItem|PutItem|UpdateItem|DeleteItem|Query|Scan|BatchGetItem|BatchWriteItem|TransactGetItems|TransactWriteItems|ExecuteStatement|BatchExecuteStatement|ExecuteTransaction)$/,
  sqs: /^(SendMessage|SendMessageBatch|ReceiveMessage|DeleteMessage|DeleteMessageBatch|ChangeMessageVisibility|ChangeMessageVisibilityBatch)$/,
  sns: /^(Publish|PublishBatch)$/,
  kinesis: /^(PutRecord|PutRecords|GetRecords|GetShardIterator|SubscribeToShard)$/,
  lambda: /^(Invoke|InvokeWithResponseStream)$/,
}

const READ_ONLY =
  /^(Get|List|Describe|Head|Query|Scan|BatchGet|TransactGet|Lookup|Search|Select|Check|Validate|Estimate|Preview|Simulate)(?![a-z])/

export function eventSourceOf(service: string): string {
  return EVENT_SOURCE[service] ?? `${service}.amazonaws.com`
}

function operationCall(protocol: Protocol, service: string, operation: string): CallInfo {
  return {
    protocol,
    service,
    eventSource: eventSourceOf(service),
    eventName: operation,
    action: `${IAM_PREFIX[service] ?? service}:${operation}`,
    readOnly: READ_ONLY.test(operation),
    data: DATA_EVENTS[service]?.test(operation) ?? false,
  }
}

function unknownCall(protocol: Protocol, service: string): CallInfo {
  return {
    protocol,
    service,
    eventSource: eventSourceOf(service),
    eventName: 'UnknownOperation',
    action: '',
    readOnly: false,
    data: false,
  }
}

/** An S3 REST request (path-style). Throws S3's InvalidURI for a path that does not decode. */
export function s3Call(
  method: string,
  rawPath: string,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): CallInfo {
  const { bucket, key } = splitPath(rawPath)
  const info = classifyS3Request(method, bucket, key, query, headers)
  const base = {
    protocol: 's3' as const,
    service: 's3',
    eventSource: 's3.amazonaws.com',
  }
  const where = {
    ...(bucket !== undefined ? { bucket } : {}),
    ...(key !== undefined ? { key } : {}),
  }
  // What S3 cannot classify: a GET is recorded as ListBuckets (`GET /`), anything else as unknown.
  if (!info)
    return {
      ...base,
      eventName: method === 'GET' ? 'ListBuckets' : 'UnknownOperation',
      action: '',
      readOnly: method === 'GET' || method === 'HEAD',
      data: false,
    }
  return {
    ...base,
    eventName: info.name,
    action: info.action ? `s3:${info.action}` : '',
    readOnly: info.readOnly,
    data: info.data,
    s3: { info, ...where },
  }
}

/** An AWS JSON 1.0/1.1 request: the operation is the part of X-Amz-Target after the last dot. */
export function jsonCall(service: string, target: string): CallInfo {
  const dot = target.lastIndexOf('.')
  const operation = dot >= 0 ? target.slice(dot + 1) : ''
  return /^[A-Za-z][A-Za-z0-9]{0,127}$/.test(operation)
    ? operationCall('json', service, operation)
    : unknownCall('json', service)
}

/** A query-protocol request: `Action=` from the query string or the form body. */
export function queryCall(service: string, params: URLSearchParams): CallInfo {
  const action = params.get('Action') ?? ''
  return /^[A-Za-z][A-Za-z0-9]{0,127}$/.test(action)
    ? operationCall('query', service, action)
    : unknownCall('query', service)
}

export function restCall(service: string): CallInfo {
  return unknownCall('rest', service)
}

// ---- requestParameters of JSON and query calls ---------------------------------------------------

/**
 * Members that name things (tables, queues, ARNs, IDs, limits): logged. Everything else (item
 * contents, message bodies, secrets) is not; AWS shapes each service's parameters itself, and a
 * gateway that cannot tell a secret from a name logs only what is safe to log.
 */
const IDENTIFIER = /(Name|Names|Id|Ids|Arn|Arns|Url|Urls|Prefix|Type|Limit|Max[A-Za-z]*|Status)$/
const SENSITIVE = /secret|password|token|credential|private|session|auth/i
const MAX_VALUE = 1024

function safeValue(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return v
  if (typeof v === 'string') return v.length <= MAX_VALUE ? v : undefined
  if (Array.isArray(v) && v.length <= 100 && v.every((x) => typeof x === 'string'))
    return v.every((x) => x.length <= MAX_VALUE) ? v : undefined
  return undefined
}

function identifierMembers(entries: Iterable<[string, unknown]>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {}
  let n = 0
  for (const [k, v] of entries) {
    if (!IDENTIFIER.test(k) || SENSITIVE.test(k)) continue
    const safe = safeValue(v)
    if (safe === undefined) continue
    out[k] = safe
    if (++n >= 50) break
  }
  return n > 0 ? (camelKeys(out) as Record<string, unknown>) : null
}

/**
 * An AWS JSON body's top-level members, parsed once for both the event's parameters and the ARNs
 * IAM checks; undefined when the body is empty, over 1 MiB or not a JSON object.
 */
export function jsonMembers(body: Buffer): [string, unknown][] | undefined {
  if (body.length === 0 || body.length > 1024 * 1024) return undefined
  try {
    const doc = JSON.parse(body.toString('utf8')) as unknown
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? Object.entries(doc) : undefined
  } catch {
    return undefined
  }
}

/** requestParameters of an AWS JSON call: the identifier-like top-level members. */
export function jsonRequestParameters(
  members: [string, unknown][] | undefined,
): Record<string, unknown> | null {
  return members ? identifierMembers(members) : null
}

/** requestParameters of a query call: the identifier-like top-level parameters. */
export function queryRequestParameters(params: URLSearchParams): Record<string, unknown> | null {
  const entries: [string, unknown][] = []
  for (const [k, v] of params)
    if (k !== 'Action' && k !== 'Version' && !k.includes('.')) entries.push([k, v])
  return identifierMembers(entries)
}

// ---- resources of JSON and query calls -------------------------------------------------------

const ARN_MEMBER = /(Arn|ARN)$/
const ARN_VALUE = /^arn:[\w-]+:[\w-]*:[\w-]*:\d{0,12}:\S{1,1600}$/

/**
 * The ARNs a call names in top-level members ending in `Arn` (`TopicArn`, `TableArn`,
 * `ResourceArn`, ...): the resources IAM authorizes it on. At most 20.
 */
export function arnParameters(entries: Iterable<[string, unknown]>): string[] {
  const out: string[] = []
  for (const [k, v] of entries) {
    if (!ARN_MEMBER.test(k) || typeof v !== 'string' || !ARN_VALUE.test(v)) continue
    if (!out.includes(v)) out.push(v)
    if (out.length >= 20) break
  }
  return out
}
