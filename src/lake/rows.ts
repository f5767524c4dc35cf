/**
 * @module lake/rows
 * The Lake schema (`LAKE_COLUMNS`, AWS's Lake column names and DuckDB types). `lake/load.ts` turns
 * CloudTrail records and PutAuditEvents events into rows of it.
 */

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
