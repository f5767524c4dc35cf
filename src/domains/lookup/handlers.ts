/** @module domains/lookup/handlers  LookupEvents: wire names to the lookup service and back. */
import type { OperationTable } from '../../protocol/operation.js'
import type { LookupAttributeKey } from '../../storage/history-port.js'
import { InvalidLookupAttributesException, InvalidMaxResultsException } from './errors.js'
import type { LookupService } from './service.js'

const KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
]

export function lookupOperations(service: LookupService): OperationTable {
  return {
    LookupEvents: {
      readOnly: true,
      resource: () => '*',
      precheck(raw) {
        const max = raw['MaxResults']
        if (
          max !== undefined &&
          (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 50)
        ) {
          throw InvalidMaxResultsException(
            `Value ${JSON.stringify(max)} for MaxResults is invalid; it must be between 1 and 50.`,
          )
        }
        const attrs = raw['LookupAttributes']
        if (Array.isArray(attrs)) {
          for (const a of attrs as Record<string, unknown>[]) {
            const key = a?.['AttributeKey']
            if (typeof key === 'string' && !KEYS.includes(key)) {
              throw InvalidLookupAttributesException(
                `Invalid attribute key: ${key}. Valid keys are ${KEYS.join(', ')}.`,
              )
            }
            const value = a?.['AttributeValue']
            if (typeof value === 'string' && value.length === 0) {
              throw InvalidLookupAttributesException(
                `The value for attribute ${String(key)} must not be empty.`,
              )
            }
          }
        }
      },
      async handle(input, ctx) {
        const attrs =
          (input['LookupAttributes'] as
            { AttributeKey: string; AttributeValue: string }[] | undefined) ?? []
        const result = await service.lookup({
          accountId: ctx.accountId,
          region: ctx.region,
          attributes: attrs.map((a) => ({
            key: a.AttributeKey as LookupAttributeKey,
            value: a.AttributeValue,
          })),
          start: input['StartTime'] as Date | undefined,
          end: input['EndTime'] as Date | undefined,
          category: input['EventCategory'] as 'insight' | undefined,
          maxResults: input['MaxResults'] as number | undefined,
          nextToken: input['NextToken'] as string | undefined,
          now: ctx.now,
        })
        return {
          Events: result.events,
          ...(result.nextToken ? { NextToken: result.nextToken } : {}),
        }
      },
    },
  }
}
