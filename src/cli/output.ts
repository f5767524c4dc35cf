/** @module cli/output  Tables, event rows, and turning errors into a message and an exit code. */
import type { Event } from '@aws-sdk/client-cloudtrail'
import { CredentialsNotFound } from './connection.js'

/** Exit codes as the AWS CLI uses them: 254 the service returned an error, 255 anything else. */
export const EXIT_SERVICE_ERROR = 254
export const EXIT_OTHER_ERROR = 255

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

export const EVENT_COLUMNS = ['TIME', 'EVENT', 'USER', 'SOURCE', 'ERROR', 'RESOURCE']

interface RecordFields {
  errorCode?: string
  userIdentity?: { userName?: string; accessKeyId?: string; arn?: string; type?: string }
}

function recordOf(e: Event): RecordFields {
  try {
    return JSON.parse(e.CloudTrailEvent ?? '{}') as RecordFields
  } catch {
    return {}
  }
}

export const isoSeconds = (d: Date | undefined): string =>
  d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-'

/** One table row: time, event name, user, source, error code, resource. */
export function eventRow(e: Event): string[] {
  const record = recordOf(e)
  const ui = record.userIdentity ?? {}
  const resources = e.Resources ?? []
  const first = resources[0]?.ResourceName ?? '-'
  return [
    isoSeconds(e.EventTime),
    e.EventName ?? '-',
    e.Username ?? ui.userName ?? ui.accessKeyId ?? '-',
    e.EventSource ?? '-',
    record.errorCode ?? '-',
    resources.length > 1 ? `${first} (+${resources.length - 1})` : first,
  ]
}

/** The JSON form of an Event: the SDK shape with EventTime as an ISO string. */
export function eventJson(e: Event): Record<string, unknown> {
  return { ...e, EventTime: e.EventTime?.toISOString() }
}

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH'])

function connectionError(err: unknown): boolean {
  const e = err as { code?: string; errors?: unknown[] }
  if (e?.code && connectionCodes.has(e.code)) return true
  return Array.isArray(e?.errors) && e.errors.some(connectionError)
}

/** A message and exit code for an error, in the AWS CLI's style. */
export function describeError(err: unknown, endpoint?: string): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode }
  if (err instanceof CredentialsNotFound) return { message: err.message, code: EXIT_OTHER_ERROR }
  if (connectionError(err))
    return {
      message: `Could not connect to the endpoint URL: "${endpoint ?? '?'}" (is the server running? start it with: opentrail serve)`,
      code: EXIT_OTHER_ERROR,
    }
  const e = err as { name?: string; message?: string; $metadata?: unknown }
  if (e?.$metadata)
    return {
      message: `An error occurred (${e.name}): ${e.message}`,
      code: EXIT_SERVICE_ERROR,
    }
  return { message: e?.message ?? String(err), code: EXIT_OTHER_ERROR }
}

/** Runs a command body; prints failures to stderr and exits with a non-zero code. */
export async function run(body: () => Promise<void>, endpoint?: string): Promise<void> {
  try {
    await body()
  } catch (err) {
    const { message, code } = describeError(err, endpoint)
    process.stderr.write(`${message}\n`)
    process.exitCode = code
  }
}
