/**
 * @module notify/query-protocol
 * The AWS query protocol (SNS's): `POST /` with a form body `Action=<Op>&Version=...&<params>`,
 * answered in XML. Decoding follows the service model: lists are `Name.member.N`, maps are
 * `Name.entry.N.key` / `.value` (or the model's locationNames), nested structures `Name.Member`;
 * scalars are converted to the model's types so that `parseInput` validates them as JSON input.
 */
import type { ServiceModel, Shape } from '../protocol/model.js'
import { ServiceError } from '../shared/errors.js'

type ModelShape = Shape & {
  members?: Record<string, { shape: string; locationName?: string }>
  key?: { shape: string; locationName?: string }
  value?: { shape: string; locationName?: string }
  member?: { shape: string; locationName?: string }
  flattened?: boolean
}

/** The Action and typed input of a query request. */
export function decodeQuery(
  model: ServiceModel,
  body: string,
): { operation: string; input: Record<string, unknown> } {
  const params = new URLSearchParams(body)
  const operation = params.get('Action') ?? ''
  const map = new Map<string, string>()
  for (const [k, v] of params) if (k !== 'Action' && k !== 'Version') map.set(k, v)
  const op = Object.hasOwn(model.operations, operation) ? model.operations[operation] : undefined
  if (!op?.input) return { operation, input: {} }
  return {
    operation,
    input: (readStructure(model, op.input.shape, '', map) as Record<string, unknown>) ?? {},
  }
}

function shapeOf(model: ServiceModel, name: string): ModelShape {
  const s: ModelShape | undefined = model.shapes[name]
  if (!s) throw new Error(`unknown shape ${name}`)
  return s
}

function hasPrefix(map: Map<string, string>, prefix: string): boolean {
  for (const k of map.keys()) if (k === prefix || k.startsWith(prefix + '.')) return true
  return false
}

function readValue(
  model: ServiceModel,
  shapeName: string,
  key: string,
  map: Map<string, string>,
): unknown {
  const shape = shapeOf(model, shapeName)
  switch (shape.type) {
    case 'structure':
      return hasPrefix(map, key) ? readStructure(model, shapeName, key, map) : undefined
    case 'list': {
      const memberName = shape.flattened ? '' : `.${shape.member?.locationName ?? 'member'}`
      const out: unknown[] = []
      if (map.get(key) === '' && !hasPrefix(map, key + memberName)) return [] // empty list
      for (let i = 1; ; i++) {
        const k = `${key}${memberName}.${i}`
        if (!map.has(k) && !hasPrefix(map, k)) break
        out.push(readValue(model, shape.member!.shape, k, map))
      }
      return out.length > 0 ? out : undefined
    }
    case 'map': {
      const kName = shape.key?.locationName ?? 'key'
      const vName = shape.value?.locationName ?? 'value'
      const entry = shape.flattened ? '' : '.entry'
      const out: Record<string, unknown> = {}
      let n = 0
      for (let i = 1; ; i++) {
        const base = `${key}${entry}.${i}`
        const k = map.get(`${base}.${kName}`)
        if (k === undefined) break
        out[k] = readValue(model, shape.value!.shape, `${base}.${vName}`, map)
        n++
      }
      return n > 0 ? out : undefined
    }
    default: {
      const raw = map.get(key)
      if (raw === undefined) return undefined
      return scalar(shape.type, raw, key)
    }
  }
}

function readStructure(
  model: ServiceModel,
  shapeName: string,
  prefix: string,
  map: Map<string, string>,
): unknown {
  const shape = shapeOf(model, shapeName)
  const out: Record<string, unknown> = {}
  for (const [name, m] of Object.entries(shape.members ?? {})) {
    const key = prefix ? `${prefix}.${m.locationName ?? name}` : (m.locationName ?? name)
    const v = readValue(model, m.shape, key, map)
    if (v !== undefined) out[name] = v
  }
  return out
}

function scalar(type: string, raw: string, key: string): unknown {
  const bad = () => new ServiceError('InvalidParameter', `Invalid parameter: ${key}`)
  switch (type) {
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw bad()
      return raw === 'true'
    case 'integer':
    case 'long': {
      const n = Number(raw)
      if (!Number.isInteger(n)) throw bad()
      return n
    }
    case 'double':
    case 'float': {
      const n = Number(raw)
      if (Number.isNaN(n)) throw bad()
      return n
    }
    case 'timestamp':
      return raw
    default:
      // blobs stay base64, as JSON input carries them
      return raw
  }
}

// --- XML -------------------------------------------------------------------

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#xD;')
}

function toXml(model: ServiceModel, shapeName: string, value: unknown): string {
  const shape = shapeOf(model, shapeName)
  if (value === undefined || value === null) return ''
  switch (shape.type) {
    case 'structure': {
      let out = ''
      const obj = value as Record<string, unknown>
      for (const [name, m] of Object.entries(shape.members ?? {})) {
        if (obj[name] === undefined || obj[name] === null) continue
        const tag = m.locationName ?? name
        out += `<${tag}>${toXml(model, m.shape, obj[name])}</${tag}>`
      }
      return out
    }
    case 'list': {
      const tag = shape.member?.locationName ?? 'member'
      return (value as unknown[])
        .map((v) => `<${tag}>${toXml(model, shape.member!.shape, v)}</${tag}>`)
        .join('')
    }
    case 'map': {
      const k = shape.key?.locationName ?? 'key'
      const v = shape.value?.locationName ?? 'value'
      return Object.entries(value as Record<string, unknown>)
        .map(
          ([key, val]) =>
            `<entry><${k}>${xmlEscape(key)}</${k}><${v}>${toXml(model, shape.value!.shape, val)}</${v}></entry>`,
        )
        .join('')
    }
    case 'timestamp':
      return value instanceof Date ? value.toISOString() : xmlEscape(scalarText(value))
    default:
      return xmlEscape(scalarText(value))
  }
}

function scalarText(v: unknown): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v) ?? ''
}

export function encodeQueryResponse(
  model: ServiceModel,
  operation: string,
  response: unknown,
  requestId: string,
  xmlns: string,
): string {
  const op = model.operations[operation] as
    { output?: { shape: string; resultWrapper?: string } } | undefined
  const result = op?.output ? toXml(model, op.output.shape, response ?? {}) : ''
  const wrapper = op?.output?.resultWrapper ?? `${operation}Result`
  return (
    `<?xml version="1.0"?>\n<${operation}Response xmlns="${xmlns}">` +
    (op?.output ? `<${wrapper}>${result}</${wrapper}>` : '') +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`
  )
}

export function encodeQueryError(
  code: string,
  message: string,
  status: number,
  requestId: string,
  xmlns: string,
): string {
  const type = status >= 500 ? 'Receiver' : 'Sender'
  return (
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${xmlns}"><Error><Type>${type}</Type>` +
    `<Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  )
}
