/**
 * @module insights/event-builder
 * Insights events in AWS's format (eventType AwsCloudTrailInsight, eventCategory Insight): a Start
 * and an End record per anomaly, linked by sharedEventID, with insightDetails (state, eventSource,
 * eventName, insightType, errorCode for error-rate Insights, insightContext.statistics and
 * attributions). Insights of an event data store carry `insightSource`, the source store's ARN.
 */
import type { CloudTrailRecord } from '../events/record.js'
import type { Anomaly } from './model.js'

export function insightRecord(a: Anomaly, state: 'Start' | 'End'): CloudTrailRecord {
  const end = state === 'End'
  const statistics: Record<string, unknown> = {
    baseline: { average: a.baselineAverage },
    insight: { average: end ? (a.insightAverage ?? a.startAverage) : a.startAverage },
    ...(end ? { insightDuration: a.insightDuration } : {}),
    baselineDuration: a.baselineDuration,
  }
  const record = {
    eventVersion: '1.08',
    eventTime: end ? a.endTime! : a.startTime,
    awsRegion: a.key.region,
    eventID: end ? a.endEventId! : a.startEventId,
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: a.key.accountId,
    sharedEventID: a.id,
    insightDetails: {
      state,
      eventSource: a.key.eventSource,
      eventName: a.key.eventName,
      insightType: a.key.insightType,
      ...(a.key.errorCode ? { errorCode: a.key.errorCode } : {}),
      // Data-event Insights (trails): the category analysed; trails route by it.
      ...(a.key.eventCategory === 'Data' ? { eventCategory: 'Data' } : {}),
      insightContext: {
        statistics,
        attributions: end ? (a.endAttributions ?? a.attributions) : a.attributions,
      },
    },
    eventCategory: 'Insight',
    // AWS's field on Insights events of event data stores: the source store whose management
    // events were analysed. It routes the event to that store's InsightsDestination only.
    ...(a.key.source ? { insightSource: a.key.source } : {}),
    // Beyond AWS's record: the API at top level too, so Event History's EventName and
    // EventSource lookups (the only ones AWS allows for Insights) find it.
    eventSource: a.key.eventSource,
    eventName: a.key.eventName,
  }
  // Insights events have no caller: no userIdentity, sourceIPAddress or request/response.
  return record as unknown as CloudTrailRecord
}

export const isInsightRecord = (r: CloudTrailRecord): boolean =>
  r.eventType === 'AwsCloudTrailInsight' || r.eventCategory === 'Insight'

/** The source event data store of an Insights event raised for one (absent for trails' Insights). */
export const insightSourceOf = (r: CloudTrailRecord): string | undefined => {
  const v = r['insightSource']
  return typeof v === 'string' ? v : undefined
}
