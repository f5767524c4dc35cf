/**
 * @module packs/protect-trail
 * "Protect the trail": one event rule that fires on every call that could blind the audit trail:
 * stopping, deleting or reconfiguring trails and event selectors, removing the organization's
 * delegated administrator, or deleting a Lake event data store. Failed attempts match too (an
 * attacker probing is worth an alert).
 */

export const PROTECT_TRAIL_RULE = 'opentrail-protect-trail'

export const PROTECTED_CALLS = [
  'StopLogging',
  'DeleteTrail',
  'UpdateTrail',
  'PutEventSelectors',
  'DeregisterOrganizationDelegatedAdmin',
  'DeleteEventDataStore',
]

export const PROTECT_TRAIL_PATTERN = {
  source: ['aws.cloudtrail'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: { eventSource: ['cloudtrail.amazonaws.com'], eventName: PROTECTED_CALLS },
}

export const PROTECT_TRAIL_DESCRIPTION =
  'OpenTrail pack protect-trail: calls that stop, delete or reconfigure the audit trail'
