/**
 * @module domains/logs/model
 * CloudWatch Logs in OpenTrail: log groups (per account and region), streams, events; names, ARNs,
 * retention values and limits as AWS documents them.
 */
import { awsError } from '../../shared/errors.js'

export const ResourceNotFoundException = awsError('ResourceNotFoundException')
export const ResourceAlreadyExistsException = awsError('ResourceAlreadyExistsException')
export const InvalidParameterException = awsError('InvalidParameterException')
export const LimitExceededException = awsError('LimitExceededException')

export interface GroupScope {
  accountId: string
  region: string
}

export interface LogGroup extends GroupScope {
  /** Internal id: event keys start with it, so a re-created group never sees old events. */
  id: number
  name: string
  creationTime: number
  retentionInDays?: number
  kmsKeyId?: string
  tags?: Record<string, string>
  storedBytes: number
}

export interface LogStream {
  groupId: number
  name: string
  creationTime: number
  firstEventTimestamp?: number
  lastEventTimestamp?: number
  lastIngestionTime?: number
  storedBytes: number
}

export interface LogEvent {
  timestamp: number
  message: string
}

export interface StoredEvent extends LogEvent {
  stream: string
  ingestionTime: number
  seq: number
}

/** PutRetentionPolicy's allowed values (days). */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
]

/** AWS: 256 KB per event including 26 bytes of overhead; CloudTrail skips larger events. */
export const MAX_EVENT_BYTES = 256 * 1024 - 26

const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/
const STREAM_NAME = /^[^:*]{1,512}$/

export function validateGroupName(name: string): void {
  if (!GROUP_NAME.test(name))
    throw InvalidParameterException(
      `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
    )
}

export function validateStreamName(name: string): void {
  if (!STREAM_NAME.test(name))
    throw InvalidParameterException(
      `1 validation error detected: Value '${name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
    )
}

export const groupArn = (g: GroupScope & { name: string }): string =>
  `arn:aws:logs:${g.region}:${g.accountId}:log-group:${g.name}`

/** `arn:aws:logs:<region>:<account>:log-group:<name>[:*]` → scope and name. */
export function parseGroupArn(arn: string): (GroupScope & { name: string }) | undefined {
  const m = /^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(:\*)?$/.exec(arn)
  return m ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined
}

/** A log group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN). */
export function groupRefOf(
  input: Record<string, unknown>,
  scope: GroupScope,
): GroupScope & { name: string } {
  const name = input['logGroupName']
  const ident = input['logGroupIdentifier']
  if (typeof name === 'string' && typeof ident === 'string')
    throw InvalidParameterException(
      'LogGroup name and LogGroup ARN are mutually exclusive parameters.',
    )
  if (typeof ident === 'string') {
    const parsed = ident.startsWith('arn:') ? parseGroupArn(ident) : undefined
    if (ident.startsWith('arn:') && !parsed)
      throw InvalidParameterException(`Invalid log group identifier: ${ident}`)
    return parsed ?? { ...scope, name: ident }
  }
  if (typeof name === 'string') return { ...scope, name }
  throw InvalidParameterException('Either logGroupName or logGroupIdentifier must be specified.')
}
