/**
 * @module protocol/model
 * Loads an AWS service model (the botocore JSON that the AWS CLI ships, documentation stripped) and
 * validates request members against it: types, required members, lengths, ranges and enums.
 */
import { readFileSync } from 'node:fs'
import { ServiceError } from '../shared/errors.js'

export interface Shape {
  type: string
  required?: string[]
  members?: Record<string, { shape: string }>
  member?: { shape: string }
  key?: { shape: string }
  value?: { shape: string }
  min?: number
  max?: number
  enum?: string[]
  exception?: boolean
  error?: { httpStatusCode?: number }
}

export interface ServiceModel {
  metadata: { targetPrefix: string; serviceId: string; endpointPrefix: string }
  operations: Record<
    string,
    { name: string; input?: { shape: string }; output?: { shape: string } }
  >
  shapes: Record<string, Shape>
}

export function loadModel(file: URL): ServiceModel {
  return JSON.parse(readFileSync(file, 'utf8')) as ServiceModel
}

const validation = (msg: string) => new ServiceError('ValidationException', msg)
const serialization = (msg: string) => new ServiceError('SerializationException', msg)

/**
 * Checks `input` against the operation's input shape and converts wire values to JS values
 * (timestamps in epoch seconds become Date, blobs in base64 become Buffer). Returns a new object.
 */
export function parseInput(
  model: ServiceModel,
  operation: string,
  input: unknown,
): Record<string, unknown> {
  const op = Object.hasOwn(model.operations, operation) ? model.operations[operation] : undefined
  if (!op?.input) return {}
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw serialization('Start of structure or map found where not expected.')
  }
  const errors: string[] = []
  const out = convert(model, op.input.shape, input, '', errors) as Record<string, unknown>
  if (errors.length > 0) {
    const n = errors.length
    throw validation(
      `${n} validation error${n > 1 ? 's' : ''} detected: ${errors.slice(0, 10).join('; ')}`,
    )
  }
  return out
}

const mustNotBeNull = (at: string) =>
  `Value null at '${at}' failed to satisfy constraint: Member must not be null`

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}

function convert(
  model: ServiceModel,
  shapeName: string,
  value: unknown,
  path: string,
  errors: string[],
): unknown {
  const shape = model.shapes[shapeName]
  if (!shape) throw new Error(`unknown shape ${shapeName}`)
  const at = path || 'input'
  if (value === null) return undefined
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw serialization(`Expected an object at '${at}'.`)
      }
      const obj = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(obj)) {
        // Own members only: a key like 'constructor' must not find Object.prototype's.
        const member =
          shape.members && Object.hasOwn(shape.members, key) ? shape.members[key] : undefined
        if (!member) throw serialization(`Unknown member '${key}' at '${at}'.`)
        const v = convert(
          model,
          member.shape,
          obj[key],
          path ? `${path}.${lowerFirst(key)}` : lowerFirst(key),
          errors,
        )
        if (v !== undefined) out[key] = v
      }
      for (const req of shape.required ?? []) {
        if (out[req] === undefined) {
          const p = path ? `${path}.${lowerFirst(req)}` : lowerFirst(req)
          errors.push(mustNotBeNull(p))
        }
      }
      return out
    }
    case 'list': {
      if (!Array.isArray(value)) throw serialization(`Expected a list at '${at}'.`)
      checkLength(shape, value.length, at, value, errors, 'length')
      return value.map((v, i) => {
        const p = `${at}.${i + 1}.member`
        // A null inside a list is no absent member: handlers would get undefined elements.
        if (v === null) errors.push(mustNotBeNull(p))
        return convert(model, shape.member!.shape, v, p, errors)
      })
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value))
        throw serialization(`Expected a map at '${at}'.`)
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === null) errors.push(mustNotBeNull(`${at}.${k}`))
        out[k] = convert(model, shape.value!.shape, v, `${at}.${k}`, errors)
      }
      return out
    }
    case 'string': {
      if (typeof value !== 'string') throw serialization(`Expected a string at '${at}'.`)
      checkLength(shape, [...value].length, at, value, errors, 'length')
      if (shape.enum && !shape.enum.includes(value)) {
        errors.push(
          `Value '${value}' at '${at}' failed to satisfy constraint: Member must satisfy enum value set: [${shape.enum.join(', ')}]`,
        )
      }
      return value
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw serialization(`Expected a boolean at '${at}'.`)
      return value
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw serialization(`Expected an integer at '${at}'.`)
      }
      checkLength(shape, value, at, value, errors, 'value')
      return value
    case 'double':
    case 'float':
      if (typeof value !== 'number') throw serialization(`Expected a number at '${at}'.`)
      return value
    case 'timestamp': {
      let d: Date
      if (typeof value === 'number') d = new Date(value * 1000)
      else if (typeof value === 'string')
        d = new Date(/^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : value)
      else throw serialization(`Expected a timestamp at '${at}'.`)
      if (Number.isNaN(d.getTime())) throw serialization(`Invalid timestamp at '${at}'.`)
      return d
    }
    case 'blob':
      if (typeof value !== 'string') throw serialization(`Expected base64 data at '${at}'.`)
      return Buffer.from(value, 'base64')
    default:
      return value
  }
}

function checkLength(
  shape: Shape,
  n: number,
  at: string,
  value: unknown,
  errors: string[],
  kind: 'length' | 'value',
): void {
  const shown = typeof value === 'string' || typeof value === 'number' ? `'${value}' ` : ''
  if (shape.min !== undefined && n < shape.min) {
    errors.push(
      `Value ${shown}at '${at}' failed to satisfy constraint: Member must have ${kind} greater than or equal to ${shape.min}`,
    )
  }
  if (shape.max !== undefined && n > shape.max) {
    errors.push(
      `Value ${shown}at '${at}' failed to satisfy constraint: Member must have ${kind} less than or equal to ${shape.max}`,
    )
  }
}

/** JSON.stringify with AWS JSON 1.1 value encoding: Date as epoch seconds, Buffer as base64. */
export function serializeOutput(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key]
    if (raw instanceof Date) return raw.getTime() / 1000
    if (Buffer.isBuffer(raw)) return raw.toString('base64')
    return v
  })
}
