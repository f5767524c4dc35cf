/** @module domains/lookup/errors  LookupEvents' AWS exceptions. */
import { awsError } from '../../shared/errors.js'

export const InvalidLookupAttributesException = awsError('InvalidLookupAttributesException')
export const InvalidTimeRangeException = awsError('InvalidTimeRangeException')
export const InvalidMaxResultsException = awsError('InvalidMaxResultsException')
export const InvalidNextTokenException = awsError('InvalidNextTokenException')
export const InvalidEventCategoryException = awsError('InvalidEventCategoryException')
export const ThrottlingException = awsError('ThrottlingException')
