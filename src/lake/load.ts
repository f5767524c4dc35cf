/**
 * @module lake/load
 * The Lake's write path: rows reach a store's table as newline-delimited JSON that DuckDB's own JSON
 * reader (`read_json` with an explicit schema) parses straight into the table's columns, in one
 * `INSERT ... SELECT` per batch, on DuckDB's threads. Two kinds of line:
 * - `record`: a CloudTrail record as the pipeline's log stores it (`JSON.stringify`);
 * - `audit`: an application's event accepted by PutAuditEvents (`auditLines`), its `eventData`
 *   exactly as the caller sent it.
 * The SQL here turns each into the Lake schema (`lake/rows.ts`): times as UTC TIMESTAMP, JSON
 * objects as MAP(VARCHAR, VARCHAR) (top-level keys; strings as they are, other values as JSON text,
 * null values left out), `resources[].ARN` as `arn`. A value of the wrong JSON type becomes NULL
 * (`ignore_errors`), never a failed batch. The batch goes through a file in the engine's work
 * directory, the one directory the locked-down instance may read.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'

export type LineKind = 'record' | 'audit'

const M = 'MAP(VARCHAR, VARCHAR)'

/** read_json's schema for a CloudTrail record (times as text: a bad one must not fail the batch). */
const RECORD_COLUMNS = `{
  eventVersion: 'VARCHAR', eventTime: 'VARCHAR', eventSource: 'VARCHAR', eventName: 'VARCHAR',
  awsRegion: 'VARCHAR', sourceIPAddress: 'VARCHAR', userAgent: 'VARCHAR', errorCode: 'VARCHAR',
  errorMessage: 'VARCHAR',
  userIdentity: 'STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR,
    accessKeyId VARCHAR, userName VARCHAR, invokedBy VARCHAR, identityProvider VARCHAR,
    credentialId VARCHAR, sessionContext STRUCT(
      attributes STRUCT(creationDate VARCHAR, mfaAuthenticated VARCHAR),
      sessionIssuer STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, userName VARCHAR),
      webIdFederationData ${M}, sourceIdentity VARCHAR, ec2RoleDelivery VARCHAR))',
  requestParameters: '${M}', responseElements: '${M}', additionalEventData: '${M}',
  requestID: 'VARCHAR', eventID: 'VARCHAR', readOnly: 'BOOLEAN',
  resources: 'STRUCT(accountId VARCHAR, type VARCHAR, "ARN" VARCHAR, "ARNPrefix" VARCHAR)[]',
  eventType: 'VARCHAR', apiVersion: 'VARCHAR', managementEvent: 'BOOLEAN',
  recipientAccountId: 'VARCHAR', sharedEventID: 'VARCHAR', annotation: 'VARCHAR',
  vpcEndpointId: 'VARCHAR', serviceEventDetails: 'VARCHAR', addendum: '${M}',
  edgeDeviceDetails: 'VARCHAR', insightDetails: 'VARCHAR', eventCategory: 'VARCHAR',
  tlsDetails: 'STRUCT(tlsVersion VARCHAR, cipherSuite VARCHAR, clientProvidedHostHeader VARCHAR)',
  sessionCredentialFromConsole: 'VARCHAR'
}`

/** read_json's schema for a line from `auditLines`. */
const AUDIT_COLUMNS = `{
  eventID: 'VARCHAR', awsRegion: 'VARCHAR', recipientAccountId: 'VARCHAR', channelARN: 'VARCHAR',
  ingestionTime: 'BIGINT', eventTime: 'BIGINT',
  eventData: 'STRUCT(version VARCHAR, userIdentity STRUCT(type VARCHAR, principalId VARCHAR,
    details ${M}), userAgent VARCHAR, eventSource VARCHAR, eventName VARCHAR, eventTime VARCHAR,
    UID VARCHAR, requestParameters ${M}, responseElements ${M}, errorCode VARCHAR,
    errorMessage VARCHAR, sourceIPAddress VARCHAR, recipientAccountId VARCHAR,
    additionalEventData ${M})'
}`

/** A map without its NULL values (a JSON null in an object is left out, as it is absent). */
const noNulls = (m: string) =>
  `map_from_entries(list_filter(map_entries(${m}), e -> e.value IS NOT NULL))`
const utc = (v: string) => `TRY_CAST(${v} AS TIMESTAMPTZ)::TIMESTAMP`
const ifSet = (v: string, then: string) => `CASE WHEN ${v} IS NULL THEN NULL ELSE ${then} END`

const RECORD_SELECT = `SELECT * REPLACE (
  ${utc('eventTime')} AS eventTime,
  ${ifSet(
    'userIdentity',
    `struct_update(userIdentity, sessionContext := ${ifSet(
      'userIdentity.sessionContext',
      `{'attributes': ${ifSet(
        'userIdentity.sessionContext.attributes',
        `{'creationDate': ${utc('userIdentity.sessionContext.attributes.creationDate')},
          'mfaAuthenticated': userIdentity.sessionContext.attributes.mfaAuthenticated}`,
      )},
        'sessionIssuer': userIdentity.sessionContext.sessionIssuer,
        'webIdFederationData': ${noNulls('userIdentity.sessionContext.webIdFederationData')},
        'sourceIdentity': userIdentity.sessionContext.sourceIdentity,
        'ec2RoleDelivery': userIdentity.sessionContext.ec2RoleDelivery}`,
    )})`,
  )} AS userIdentity,
  ${noNulls('requestParameters')} AS requestParameters,
  ${noNulls('responseElements')} AS responseElements,
  ${noNulls('additionalEventData')} AS additionalEventData,
  ${noNulls('addendum')} AS addendum,
  list_transform(resources, r -> {'accountId': r.accountId, 'type': r.type, 'arn': r."ARN",
    'arnPrefix': r."ARNPrefix"}) AS resources)`

const AUDIT_SELECT = `SELECT
  '1.0' AS eventVersion, make_timestamp(eventTime) AS eventTime, 'ActivityAuditLog' AS eventCategory,
  'ActivityLog' AS eventType, eventID, awsRegion, recipientAccountId,
  eventData.eventSource AS eventSource, eventData.eventName AS eventName,
  eventData.userAgent AS userAgent, eventData.sourceIPAddress AS sourceIPAddress,
  eventData.errorCode AS errorCode, eventData.errorMessage AS errorMessage,
  {'version': eventData.version,
   'userIdentity': {'type': eventData.userIdentity.type,
     'principalId': eventData.userIdentity.principalId,
     'details': ${noNulls('eventData.userIdentity.details')}},
   'userAgent': eventData.userAgent, 'eventSource': eventData.eventSource,
   'eventName': eventData.eventName, 'eventTime': eventData.eventTime, 'UID': eventData.UID,
   'requestParameters': ${noNulls('eventData.requestParameters')},
   'responseElements': ${noNulls('eventData.responseElements')},
   'errorCode': eventData.errorCode, 'errorMessage': eventData.errorMessage,
   'sourceIPAddress': eventData.sourceIPAddress,
   'recipientAccountId': eventData.recipientAccountId,
   'additionalEventData': ${noNulls('eventData.additionalEventData')}} AS eventData,
  {'ingestionTime': make_timestamp(ingestionTime), 'channelARN': channelARN} AS metadata`

/** The INSERT that loads a file of `kind` lines into `table`. */
export function loadSql(table: string, file: string, kind: LineKind): string {
  const columns = kind === 'record' ? RECORD_COLUMNS : AUDIT_COLUMNS
  const select = kind === 'record' ? RECORD_SELECT : AUDIT_SELECT
  const path = `'${file.replace(/'/g, "''")}'`
  // An audit line is always ours and always has an eventID: a line DuckDB could not read at all
  // must not become a row of NULLs (`loadLines` reports the shortfall).
  const where = kind === 'audit' ? ' WHERE eventID IS NOT NULL' : ''
  return `INSERT INTO ${table} BY NAME ${select}
    FROM read_json(${path}, format = 'newline_delimited', ignore_errors = true,
      maximum_object_size = 67108864, columns = ${columns})${where}`
}

let files = 0

/**
 * Loads `lines` (JSON texts, no raw newlines) into `table` on `conn`, inside its open transaction if
 * it has one; returns the rows inserted.
 */
export async function loadLines(
  conn: DuckDBConnection,
  workDir: string,
  table: string,
  kind: LineKind,
  lines: readonly string[],
): Promise<number> {
  if (lines.length === 0) return 0
  const file = join(workDir, `load-${process.pid}-${++files}.ndjson`)
  const fh = await open(file, 'w')
  try {
    // In slices: one string of a whole batch could pass V8's string length limit.
    for (let i = 0; i < lines.length; i += 5000) {
      await fh.write(lines.slice(i, i + 5000).join('\n') + '\n')
    }
    await fh.close()
    const r = await conn.run(loadSql(table, file, kind))
    return Number(r.rowsChanged)
  } finally {
    await fh.close().catch(() => undefined)
    await rm(file, { force: true })
  }
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A time as microseconds since the epoch (UTC), what a DuckDB TIMESTAMP holds. ISO 8601 with
 * microsecond precision; an offset is applied, as DuckDB's cast of such a string does. Anything
 * else Date.parse reads is taken at millisecond precision; an unreadable value (also an ISO text
 * with a field out of range, such as month 13) is null.
 */
export function timestampMicros(v: unknown): number | null {
  if (typeof v !== 'string') return null
  const m = ISO.exec(v)
  if (m) {
    const [mo, d, h, mi, sec] = [+m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!]
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return null
    const ms = Date.UTC(+m[1]!, mo - 1, d, h, mi, sec)
    // Day 31 of a 30-day month rolls over: not a date.
    if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== d) return null
    let micros = ms * 1000
    if (m[7]) micros += +(m[7] + '00000').slice(0, 6)
    const z = m[8]
    if (z && z !== 'Z') {
      const minutes = +z.slice(1, 3) * 60 + +z.slice(-2)
      micros -= (z[0] === '-' ? -1 : 1) * minutes * 60_000_000
    }
    return micros
  }
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? null : ms * 1000
}

/**
 * Builds `audit` lines for one PutAuditEvents call: what is the same for every event of the call
 * (channel, region, account, ingestion time) is serialized once. `eventDataText` is the caller's
 * JSON text (already parsed once, so valid); JSON allows raw line breaks only as whitespace, so they
 * become spaces and the line stays one line. `eventTime` is in microseconds (`timestampMicros`).
 */
export function auditLines(call: {
  region: string
  accountId: string
  channelArn: string
  ingestionTime: Date
}): (eventID: string, eventDataText: string, eventTime: number | null) => string {
  const common =
    `","awsRegion":${JSON.stringify(call.region)},` +
    `"recipientAccountId":${JSON.stringify(call.accountId)},` +
    `"channelARN":${JSON.stringify(call.channelArn)},` +
    `"ingestionTime":${call.ingestionTime.getTime() * 1000},"eventTime":`
  return (eventID, text, eventTime) => {
    const data = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, ' ') : text
    // eventID is a UUID: no character JSON escapes.
    return `{"eventID":"${eventID}${common}${eventTime ?? 'null'},"eventData":${data}}`
  }
}
