/**
 * @module s3api/xml
 * S3's XML documents, built and parsed with fast-xml-parser. Request documents are validated
 * first: anything not well-formed is MalformedXML, as S3 answers.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser'
import { malformedXml, type S3Error } from './errors.js'

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  processEntities: true,
  format: false,
})

/** Elements that may repeat in request documents: always parsed as arrays. */
const REPEATED = new Set(['Object', 'Part', 'Rule', 'Statement'])

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  removeNSPrefix: true,
  processEntities: true,
  isArray: (name) => REPEATED.has(name),
})

export type XmlValue = string | number | boolean | XmlObject | XmlValue[] | undefined
export interface XmlObject {
  [k: string]: XmlValue
}

/** `<root xmlns="…S3…">…</root>` with the XML declaration. */
export function xmlDocument(root: string, content: XmlObject, xmlns = true): string {
  const body: XmlObject = xmlns ? { '@_xmlns': S3_NS, ...content } : content
  return DECLARATION + String(builder.build({ [root]: body }))
}

/** Parses a request document and returns its root element's content (`{}` for an empty one). */
export function parseXml(text: string, root: string): XmlObject {
  if (text.trim() === '') throw malformedXml()
  if (XMLValidator.validate(text) !== true) throw malformedXml()
  const doc = parser.parse(text) as Record<string, unknown>
  const content = doc[root]
  if (content === undefined) throw malformedXml()
  return content === '' ? {} : (content as XmlObject)
}

export function xmlText(v: XmlValue): string | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

export function xmlBool(v: XmlValue): boolean {
  const t = xmlText(v)
  if (t === undefined || t === '') return false
  if (t === 'true' || t === 'TRUE' || t === 'True') return true
  if (t === 'false' || t === 'FALSE' || t === 'False') return false
  throw malformedXml()
}

/** S3's `<Error>` document for an error (no namespace, as S3 sends it). */
export function errorDocument(
  e: S3Error,
  ids: { requestId: string; hostId: string; key?: string },
): string {
  return xmlDocument(
    'Error',
    {
      Code: e.code,
      Message: e.message,
      ...e.extra,
      ...(e.code === 'NoSuchKey' && ids.key !== undefined && !e.extra['Key']
        ? { Key: ids.key }
        : {}),
      RequestId: ids.requestId,
      HostId: ids.hostId,
    },
    false,
  )
}

/** Parses any document leniently: its root element and content, or undefined if not well-formed. */
export function parseAnyXml(text: string): { root: string; content: XmlObject } | undefined {
  if (text.trim() === '' || XMLValidator.validate(text) !== true) return undefined
  const doc = parser.parse(text) as Record<string, unknown>
  const root = Object.keys(doc).find((k) => k !== '?xml')
  if (root === undefined) return undefined
  const content = doc[root]
  return { root, content: content === '' ? {} : (content as XmlObject) }
}
