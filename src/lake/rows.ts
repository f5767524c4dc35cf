/**
 * @module lake/rows
 * The Lake schema (`LAKE_COLUMNS`, AWS's Lake column names and DuckDB types) and the rows written
 * into it: a CloudTrail record (`lakeRow`) or an application's audit event from PutAuditEvents
 * (`auditRow`), as plain objects shaped like the table (maps as string records, times as ISO text).
 * `lake/append.ts` writes them column by column.
 */
import type { CloudTrailRecord } from '../events/record.js'

/** The Lake schema (column names as AWS's Lake exposes them). */
export const LAKE_COLUMNS = `
  eventVersion VARCHAR,
  eventTime TIMESTAMP,
  eventSource VARCHAR,
  eventName VARCHAR,
  awsRegion VARCHAR,
  sourceIPAddress VARCHAR,
  userAgent VARCHAR,
  errorCode VARCHAR,
  errorMessage VARCHAR,
  userIdentity STRUCT(
    type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, accessKeyId VARCHAR,
    userName VARCHAR, invokedBy VARCHAR, identityProvider VARCHAR, credentialId VARCHAR,
    sessionContext STRUCT(
      attributes STRUCT(creationDate TIMESTAMP, mfaAuthenticated VARCHAR),
      sessionIssuer STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, userName VARCHAR),
      webIdFederationData MAP(VARCHAR, VARCHAR),
      sourceIdentity VARCHAR,
      ec2RoleDelivery VARCHAR
    )
  ),
  requestParameters MAP(VARCHAR, VARCHAR),
  responseElements MAP(VARCHAR, VARCHAR),
  additionalEventData MAP(VARCHAR, VARCHAR),
  requestID VARCHAR,
  eventID VARCHAR,
  readOnly BOOLEAN,
  resources STRUCT(accountId VARCHAR, type VARCHAR, arn VARCHAR, arnPrefix VARCHAR)[],
  eventType VARCHAR,
  apiVersion VARCHAR,
  managementEvent BOOLEAN,
  recipientAccountId VARCHAR,
  sharedEventID VARCHAR,
  annotation VARCHAR,
  vpcEndpointId VARCHAR,
  serviceEventDetails VARCHAR,
  addendum MAP(VARCHAR, VARCHAR),
  edgeDeviceDetails VARCHAR,
  insightDetails VARCHAR,
  eventCategory VARCHAR,
  tlsDetails STRUCT(tlsVersion VARCHAR, cipherSuite VARCHAR, clientProvidedHostHeader VARCHAR),
  sessionCredentialFromConsole VARCHAR,
  eventData STRUCT(
    version VARCHAR,
    userIdentity STRUCT(type VARCHAR, principalId VARCHAR, details MAP(VARCHAR, VARCHAR)),
    userAgent VARCHAR, eventSource VARCHAR, eventName VARCHAR, eventTime VARCHAR, UID VARCHAR,
    requestParameters MAP(VARCHAR, VARCHAR), responseElements MAP(VARCHAR, VARCHAR),
    errorCode VARCHAR, errorMessage VARCHAR, sourceIPAddress VARCHAR, recipientAccountId VARCHAR,
    additionalEventData MAP(VARCHAR, VARCHAR)
  ),
  metadata STRUCT(ingestionTime TIMESTAMP, channelARN VARCHAR)
`

export type Obj = Record<string, unknown>
const obj = (v: unknown): Obj | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined
const s = (v: unknown): string | null =>
  v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)

/** A JSON object as MAP(VARCHAR, VARCHAR): top-level keys; non-string values as JSON text. */
function toMap(v: unknown): Record<string, string> | null {
  const o = obj(v)
  if (!o) return null
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(o)) if (x !== undefined && x !== null) out[k] = s(x)!
  return out
}

/** A CloudTrail record as a Lake row (an object shaped like the table: LAKE_COLUMNS). */
export function lakeRow(r: CloudTrailRecord): Obj {
  const x = r as unknown as Obj
  const ui = obj(r.userIdentity) ?? {}
  const sc = obj(ui['sessionContext'])
  const attrs = obj(sc?.['attributes'])
  const issuer = obj(sc?.['sessionIssuer'])
  return {
    eventVersion: s(x['eventVersion']),
    eventTime: s(x['eventTime']),
    eventSource: s(x['eventSource']),
    eventName: s(x['eventName']),
    awsRegion: s(x['awsRegion']),
    sourceIPAddress: s(x['sourceIPAddress']),
    userAgent: s(x['userAgent']),
    errorCode: s(x['errorCode']),
    errorMessage: s(x['errorMessage']),
    userIdentity: {
      type: s(ui['type']),
      principalId: s(ui['principalId']),
      arn: s(ui['arn']),
      accountId: s(ui['accountId']),
      accessKeyId: s(ui['accessKeyId']),
      userName: s(ui['userName']),
      invokedBy: s(ui['invokedBy']),
      identityProvider: s(ui['identityProvider']),
      credentialId: s(ui['credentialId']),
      sessionContext: sc
        ? {
            attributes: attrs
              ? {
                  creationDate: s(attrs['creationDate']),
                  mfaAuthenticated: s(attrs['mfaAuthenticated']),
                }
              : null,
            sessionIssuer: issuer
              ? {
                  type: s(issuer['type']),
                  principalId: s(issuer['principalId']),
                  arn: s(issuer['arn']),
                  accountId: s(issuer['accountId']),
                  userName: s(issuer['userName']),
                }
              : null,
            webIdFederationData: toMap(sc['webIdFederationData']),
            sourceIdentity: s(sc['sourceIdentity']),
            ec2RoleDelivery: s(sc['ec2RoleDelivery']),
          }
        : null,
    },
    requestParameters: toMap(x['requestParameters']),
    responseElements: toMap(x['responseElements']),
    additionalEventData: toMap(x['additionalEventData']),
    requestID: s(x['requestID']),
    eventID: s(x['eventID']),
    readOnly: typeof x['readOnly'] === 'boolean' ? x['readOnly'] : null,
    resources: Array.isArray(x['resources'])
      ? (x['resources'] as Obj[]).map((res) => ({
          accountId: s(res['accountId']),
          type: s(res['type']),
          arn: s(res['ARN']),
          arnPrefix: s(res['ARNPrefix']),
        }))
      : null,
    eventType: s(x['eventType']),
    apiVersion: s(x['apiVersion']),
    managementEvent: typeof x['managementEvent'] === 'boolean' ? x['managementEvent'] : null,
    recipientAccountId: s(x['recipientAccountId']),
    sharedEventID: s(x['sharedEventID']),
    annotation: s(x['annotation']),
    vpcEndpointId: s(x['vpcEndpointId']),
    serviceEventDetails: s(x['serviceEventDetails']),
    addendum: toMap(x['addendum']),
    edgeDeviceDetails: s(x['edgeDeviceDetails']),
    insightDetails: s(x['insightDetails']),
    eventCategory: s(x['eventCategory']),
    tlsDetails: obj(x['tlsDetails'])
      ? {
          tlsVersion: s(obj(x['tlsDetails'])!['tlsVersion']),
          cipherSuite: s(obj(x['tlsDetails'])!['cipherSuite']),
          clientProvidedHostHeader: s(obj(x['tlsDetails'])!['clientProvidedHostHeader']),
        }
      : null,
    sessionCredentialFromConsole: s(x['sessionCredentialFromConsole']),
    eventData: null,
    metadata: null,
  }
}

/** Every column null. */
const EMPTY_ROW = lakeRow({} as CloudTrailRecord)

/**
 * An application's audit event (PutAuditEvents, `eventCategory` ActivityAuditLog) as a Lake row: the
 * caller's `eventData` kept under `eventData`, CloudTrail's own fields at the top level.
 */
export function auditRow(a: {
  eventID: string
  eventData: Obj
  region: string
  accountId: string
  channelArn: string
  ingestionTime: Date
}): Obj {
  const d = a.eventData
  const ui = obj(d['userIdentity']) ?? {}
  const eventTime = s(d['eventTime'])
  return {
    ...EMPTY_ROW,
    userIdentity: null,
    eventVersion: '1.0',
    eventTime,
    eventCategory: 'ActivityAuditLog',
    eventType: 'ActivityLog',
    eventID: a.eventID,
    awsRegion: a.region,
    recipientAccountId: a.accountId,
    eventSource: s(d['eventSource']),
    eventName: s(d['eventName']),
    userAgent: s(d['userAgent']),
    sourceIPAddress: s(d['sourceIPAddress']),
    errorCode: s(d['errorCode']),
    errorMessage: s(d['errorMessage']),
    eventData: {
      version: s(d['version']),
      userIdentity: {
        type: s(ui['type']),
        principalId: s(ui['principalId']),
        details: toMap(ui['details']),
      },
      userAgent: s(d['userAgent']),
      eventSource: s(d['eventSource']),
      eventName: s(d['eventName']),
      eventTime,
      UID: s(d['UID']),
      requestParameters: toMap(d['requestParameters']),
      responseElements: toMap(d['responseElements']),
      errorCode: s(d['errorCode']),
      errorMessage: s(d['errorMessage']),
      sourceIPAddress: s(d['sourceIPAddress']),
      recipientAccountId: s(d['recipientAccountId']),
      additionalEventData: toMap(d['additionalEventData']),
    },
    metadata: { ingestionTime: a.ingestionTime.toISOString(), channelARN: a.channelArn },
  }
}
