/**
 * @module digest/testing
 * Test fixtures for the delivery → digest → validation chain (used by the delivery and validation
 * unit tests): a logging trail of account 111122223333 delivering to the bucket `logs`, started at
 * 2024-01-01T00:00:00Z, with log file validation on.
 */
import { defaultEventSelectors, type Trail } from '../domains/trails/model.js'

export const TEST_ACCOUNT = '111122223333'
export const TEST_T0 = Date.parse('2024-01-01T00:00:00Z')

/** The trail `audit` (or as `over` says). */
export function testTrail(over: Partial<Trail> = {}): Trail {
  return {
    name: 'audit',
    accountId: TEST_ACCOUNT,
    homeRegion: 'us-east-1',
    s3BucketName: 'logs',
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    logFileValidationEnabled: true,
    isOrganizationTrail: false,
    eventSelectors: defaultEventSelectors(),
    hasCustomEventSelectors: false,
    insightSelectors: [],
    tags: [],
    isLogging: true,
    startLoggingTime: new Date(TEST_T0).toISOString(),
    createdAt: new Date(TEST_T0).toISOString(),
    ...over,
  }
}
