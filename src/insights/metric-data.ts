/**
 * @module insights/metric-data
 * CloudTrail's ListInsightsMetricData from the detector's series: the count of calls (or of one
 * error code's errors) of an API per period, for the caller's account and the request's region.
 * OpenTrail keeps 1-minute data for about two hours of a series and 5- and 60-minute data for
 * the baseline window (7 days); AWS keeps 15, 63 and 90 days.
 */
import type { OperationTable } from '../protocol/operation.js'
import { awsError } from '../shared/errors.js'
import type { InsightType } from './model.js'
import type { InsightsSink } from './sink.js'

const InvalidParameterException = awsError('InvalidParameterException')
const PERIODS: Record<number, 1 | 5 | 60> = { 60: 1, 300: 5, 3600: 60 }

export function insightsMetricOperations(sink: InsightsSink): OperationTable {
  return {
    ListInsightsMetricData: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const type = input['InsightType'] as InsightType
        const errorCode = input['ErrorCode'] as string | undefined
        if (type === 'ApiErrorRateInsight' && !errorCode) {
          throw InvalidParameterException(
            'ErrorCode is required when InsightType is ApiErrorRateInsight.',
          )
        }
        if (type === 'ApiCallRateInsight' && errorCode) {
          throw InvalidParameterException('ErrorCode applies to ApiErrorRateInsight only.')
        }
        const periodSeconds = (input['Period'] as number | undefined) ?? 3600
        const period = PERIODS[periodSeconds]
        if (!period) throw InvalidParameterException('Period must be 60, 300 or 3600.')
        const end = (input['EndTime'] as Date | undefined) ?? ctx.now
        const start =
          (input['StartTime'] as Date | undefined) ?? new Date(end.getTime() - 7 * 86_400_000)
        if (start > end) throw InvalidParameterException('StartTime must be before EndTime.')
        const points = sink.detector.metricData(
          {
            accountId: ctx.accountId,
            region: ctx.region,
            eventSource: input['EventSource'] as string,
            eventName: input['EventName'] as string,
            insightType: type,
            errorCode: errorCode ?? '',
          },
          Math.ceil(start.getTime() / 60_000),
          Math.ceil(end.getTime() / 60_000),
          period,
        )
        const fill = input['DataType'] === 'FillWithZeros'
        const kept = fill ? points : points.filter(([, v]) => v > 0)
        const max = (input['MaxResults'] as number | undefined) ?? 21600
        const token = input['NextToken'] as string | undefined
        let offset = 0
        if (token) {
          offset = Number(Buffer.from(token, 'base64url').toString())
          if (!Number.isSafeInteger(offset) || offset < 0)
            throw InvalidParameterException('The NextToken is not valid.')
        }
        const page = kept.slice(offset, offset + max)
        const next = offset + page.length
        return {
          EventSource: input['EventSource'],
          EventName: input['EventName'],
          InsightType: type,
          ...(errorCode ? { ErrorCode: errorCode } : {}),
          Timestamps: page.map(([m]) => new Date(m * 60_000)),
          Values: page.map(([, v]) => v),
          ...(next < kept.length
            ? { NextToken: Buffer.from(String(next)).toString('base64url') }
            : {}),
        }
      },
    },
  }
}
