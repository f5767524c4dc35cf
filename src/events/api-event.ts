/**
 * @module events/api-event
 * Builds the CloudTrail record for one API call made to OpenTrail (eventSource cloudtrail.amazonaws.com),
 * including failed, denied and unauthenticated calls.
 */
import type { Principal } from '../iam/identities.js'
import { newEventId } from '../shared/ids.js'
import { eventTimeString, type CloudTrailRecord, type EventResource } from './record.js'

export interface ApiCall {
  time: Date
  eventSource: string
  eventName: string
  region: string
  /** The authenticated principal, or for failed authentication what the caller claimed. */
  principal?: Principal
  claimedAccessKeyId?: string
  defaultAccountId: string
  sourceIPAddress: string
  userAgent?: string
  requestId: string
  requestParameters: unknown
  responseElements: unknown
  /** Upper bounds of the two fields' JSON size when the caller knows them (skips measuring). */
  requestBytes?: number
  responseBytes?: number
  errorCode?: string
  errorMessage?: string
  readOnly: boolean
  resources?: EventResource[]
  tls?: { tlsVersion?: string; cipherSuite?: string }
  host?: string
}

/** AWS's largest requestParameters / responseElements; a larger one is replaced by a marker. */
export const MAX_FIELD_BYTES = 100 * 1024

/**
 * The field, or AWS's marker for one too large to record: `{"omitted":true,"originalSize":N,
 * "reason":"requestParameters too large"}` (decision 0020).
 */
function capped(value: unknown, field: string, knownBytes: number | undefined): unknown {
  if (value === undefined || value === null) return null
  if (knownBytes !== undefined && knownBytes <= MAX_FIELD_BYTES) return value
  const size = Buffer.byteLength(JSON.stringify(value))
  if (size <= MAX_FIELD_BYTES) return value
  return { omitted: true, originalSize: size, reason: `${field} too large` }
}

export function buildApiEvent(call: ApiCall): CloudTrailRecord {
  const p = call.principal
  const userIdentity = p
    ? {
        type: p.type,
        principalId: p.principalId,
        arn: p.arn,
        accountId: p.accountId,
        accessKeyId: p.accessKeyId,
        ...(p.userName ? { userName: p.userName } : {}),
        ...(p.session
          ? {
              sessionContext: {
                sessionIssuer: {},
                webIdFederationData: {},
                attributes: {
                  creationDate: p.session.creationDate,
                  mfaAuthenticated: String(p.session.mfaAuthenticated),
                },
              },
            }
          : {}),
      }
    : {
        type: 'Unknown',
        principalId: '',
        accountId: call.defaultAccountId,
        ...(call.claimedAccessKeyId ? { accessKeyId: call.claimedAccessKeyId } : {}),
      }
  const record: CloudTrailRecord = {
    eventVersion: '1.11',
    userIdentity,
    eventTime: eventTimeString(call.time),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: call.sourceIPAddress,
    userAgent: call.userAgent ?? '',
    ...(call.errorCode ? { errorCode: call.errorCode, errorMessage: call.errorMessage ?? '' } : {}),
    requestParameters: capped(call.requestParameters, 'requestParameters', call.requestBytes),
    responseElements: capped(call.responseElements, 'responseElements', call.responseBytes),
    requestID: call.requestId,
    eventID: newEventId(),
    readOnly: call.readOnly,
    ...(call.resources && call.resources.length > 0 ? { resources: call.resources } : {}),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: p?.accountId ?? call.defaultAccountId,
    eventCategory: 'Management',
    // Calls made with a console session's credentials, as AWS marks them.
    ...(p?.session?.fromConsole ? { sessionCredentialFromConsole: 'true' } : {}),
  }
  if (call.tls?.tlsVersion || call.host) {
    record.tlsDetails = {
      ...(call.tls?.tlsVersion
        ? { tlsVersion: call.tls.tlsVersion, cipherSuite: call.tls.cipherSuite }
        : {}),
      ...(call.host ? { clientProvidedHostHeader: call.host } : {}),
    }
  }
  return record
}
