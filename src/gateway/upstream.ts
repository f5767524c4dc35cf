/**
 * @module gateway/upstream
 * The upstream endpoint: requests re-signed with SigV4 (`@smithy/signature-v4`) and the upstream's
 * credentials, sent over a keep-alive agent. The caller's headers are forwarded except those that
 * belong to the hop (connection, transfer encoding, expectations) or to the caller's signature.
 */
import { request as httpRequest, Agent as HttpAgent, type ClientRequest } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import { Hash } from '@smithy/hash-node'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { parseQuery } from '../protocol/sigv4.js'
import type { HeaderEdits } from './body.js'

export interface UpstreamCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** Headers of the hop or of the caller's signature: never forwarded. */
const DROP = new Set([
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
])

export interface OutgoingCall {
  method: string
  /** The caller's raw path (percent-encoded as received) and raw query string. */
  path: string
  query: string
  headers: Record<string, string | string[] | undefined>
  edits: HeaderEdits
  service: string
  region: string
  /** The payload hash to sign (S3), or the whole body (other services: the signer hashes it). */
  contentSha256?: string
  body?: Buffer
  /** Length of the body to be streamed, when it is not `body`. */
  contentLength?: number
  expectContinue?: boolean
}

export class Upstream {
  readonly url: URL
  private readonly agent: HttpAgent
  private readonly basePath: string
  private readonly signers = new Map<string, SignatureV4>()

  constructor(
    url: string,
    private readonly credentials: UpstreamCredentials,
  ) {
    this.url = new URL(url)
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new Error(`The upstream must be an http or https URL, not ${url}`)
    this.basePath = this.url.pathname.replace(/\/+$/, '')
    const opts = {
      keepAlive: true,
      maxSockets: 256,
      maxFreeSockets: 64,
      scheduling: 'lifo' as const,
    }
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts)
  }

  /** Sockets open to the upstream (in use and idle). */
  openSockets(): { active: number; idle: number } {
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>) =>
      Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0)
    return { active: count(this.agent.sockets), idle: count(this.agent.freeSockets) }
  }

  /** Signs the call and opens the request; the caller writes the body and ends it. */
  async open(call: OutgoingCall): Promise<ClientRequest> {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(call.headers)) {
      if (v === undefined || DROP.has(k)) continue
      headers[k] = Array.isArray(v) ? v.join(',') : v
    }
    for (const [k, v] of Object.entries(call.edits)) {
      if (v === undefined) delete headers[k]
      else headers[k] = v
    }
    headers['host'] = this.url.host
    const length = call.body ? call.body.length : call.contentLength
    if (length !== undefined) headers['content-length'] = String(length)
    if (call.contentSha256) headers['x-amz-content-sha256'] = call.contentSha256
    const isS3 = call.service === 's3'
    const path = this.basePath + (call.path || '/')
    const signer = this.signer(call.region, call.service)
    const signed = await signer.sign(
      new HttpRequest({
        method: call.method,
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        ...(this.url.port ? { port: Number(this.url.port) } : {}),
        path: isS3 ? path : safeDecode(path),
        query: parseQuery(call.query),
        headers,
        ...(call.body && !call.contentSha256 ? { body: call.body } : {}),
      }),
      { signingDate: new Date() },
    )
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(signed.headers)) out[k] = String(v)
    if (call.expectContinue) out['expect'] = '100-continue'
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest
    return send({
      method: call.method,
      hostname: this.url.hostname,
      port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
      path: path + (call.query ? `?${call.query}` : ''),
      headers: out,
      agent: this.agent,
    })
  }

  /** One signer per region and service (it caches its signing keys by day). */
  private signer(region: string, service: string): SignatureV4 {
    const id = `${region}/${service}`
    let signer = this.signers.get(id)
    if (!signer) {
      if (this.signers.size >= 256) this.signers.clear()
      signer = new SignatureV4({
        credentials: this.credentials,
        region,
        service,
        sha256: Hash.bind(null, 'sha256'),
        uriEscapePath: service !== 's3',
        applyChecksum: false,
      })
      this.signers.set(id, signer)
    }
    return signer
  }

  close(): void {
    this.agent.destroy()
  }
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p)
  } catch {
    return p
  }
}
