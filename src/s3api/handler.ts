/**
 * @module s3api/handler
 * The S3 REST protocol on OpenTrail's endpoint, over the embedded object store. Path-style
 * requests are authenticated with SigV4 (service `s3`) like every other call, authorized with the
 * caller's IAM policies (`s3:<Action>` on `arn:aws:s3:::bucket[/key]`) and the bucket's policy, and
 * recorded as CloudTrail events with eventSource s3.amazonaws.com: object-level calls (and object
 * listings) as data events, bucket-level calls as management events. The event is durable before
 * the response is sent. Bodies stream to disk; payload hashes, chunk signatures and checksums are
 * checked before an object is committed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { buildApiEvent } from '../events/api-event.js'
import type { CloudTrailRecord } from '../events/record.js'
import type { IdentityStore, Principal } from '../iam/identities.js'
import { evaluate } from '../iam/policy.js'
import type { LocalObjectStore } from '../objectstore/local-store.js'
import { parseAuthorization, verifySignature } from '../protocol/sigv4.js'
import type { Clock } from '../shared/clock.js'
import { ServiceError } from '../shared/errors.js'
import type { Logger } from '../telemetry/logger.js'
import { evaluateBucketPolicy } from './bucket-policy.js'
import { accessDenied, fromAuthError, S3Error } from './errors.js'
import {
  finishS3Event,
  s3HostId,
  s3RequestId,
  s3RequestParameters,
  s3Resources,
  sourceIp,
  tlsOf,
} from './events.js'
import type { OpContext, OpResult } from './op-common.js'
import { runOperation } from './operations.js'
import { payloadSpec, signingKey, type ChunkSigning } from './payload.js'
import { resolveOperation, splitPath, type OpInfo } from './routing.js'
import { errorDocument } from './xml.js'

export interface S3ApiDeps {
  store: LocalObjectStore
  identities: IdentityStore
  record: (event: CloudTrailRecord) => Promise<void>
  clock: Clock
  logger: Logger
  defaultRegion: string
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

export class S3ApiHandler {
  constructor(private readonly deps: S3ApiDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = s3RequestId()
    const hostId = s3HostId()
    const now = this.deps.clock.now()
    const method = req.method ?? 'GET'
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const rawPath = q >= 0 ? url.slice(0, q) : url
    const rawQuery = q >= 0 ? url.slice(q + 1) : ''
    const query = new URLSearchParams(rawQuery)
    const host = header(req, 'host') ?? ''

    let principal: Principal | undefined
    let claimedKey: string | undefined
    let region = this.deps.defaultRegion
    let info: OpInfo | undefined
    let bucket: string | undefined
    let key: string | undefined
    let result: OpResult | undefined
    let error: unknown
    let requestParameters: Record<string, unknown> = { Host: host }
    const ctxState = { bytesIn: 0, bodyRead: false }

    try {
      ;({ bucket, key } = splitPath(rawPath))
      requestParameters = s3RequestParameters(host, bucket, key, query)
      info = resolveOperation(method, bucket, key, query, req.headers)

      // Authenticate. The payload hash comes from x-amz-content-sha256, so no body is needed yet.
      const signed = {
        method,
        path: rawPath,
        query: rawQuery,
        headers: req.headers,
        body: new Uint8Array(),
      }
      let auth
      let signing: ChunkSigning | undefined
      try {
        if (query.has('X-Amz-Signature'))
          throw new S3Error(
            'NotImplemented',
            'Query-string (presigned URL) authentication is not supported; sign with the Authorization header.',
            501,
          )
        auth = parseAuthorization(signed)
        claimedKey = auth.accessKeyId
        region = auth.region || region
        if (auth.service !== 's3')
          throw new S3Error(
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed; the service '${auth.service}' is wrong; expecting 's3'.`,
            400,
          )
        if (!header(req, 'x-amz-content-sha256'))
          throw new S3Error(
            'InvalidRequest',
            'Missing required header for this request: x-amz-content-sha256',
            400,
          )
        const secret = this.deps.identities.secretFor(auth.accessKeyId)
        if (!secret)
          throw fromAuthError(
            new ServiceError('UnrecognizedClientException', '', 403),
            auth.accessKeyId,
          )
        await verifySignature(signed, auth, secret, now)
        principal = this.deps.identities.principalFor(auth.accessKeyId)!
        signing = {
          seedSignature: auth.signature,
          amzDate: auth.amzDate,
          scope: `${auth.date}/${auth.region}/${auth.service}/aws4_request`,
          signingKey: signingKey(secret, auth.date, auth.region, auth.service),
        }
      } catch (err) {
        throw err instanceof ServiceError ? fromAuthError(err, claimedKey) : err
      }

      const ctx: OpContext = {
        req,
        store: this.deps.store,
        principal,
        defaultAccountId: this.deps.identities.defaultAccountId ?? principal.accountId,
        region,
        bucket,
        key,
        query,
        host,
        now,
        requestParameters,
        payload: payloadSpec(req.headers, signing),
        state: ctxState,
        authorize: (action, b, k) => this.authorize(principal!, action, b, k),
        authorizeKms: async (action, keyArn) => this.authorizeKms(principal!, action, keyArn),
      }
      // CreateBucket acts on a bucket that is not the caller's yet: identity policies alone.
      if (info.name === 'CreateBucket')
        await this.authorize(principal, info.action, undefined, undefined, bucket)
      else if (info.action) await ctx.authorize(info.action, bucket, key)
      result = await runOperation(info.name, ctx)
    } catch (err) {
      error = err
    }

    // ---- the response and the event --------------------------------------------------------
    let status = result?.status ?? 200
    const headers: Record<string, string> = {
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
      ...(result?.headers ?? {}),
    }
    let body = result?.body
    let errorCode: string | undefined
    let errorMessage: string | undefined
    if (error) {
      const e =
        error instanceof S3Error
          ? error
          : new S3Error('InternalError', 'We encountered an internal error. Please try again.', 500)
      if (!(error instanceof S3Error)) {
        this.deps.logger.error(
          { requestId, err: (error as Error)?.stack ?? JSON.stringify(error) },
          'S3 operation failed.',
        )
      }
      status = e.status
      errorCode = e.code
      errorMessage = e.message
      for (const k of Object.keys(headers)) if (!k.startsWith('x-amz-')) delete headers[k]
      if (method === 'HEAD') body = undefined
      else {
        headers['content-type'] = 'application/xml'
        body = errorDocument(e, { requestId, hostId, ...(key !== undefined ? { key } : {}) })
      }
      // A body we did not read is not worth reading: close the connection after answering.
      if (!ctxState.bodyRead && hasBody(req)) headers['connection'] = 'close'
    }

    const name = info?.name ?? (method === 'GET' && !bucket ? 'ListBuckets' : 'UnknownOperation')
    const resources =
      info && bucket
        ? s3Resources(info, bucket, key, {
            owner: result?.bucketOwner ?? this.deps.identities.defaultAccountId ?? '',
            ...(result?.objectArns ? { objectKeys: result.objectArns } : {}),
            ...(result?.listPrefix !== undefined ? { listPrefix: result.listPrefix } : {}),
          })
        : undefined
    const event = buildApiEvent({
      time: now,
      eventSource: 's3.amazonaws.com',
      eventName: name,
      region,
      principal,
      claimedAccessKeyId: claimedKey,
      defaultAccountId: this.deps.identities.defaultAccountId ?? '',
      sourceIPAddress: sourceIp(req),
      userAgent: header(req, 'user-agent'),
      requestId,
      requestParameters,
      responseElements: error ? null : (result?.responseElements ?? null),
      errorCode,
      errorMessage,
      readOnly: info?.readOnly ?? method === 'GET',
      resources,
      tls: tlsOf(req),
      host,
    })
    const cipherSuite = tlsOf(req)?.cipherSuite
    finishS3Event(event, info?.data ?? false, {
      hostId,
      bytesIn: ctxState.bytesIn,
      bytesOut: error ? 0 : (result?.bytesOut ?? byteLength(body)),
      ...(cipherSuite ? { cipherSuite } : {}),
      ...(result?.additionalEventData ? { extra: result.additionalEventData } : {}),
    })
    await this.deps.record(event)

    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body)
      if (!('content-length' in headers)) headers['content-length'] = String(buf?.length ?? 0)
      res.writeHead(status, headers)
      res.end(method === 'HEAD' ? undefined : buf)
      if (headers['connection'] === 'close') req.resume()
      return
    }
    res.writeHead(status, headers)
    if (method === 'HEAD') {
      body.destroy()
      res.end()
      return
    }
    try {
      await pipeline(body, res)
    } catch (err) {
      // The client went away mid-download; the event already stands.
      this.deps.logger.debug?.({ requestId, err: String(err) }, 'S3 download interrupted.')
    }
  }

  /**
   * `kms:<action>` on an object's KMS key: OpenTrail keeps no key policies, so the caller's IAM
   * identity policies decide, as for a key whose key policy defers to IAM.
   */
  private authorizeKms(principal: Principal, action: string, keyArn: string): void {
    const full = `kms:${action}`
    if (evaluate(this.deps.identities.policiesFor(principal.accessKeyId), full, keyArn) !== 'Allow')
      throw new S3Error(
        'AccessDenied',
        `User: ${principal.arn} is not authorized to perform: ${full} on resource: ${keyArn} because no identity-based policy allows the ${full} action`,
        403,
      )
  }

  /**
   * IAM identity policies plus the bucket policy: an explicit deny in either wins; in the bucket
   * owner's account an allow in either suffices; another account needs both.
   */
  private async authorize(
    principal: Principal,
    action: string,
    bucket: string | undefined,
    key: string | undefined,
    newBucket?: string,
  ): Promise<void> {
    const full = `s3:${action}`
    const resource = newBucket
      ? `arn:aws:s3:::${newBucket}`
      : !bucket
        ? '*'
        : key === undefined
          ? `arn:aws:s3:::${bucket}`
          : `arn:aws:s3:::${bucket}/${key}`
    const identity = evaluate(
      this.deps.identities.policiesFor(principal.accessKeyId),
      full,
      resource,
    )
    if (identity === 'ExplicitDeny') throw accessDenied()
    let owner: string | undefined
    let policy: string | undefined
    if (bucket && (await this.deps.store.bucketExists(bucket))) {
      owner =
        (await this.deps.store.bucketInfo(bucket)).ownerAccountId ??
        this.deps.identities.defaultAccountId
      policy = (await this.deps.store.getBucketSettings(bucket)).policy
    }
    const resourceDecision = evaluateBucketPolicy(policy, principal, full, resource)
    if (resourceDecision === 'ExplicitDeny') throw accessDenied()
    const sameAccount = owner === undefined || owner === principal.accountId
    const allowed = sameAccount
      ? identity === 'Allow' || resourceDecision === 'Allow'
      : identity === 'Allow' && resourceDecision === 'Allow'
    if (!allowed) throw accessDenied()
  }
}

function hasBody(req: IncomingMessage): boolean {
  const len = header(req, 'content-length')
  return (len !== undefined && len !== '0') || header(req, 'transfer-encoding') !== undefined
}

function byteLength(body: OpResult['body']): number {
  if (body === undefined) return 0
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (Buffer.isBuffer(body)) return body.length
  return 0
}
