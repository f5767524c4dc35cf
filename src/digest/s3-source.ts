/**
 * @module digest/s3-source
 * A lean S3 REST reader for validate-logs: GetObject, ListObjectsV2 and GetBucketLocation over
 * node:http(s) with keep-alive connections, signed with AWS Signature Version 4 (node:crypto).
 * Path-style requests, as OpenTrail's endpoint and most S3-compatible servers take them. It exists
 * because validation is hundreds of small GETs: the AWS SDK's per-request machinery (and loading
 * it) cost more than the requests themselves. Throttling and 5xx answers are retried with backoff.
 */
import { createHash, createHmac } from 'node:crypto'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface S3ReaderOptions {
  endpoint: string
  /** Signing region when a bucket's own region is unknown. */
  region: string
  credentials: () => Promise<S3Credentials>
  /** Connections kept open (and so requests in flight) at most. */
  maxSockets?: number
  userAgent?: string
  /** Attempts per request, counting the first (default 3). */
  maxAttempts?: number
}

/** An S3 error answer: `name` is S3's error code (`NoSuchKey`, `AccessDenied`, …). */
export class S3ReadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = code
  }
  get Code(): string {
    return this.code
  }
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex')

/** RFC 3986 encoding as SigV4 wants it; `/` kept when `path` is set. */
export function uriEncode(s: string, path = false): string {
  let out = encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  )
  if (path) out = out.replace(/%2F/g, '/')
  return out
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest()

function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<'
    if (e === 'gt') return '>'
    if (e === 'amp') return '&'
    if (e === 'quot') return '"'
    if (e === 'apos') return "'"
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
  })
}

const tag = (xml: string, name: string) =>
  new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1]

export class S3Reader {
  private readonly url: URL
  private readonly agent: HttpAgent
  private readonly keys = new Map<string, Buffer>()
  private readonly regions = new Map<string, Promise<string>>()

  constructor(private readonly o: S3ReaderOptions) {
    this.url = new URL(o.endpoint)
    const agentOpts = { keepAlive: true, maxSockets: o.maxSockets ?? 32 }
    this.agent =
      this.url.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts)
  }

  close(): void {
    this.agent.destroy()
  }

  async getObject(
    bucket: string,
    key: string,
  ): Promise<{ body: Buffer; metadata: Record<string, string> }> {
    const res = await this.send(bucket, `/${uriEncode(bucket)}/${uriEncode(key, true)}`, {})
    const metadata: Record<string, string> = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string')
        metadata[name.slice('x-amz-meta-'.length)] = value
    }
    return { body: res.body, metadata }
  }

  /** ListObjectsV2, all pages: keys after `startAfter` under `prefix`, with LastModified. */
  async *list(
    bucket: string,
    prefix: string,
    startAfter?: string,
  ): AsyncGenerator<{ key: string; lastModified: Date }> {
    let token: string | undefined
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix }
      if (token) query['continuation-token'] = token
      else if (startAfter) query['start-after'] = startAfter
      const xml = (await this.send(bucket, `/${uriEncode(bucket)}`, query)).body.toString('utf8')
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = tag(m[1]!, 'Key')
        const modified = tag(m[1]!, 'LastModified')
        if (key !== undefined)
          yield { key: xmlUnescape(key), lastModified: new Date(modified ?? 0) }
      }
      token =
        tag(xml, 'IsTruncated') === 'true'
          ? xmlUnescape(tag(xml, 'NextContinuationToken') ?? '')
          : undefined
    } while (token)
  }

  /** The bucket's region (GetBucketLocation), as the AWS CLI finds it; the default on failure. */
  private regionOf(bucket: string): Promise<string> {
    let r = this.regions.get(bucket)
    if (!r) {
      r = this.request(this.o.region, 'GET', `/${uriEncode(bucket)}`, { location: '' })
        .then((res) => xmlUnescape(tag(res.body.toString('utf8'), 'LocationConstraint') ?? ''))
        .then((loc) => loc || 'us-east-1')
        .catch(() => this.o.region)
      this.regions.set(bucket, r)
    }
    return r
  }

  private async send(bucket: string, path: string, query: Record<string, string>) {
    const region = await this.regionOf(bucket)
    const attempts = this.o.maxAttempts ?? 3
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(region, 'GET', path, query)
      } catch (err) {
        const retry =
          attempt < attempts &&
          (!(err instanceof S3ReadError) ||
            err.status >= 500 ||
            err.code === 'SlowDown' ||
            err.code === 'Throttling')
        if (!retry) throw err
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt))
      }
    }
  }

  private signingKey(secret: string, date: string, region: string): Buffer {
    const id = `${secret}/${date}/${region}`
    let k = this.keys.get(id)
    if (!k) {
      k = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request')
      this.keys.set(id, k)
    }
    return k
  }

  private async request(
    region: string,
    method: string,
    path: string,
    query: Record<string, string>,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const creds = await this.o.credentials()
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    const date = amzDate.slice(0, 8)
    const canonicalQuery = Object.keys(query)
      .sort()
      .map((k) => `${uriEncode(k)}=${uriEncode(query[k]!)}`)
      .join('&')
    const headers: Record<string, string> = {
      host: this.url.host,
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': amzDate,
      ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
    }
    const names = Object.keys(headers).sort()
    const base = this.url.pathname.replace(/\/+$/, '')
    const canonical = [
      method,
      base + path,
      canonicalQuery,
      names.map((n) => `${n}:${headers[n]}\n`).join(''),
      names.join(';'),
      EMPTY_SHA256,
    ].join('\n')
    const scope = `${date}/${region}/s3/aws4_request`
    const toSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n')
    const signature = createHmac('sha256', this.signingKey(creds.secretAccessKey, date, region))
      .update(toSign)
      .digest('hex')
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(';')}, Signature=${signature}`
    if (this.o.userAgent) headers['user-agent'] = this.o.userAgent
    const fullPath = base + path + (canonicalQuery ? `?${canonicalQuery}` : '')
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = send(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          method,
          path: fullPath,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const body = Buffer.concat(chunks)
            const status = res.statusCode ?? 0
            if (status >= 200 && status < 300) {
              resolve({ status, headers: res.headers, body })
              return
            }
            const text = body.toString('utf8')
            const code = tag(text, 'Code') ?? (status === 404 ? 'NotFound' : `HttpError${status}`)
            reject(new S3ReadError(code, xmlUnescape(tag(text, 'Message') ?? code), status))
          })
        },
      )
      req.on('error', reject)
      req.end()
    })
  }
}
