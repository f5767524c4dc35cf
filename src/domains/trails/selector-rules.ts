/**
 * @module domains/trails/selector-rules
 * Validation of PutEventSelectors input, in domain form: basic event selectors (at most 5, the three
 * basic data resource types, at most 250 data resource values) and advanced event selectors
 * (eventCategory required, AWS's fields per category, Equals only on readOnly / eventCategory /
 * resources.type, at most 500 condition values). Every problem is an InvalidEventSelectorsException.
 */
import * as E from './errors.js'
import {
  FIELD_OPERATORS,
  type AdvancedEventSelector,
  type BasicEventSelector,
  type DataResource,
  type FieldSelector,
  type ReadWriteType,
} from './model.js'

export const MAX_EVENT_SELECTORS = 5
export const MAX_DATA_RESOURCE_VALUES = 250
export const MAX_ADVANCED_CONDITION_VALUES = 500

export const BASIC_DATA_RESOURCE_TYPES = [
  'AWS::S3::Object',
  'AWS::Lambda::Function',
  'AWS::DynamoDB::Table',
] as const

export const EXCLUDABLE_MANAGEMENT_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com']

export interface BasicEventSelectorInput {
  readWriteType?: ReadWriteType
  includeManagementEvents?: boolean
  dataResources?: { type?: string; values?: string[] }[]
  excludeManagementEventSources?: string[]
}

const invalid = (msg: string) => E.InvalidEventSelectorsException(msg)

/** The "all resources of this type" values, which do not count toward the 250 limit. */
const ALL_RESOURCES: Record<string, RegExp> = {
  'AWS::S3::Object': /^arn:aws[a-z-]*:s3(:::)?$/,
  'AWS::Lambda::Function': /^arn:aws[a-z-]*:lambda$/,
  'AWS::DynamoDB::Table': /^arn:aws[a-z-]*:dynamodb$/,
}

const SPECIFIC_RESOURCE: Record<string, RegExp> = {
  // A bucket and an object key prefix (possibly empty): arn:aws:s3:::bucket/ or arn:aws:s3:::bucket/prefix
  'AWS::S3::Object': /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$/,
  'AWS::Lambda::Function':
    /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$/,
  'AWS::DynamoDB::Table':
    /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/,
}

/** Whether a basic data resource value selects every resource of its type. */
export function isAllResourcesValue(type: string, value: string): boolean {
  return ALL_RESOURCES[type]?.test(value) ?? false
}

/** Validates basic event selectors and fills in AWS's defaults. */
export function normalizeBasicSelectors(input: BasicEventSelectorInput[]): BasicEventSelector[] {
  if (input.length < 1 || input.length > MAX_EVENT_SELECTORS) {
    throw invalid(
      `Specify a valid number of event selectors (1 to ${MAX_EVENT_SELECTORS}) for your trail; ${input.length} were given.`,
    )
  }
  let counted = 0
  const out = input.map((s): BasicEventSelector => {
    const dataResources = (s.dataResources ?? []).map((d): DataResource => {
      if (d.type === undefined) throw invalid('DataResources.Type must be specified.')
      if (!(BASIC_DATA_RESOURCE_TYPES as readonly string[]).includes(d.type)) {
        throw invalid(
          `Value ${d.type} for DataResources.Type is invalid. Basic event selectors support ${BASIC_DATA_RESOURCE_TYPES.join(', ')}; use advanced event selectors for other resource types.`,
        )
      }
      const values = d.values ?? []
      if (values.length === 0) {
        throw invalid(`DataResources.Values must not be empty for type ${d.type}.`)
      }
      for (const v of values) {
        if (isAllResourcesValue(d.type, v)) continue
        if (!SPECIFIC_RESOURCE[d.type]!.test(v)) {
          throw invalid(`Value ${v} for DataResources.Values is invalid.`)
        }
        counted++
      }
      return { type: d.type, values: [...values] }
    })
    const includeManagementEvents = s.includeManagementEvents ?? true
    if (!includeManagementEvents && dataResources.length === 0) {
      throw invalid(
        'Invalid combination of parameters in EventSelectors. When includeManagementEvents is false, DataResources must not be empty.',
      )
    }
    const excluded = s.excludeManagementEventSources ?? []
    for (const src of excluded) {
      if (!EXCLUDABLE_MANAGEMENT_SOURCES.includes(src)) {
        throw invalid(
          `Value ${src} for ExcludeManagementEventSources is invalid. Valid values are ${EXCLUDABLE_MANAGEMENT_SOURCES.join(' and ')}.`,
        )
      }
    }
    return {
      readWriteType: s.readWriteType ?? 'All',
      includeManagementEvents,
      dataResources,
      excludeManagementEventSources: [...excluded],
    }
  })
  if (counted > MAX_DATA_RESOURCE_VALUES) {
    throw invalid(
      `Specify a valid number of DataResources.Values (0 to ${MAX_DATA_RESOURCE_VALUES}) for all your selectors; ${counted} were given.`,
    )
  }
  return out
}

export const EVENT_CATEGORIES = ['Management', 'Data', 'NetworkActivity'] as const
export type TrailEventCategory = (typeof EVENT_CATEGORIES)[number]

/** The fields a trail's advanced event selector may use, per event category. */
export const ALLOWED_FIELDS: Record<TrailEventCategory, readonly string[]> = {
  Management: ['eventCategory', 'eventSource', 'readOnly'],
  Data: [
    'eventCategory',
    'resources.type',
    'eventName',
    'eventSource',
    'eventType',
    'resources.ARN',
    'readOnly',
    'sessionCredentialFromConsole',
    'userIdentity.arn',
  ],
  NetworkActivity: [
    'eventCategory',
    'eventSource',
    'eventName',
    'errorCode',
    'vpcEndpointId',
    'userIdentity.arn',
  ],
}

const REQUIRED_FIELDS: Record<TrailEventCategory, readonly string[]> = {
  Management: ['eventCategory'],
  Data: ['eventCategory', 'resources.type'],
  NetworkActivity: ['eventCategory', 'eventSource'],
}

export const EQUALS_ONLY_FIELDS = ['readOnly', 'eventCategory', 'resources.type']
const BOOLEAN_FIELDS = ['readOnly', 'sessionCredentialFromConsole']

const operatorsOf = (f: FieldSelector) => FIELD_OPERATORS.filter((op) => f[op] !== undefined)
const wireOp = (op: string) => op.charAt(0).toUpperCase() + op.slice(1)

/** Validates advanced event selectors for a trail (copies them, dropping empty operators). */
export function normalizeAdvancedSelectors(
  input: AdvancedEventSelector[],
): AdvancedEventSelector[] {
  if (input.length === 0) {
    throw invalid('AdvancedEventSelectors must contain at least one selector.')
  }
  let values = 0
  const out = input.map((sel, i) => {
    const where = `advanced event selector ${i + 1}${sel.name ? ` (${sel.name})` : ''}`
    const bad = (msg: string) => invalid(`Invalid ${where}: ${msg}`)
    if (sel.fieldSelectors.length === 0) throw bad('FieldSelectors must not be empty.')
    const seen = new Set<string>()
    for (const f of sel.fieldSelectors) {
      if (seen.has(f.field)) throw bad(`field ${f.field} is used more than once.`)
      seen.add(f.field)
    }
    const cat = sel.fieldSelectors.find((f) => f.field === 'eventCategory')
    if (!cat) throw bad('the eventCategory field is required.')
    const catValues = cat.equals ?? []
    if (operatorsOf(cat).some((op) => op !== 'equals') || catValues.length !== 1) {
      throw bad('eventCategory must use the Equals operator with exactly one value.')
    }
    const category = catValues[0] as TrailEventCategory
    if (!EVENT_CATEGORIES.includes(category)) {
      throw bad(
        `value ${catValues[0]} for eventCategory is not valid for a trail. Valid values are ${EVENT_CATEGORIES.join(', ')}.`,
      )
    }
    for (const req of REQUIRED_FIELDS[category]) {
      if (!seen.has(req)) throw bad(`the ${req} field is required for ${category} events.`)
    }
    const fieldSelectors = sel.fieldSelectors.map((f): FieldSelector => {
      if (!ALLOWED_FIELDS[category].includes(f.field)) {
        throw bad(
          `field ${f.field} is not supported for ${category} events. Supported fields: ${ALLOWED_FIELDS[category].join(', ')}.`,
        )
      }
      const ops = operatorsOf(f)
      if (ops.length === 0) throw bad(`field ${f.field} must have at least one operator.`)
      if (EQUALS_ONLY_FIELDS.includes(f.field) && ops.some((op) => op !== 'equals')) {
        throw bad(
          `field ${f.field} supports only the Equals operator, not ${ops
            .filter((op) => op !== 'equals')
            .map(wireOp)
            .join(', ')}.`,
        )
      }
      const copy: FieldSelector = { field: f.field }
      for (const op of ops) {
        const list = f[op]!
        if (list.length === 0) throw bad(`${wireOp(op)} for field ${f.field} must not be empty.`)
        for (const v of list) {
          if (v.length === 0) throw bad(`values for field ${f.field} must not be empty strings.`)
          if (BOOLEAN_FIELDS.includes(f.field) && v !== 'true' && v !== 'false') {
            throw bad(`value ${v} for field ${f.field} is not valid; use true or false.`)
          }
          if (f.field === 'resources.type' && !/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(v)) {
            throw bad(`value ${v} for field resources.type is not a resource type.`)
          }
          if (f.field === 'errorCode' && v !== 'VpceAccessDenied') {
            throw bad(
              `value ${v} for field errorCode is not valid; the only value is VpceAccessDenied.`,
            )
          }
        }
        values += list.length
        copy[op] = [...list]
      }
      if ((f.field === 'readOnly' || f.field === 'resources.type') && f.equals!.length !== 1) {
        throw bad(`field ${f.field} takes exactly one value.`)
      }
      return copy
    })
    return { ...(sel.name !== undefined ? { name: sel.name } : {}), fieldSelectors }
  })
  if (values > MAX_ADVANCED_CONDITION_VALUES) {
    throw invalid(
      `Advanced event selectors have ${values} condition values in total; a trail allows at most ${MAX_ADVANCED_CONDITION_VALUES}.`,
    )
  }
  return out
}
