/**
 * @module domains/lake/store-rules
 * Event data store shapes and their rules: AWS's errors, statuses, billing modes, names, retention
 * periods, and advanced event selectors (the trails' rules plus the fields only stores allow).
 */
import { awsError } from '../../shared/errors.js'
import type { AdvancedEventSelector } from '../trails/model.js'
import { normalizeAdvancedSelectors } from '../trails/selector-rules.js'
import type { Tag } from '../trails/model.js'

export const EventDataStoreNotFoundException = awsError('EventDataStoreNotFoundException')
export const EventDataStoreAlreadyExistsException = awsError('EventDataStoreAlreadyExistsException')
export const EventDataStoreMaxLimitExceededException = awsError(
  'EventDataStoreMaxLimitExceededException',
)
export const EventDataStoreTerminationProtectedException = awsError(
  'EventDataStoreTerminationProtectedException',
)
export const EventDataStoreARNInvalidException = awsError('EventDataStoreARNInvalidException')
export const InactiveEventDataStoreException = awsError('InactiveEventDataStoreException')
export const InvalidParameterException = awsError('InvalidParameterException')
export const InvalidEventSelectorsException = awsError('InvalidEventSelectorsException')

export const MAX_STORES_PER_REGION = 10

export type StoreStatus =
  | 'CREATED'
  | 'ENABLED'
  | 'PENDING_DELETION'
  | 'STARTING_INGESTION'
  | 'STOPPING_INGESTION'
  | 'STOPPED_INGESTION'

export type BillingMode = 'EXTENDABLE_RETENTION_PRICING' | 'FIXED_RETENTION_PRICING'

export interface EventDataStore {
  id: string
  arn: string
  accountId: string
  region: string
  name: string
  status: StoreStatus
  advancedEventSelectors: AdvancedEventSelector[]
  multiRegionEnabled: boolean
  organizationEnabled: boolean
  retentionPeriod: number
  terminationProtectionEnabled: boolean
  kmsKeyId?: string
  billingMode: BillingMode
  tags: Tag[]
  createdTimestamp: string
  updatedTimestamp: string
  /** When DeleteEventDataStore was called (PENDING_DELETION until 7 days later). */
  deletedAt?: string
}

export interface Scope {
  accountId: string
  region: string
}

export interface StoreSettings {
  advancedEventSelectors?: AdvancedEventSelector[]
  multiRegionEnabled?: boolean
  organizationEnabled?: boolean
  retentionPeriod?: number
  terminationProtectionEnabled?: boolean
  kmsKeyId?: string
  billingMode?: BillingMode
}

const DEFAULT_SELECTORS: AdvancedEventSelector[] = [
  {
    name: 'Default management events',
    fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }],
  },
]

/** Event categories of non-AWS and other sources: their selectors name only eventCategory. */
const CATEGORY_ONLY = ['ActivityAuditLog', 'ConfigurationItem', 'Insight']
/** Fields event data stores allow on management events beyond trails'. */
const EDS_MANAGEMENT_FIELDS = [
  'eventName',
  'eventType',
  'sessionCredentialFromConsole',
  'userIdentity.arn',
]

/** Validates advanced selectors for an event data store, reusing the trails' rules. */
export function normalizeStoreSelectors(input: AdvancedEventSelector[]): AdvancedEventSelector[] {
  if (input.length === 0) return DEFAULT_SELECTORS
  return input.map((sel) => {
    const cat = sel.fieldSelectors.find((f) => f.field === 'eventCategory')
    const value = cat?.equals?.[0]
    if (value !== undefined && CATEGORY_ONLY.includes(value)) {
      if (sel.fieldSelectors.length !== 1 || cat!.equals!.length !== 1) {
        throw InvalidEventSelectorsException(
          `Selectors for ${value} events support only the eventCategory field with one Equals value.`,
        )
      }
      return { ...sel, fieldSelectors: [{ field: 'eventCategory', equals: [value] }] }
    }
    const extra =
      value === 'Management'
        ? sel.fieldSelectors.filter((f) => EDS_MANAGEMENT_FIELDS.includes(f.field))
        : []
    const rest = sel.fieldSelectors.filter((f) => !extra.includes(f))
    const [checked] = normalizeAdvancedSelectors([{ ...sel, fieldSelectors: rest }])
    for (const f of extra) {
      if (!Object.values(f).some((v) => Array.isArray(v) && v.length > 0)) {
        throw InvalidEventSelectorsException(`Field ${f.field} must have at least one operator.`)
      }
    }
    return { ...checked!, fieldSelectors: [...checked!.fieldSelectors, ...extra] }
  })
}

export const ARN_RE =
  /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):eventdatastore\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
export const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function validateName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/.test(name)) {
    throw InvalidParameterException(
      'Event data store names are 3-128 characters of letters, digits, periods, underscores and hyphens, starting and ending with a letter or digit.',
    )
  }
}

export function validateRetention(days: number, mode: BillingMode): void {
  const max = mode === 'FIXED_RETENTION_PRICING' ? 2557 : 3653
  if (!Number.isInteger(days) || days < 7 || days > max) {
    throw InvalidParameterException(
      `RetentionPeriod must be between 7 and ${max} days for billing mode ${mode}.`,
    )
  }
}
