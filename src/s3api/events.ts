/**
 * @module s3api/events
 * How an S3 call is recorded as a CloudTrail event, shared by the S3 API on OpenTrail's endpoint
 * and the recording gateway (gateway/): requestParameters (bucketName, Host, key and the query),
 * resources (bucket and object ARNs), management or data event, additionalEventData; and the facts
 * about the caller every recorder takes from the request (source IP, TLS).
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { CloudTrailRecord, EventResource } from '../events/record.js'
import type { OpInfo } from './routing.js'
import { parseAnyXml, S3_NS, xmlText, type XmlObject } from './xml.js'

/** Query parameters that belong to query-string authentication, never logged. */
export const AUTH_PARAMS =
  /^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature|Security-Token)$/i

/** S3's x-amz-request-id: 16 upper-case hex digits. */
export function s3RequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase()
}

/** S3's x-amz-id-2 (host ID). */
export function s3HostId(): string {
  return randomBytes(24).toString('base64')
}

/** requestParameters as AWS logs them for S3: bucketName, Host, key, then the query parameters. */
export function s3RequestParameters(
  host: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (bucket !== undefined) out['bucketName'] = bucket
  out['Host'] = host
  if (key !== undefined) out['key'] = key
  for (const [k, v] of query) if (!AUTH_PARAMS.test(k)) out[k] = v
  return out
}

export interface S3ResourceFacts {
  /** The bucket owner's account. */
  owner: string
  /** Keys touched by a multi-object call. */
  objectKeys?: string[]
  /** The listed prefix of a listing (a data event). */
  listPrefix?: string
}

/**
 * The event's resources: the object (or the objects of a multi-object call, or the listed prefix as
 * an ARNPrefix) and the bucket.
 */
export function s3Resources(
  info: OpInfo,
  bucket: string,
  key: string | undefined,
  facts: S3ResourceFacts,
): EventResource[] {
  const bucketRes: EventResource = {
    accountId: facts.owner,
    type: 'AWS::S3::Bucket',
    ARN: `arn:aws:s3:::${bucket}`,
  }
  if (info.level === 'object' && key !== undefined)
    return [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` }, bucketRes]
  if (info.data && facts.objectKeys?.length)
    return [
      ...facts.objectKeys.map((k) => ({
        type: 'AWS::S3::Object',
        ARN: `arn:aws:s3:::${bucket}/${k}`,
      })),
      bucketRes,
    ]
  if (info.data) {
    const prefix: EventResource & { ARNPrefix: string } = {
      type: 'AWS::S3::Object',
      ARNPrefix: `arn:aws:s3:::${bucket}/${facts.listPrefix ?? ''}`,
    }
    return [prefix, bucketRes]
  }
  return [bucketRes]
}

export interface S3Transfer {
  hostId: string
  bytesIn: number
  bytesOut: number
  cipherSuite?: string
  extra?: Record<string, unknown>
}

/**
 * Marks an S3 event as a data event (object-level calls and object listings) or a management event,
 * and adds S3's additionalEventData.
 */
export function finishS3Event(event: CloudTrailRecord, data: boolean, t: S3Transfer): void {
  event.managementEvent = !data
  event.eventCategory = data ? 'Data' : 'Management'
  event.additionalEventData = {
    SignatureVersion: 'SigV4',
    ...(t.cipherSuite ? { CipherSuite: t.cipherSuite } : {}),
    bytesTransferredIn: t.bytesIn,
    AuthenticationMethod: 'AuthHeader',
    'x-amz-id-2': t.hostId,
    bytesTransferredOut: t.bytesOut,
    ...(t.extra ?? {}),
  }
}

/** The caller's address, without the IPv4-mapped prefix. */
export function sourceIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip
}

/** TLS version and cipher of the caller's connection (undefined for plain HTTP). */
export function tlsOf(
  req: IncomingMessage,
): { tlsVersion?: string; cipherSuite?: string } | undefined {
  const s = req.socket as TLSSocket
  if (!s.encrypted) return undefined
  return { tlsVersion: s.getProtocol?.() ?? undefined, cipherSuite: s.getCipher?.()?.standardName }
}

/** A request document as requestParameters log it: `{ <Root>: { ...content, xmlns } }`. */
export function xmlDocumentParameters(root: string, content: XmlObject): Record<string, unknown> {
  return { [root]: { ...content, xmlns: S3_NS } }
}

/**
 * The requestParameters a request body adds: the policy of PutBucketPolicy (`bucketPolicy`, and
 * `policy: ''` as AWS logs it), the XML document of other configuration calls.
 */
export function documentParameters(operation: string, body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8')
  if (operation === 'PutBucketPolicy') {
    try {
      return { bucketPolicy: JSON.parse(text) as unknown, policy: '' }
    } catch {
      return { policy: '' }
    }
  }
  const doc = parseAnyXml(text)
  return doc ? xmlDocumentParameters(doc.root, doc.content) : {}
}

/** The keys a DeleteObjects document names. */
export function deleteObjectsKeys(body: Buffer): string[] | undefined {
  const doc = parseAnyXml(body.toString('utf8'))
  if (!doc || doc.root !== 'Delete') return undefined
  const objects = doc.content['Object']
  if (!Array.isArray(objects)) return []
  const keys: string[] = []
  for (const o of objects) {
    const k = o && typeof o === 'object' && !Array.isArray(o) ? xmlText(o['Key']) : undefined
    if (k === undefined) return undefined
    keys.push(k)
  }
  return keys
}
