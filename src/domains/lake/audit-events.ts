/**
 * @module domains/lake/audit-events
 * PutAuditEvents, the `cloudtrail-data` service (REST-JSON: `POST /PutAuditEvents?channelArn=...`,
 * SigV4 signing name `cloudtrail-data`): applications send their own audit events (at most 100 or
 * 1 MB per call) through a channel into its event data stores. Each entry is checked against AWS's
 * external-event schema and gets its own result (`successful` with the eventID CloudTrail assigned,
 * or `failed` with an error code); accepted entries are made durable in the audit-event log (group
 * commit, fdatasync) before the response, and the Lake loads them into the channel's stores behind
 * it in large batches (`LakeEngine.auditSink`; queries wait for it). The call itself is recorded as
 * a CloudTrail data event on the channel.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { buildApiEvent } from '../../events/api-event.js'
import type { CloudTrailRecord } from '../../events/record.js'
import type { Authorizer } from '../../iam/authorizer.js'
import type { IdentityStore, Principal } from '../../iam/identities.js'
import { errorResponse } from '../../protocol/json-protocol.js'
import {
  parseAuthorization,
  UnrecognizedClient,
  verifySignature,
  WrongService,
} from '../../protocol/sigv4.js'
import { auditLines, timestampMicros } from '../../lake/load.js'
import type { Clock } from '../../shared/clock.js'
import {
  awsError,
  SerializationException,
  ServiceError,
  ValidationException,
} from '../../shared/errors.js'
import { newRequestId } from '../../shared/ids.js'
import type { Logger } from '../../telemetry/logger.js'
import type { ChannelService } from './channels.js'

export const ChannelNotFound = awsError('ChannelNotFound', 404)
export const InvalidChannelARN = awsError('InvalidChannelARN')
export const ChannelInsufficientPermission = awsError('ChannelInsufficientPermission', 403)
export const DuplicatedAuditEventId = awsError('DuplicatedAuditEventId')
export const ChannelUnsupportedSchema = awsError('ChannelUnsupportedSchema')

export const MAX_AUDIT_EVENTS = 100
export const MAX_AUDIT_BYTES = 1024 * 1024
/** CloudTrail's limit on one event. */
const MAX_EVENT_DATA_BYTES = 256 * 1024
const ID_RE = /^[-_A-Za-z0-9]{1,128}$/
const REQUIRED = ['version', 'eventSource', 'eventName', 'eventTime', 'UID', 'recipientAccountId']

export interface AuditEventsDeps {
  channels: ChannelService
  /**
   * Appends lines `<store IDs, comma-separated>\t<line from auditLines>` to the durable audit-event log;
   * resolves once they survive a crash.
   */
  ingest: (lines: string[]) => Promise<unknown>
  identities: IdentityStore
  authorizer: Authorizer
  record: (event: CloudTrailRecord) => Promise<void>
  clock: Clock
  logger: Logger
  defaultRegion: string
}

interface Entry {
  id: string
  eventData: string
  eventDataChecksum?: string
}

interface Failed {
  id: string
  errorCode: string
  errorMessage: string
}

/** A rejected entry's result. */
export class EntryFailure {
  constructor(readonly entry: Failed) {}
}

/** Checks one entry; returns its eventTime in microseconds (UTC) or the entry's failure. */
export function checkEntry(e: Entry, accountId: string): number | EntryFailure {
  const fail = (errorCode: string, errorMessage: string) =>
    new EntryFailure({ id: e.id, errorCode, errorMessage })
  if (
    e.eventData.length * 3 > MAX_EVENT_DATA_BYTES &&
    Buffer.byteLength(e.eventData) > MAX_EVENT_DATA_BYTES
  ) {
    return fail('FieldTooLong', 'eventData is larger than 256 KB.')
  }
  if (e.eventDataChecksum !== undefined) {
    const sum = createHash('sha256').update(e.eventData).digest('base64')
    if (sum !== e.eventDataChecksum) {
      return fail('InvalidChecksum', 'eventDataChecksum does not match the SHA-256 of eventData.')
    }
  }
  let data: unknown
  try {
    data = JSON.parse(e.eventData)
  } catch {
    return fail('InvalidData', 'eventData is not valid JSON.')
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail('InvalidData', 'eventData must be a JSON object.')
  }
  const d = data as Record<string, unknown>
  for (const f of REQUIRED) {
    if (typeof d[f] !== 'string' || d[f] === '') {
      return fail('FieldNotFound', `eventData.${f} is required and must be a string.`)
    }
  }
  const ui = d['userIdentity']
  if (
    typeof ui !== 'object' ||
    ui === null ||
    typeof (ui as Record<string, unknown>)['type'] !== 'string' ||
    typeof (ui as Record<string, unknown>)['principalId'] !== 'string'
  ) {
    return fail('FieldNotFound', 'eventData.userIdentity needs type and principalId strings.')
  }
  const eventTime = timestampMicros(d['eventTime'])
  if (eventTime === null) {
    return fail('InvalidData', 'eventData.eventTime is not an ISO 8601 time.')
  }
  if (d['recipientAccountId'] !== accountId) {
    return fail('InvalidRecipient', 'eventData.recipientAccountId is not the channel owner.')
  }
  for (const f of ['requestParameters', 'responseElements', 'additionalEventData']) {
    const v = d[f]
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) {
      return fail('InvalidData', `eventData.${f} must be a JSON object.`)
    }
  }
  return eventTime
}

export class AuditEventsEndpoint {
  constructor(private readonly deps: AuditEventsDeps) {}

  /** Whether a request is for this endpoint. */
  static matches(req: IncomingMessage): boolean {
    return req.method === 'POST' && (req.url ?? '').split('?')[0] === '/PutAuditEvents'
  }

  async handle(
    req: IncomingMessage,
    body: Buffer | 'too-large',
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const requestId = newRequestId()
    const now = this.deps.clock.now()
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '')
    let principal: Principal | undefined
    let claimedKey: string | undefined
    let region = this.deps.defaultRegion
    let channelArn: string | undefined
    let response: { successful: { id: string; eventID: string }[]; failed: Failed[] } | undefined
    let error: unknown
    try {
      if (body === 'too-large' || body.length > MAX_AUDIT_BYTES) {
        throw new ServiceError(
          'ValidationException',
          `The request is larger than ${MAX_AUDIT_BYTES} bytes (1 MB).`,
          413,
        )
      }
      const signed = {
        method: 'POST',
        path: q >= 0 ? url.slice(0, q) : url,
        query: q >= 0 ? url.slice(q + 1) : '',
        headers: req.headers,
        body,
      }
      const auth = parseAuthorization(signed)
      claimedKey = auth.accessKeyId
      region = auth.region || region
      if (auth.service !== 'cloudtrail-data') throw WrongService('cloudtrail-data')
      const secret = this.deps.identities.secretFor(auth.accessKeyId)
      if (!secret) throw UnrecognizedClient()
      await verifySignature(signed, auth, secret, now)
      principal = this.deps.identities.principalFor(auth.accessKeyId)!

      const ref = query.get('channelArn')
      if (!ref) throw ValidationException('channelArn is required.')
      let channel
      try {
        channel = this.deps.channels.find(principal, ref)
      } catch (err) {
        if (err instanceof ServiceError && err.code === 'ChannelARNInvalidException')
          throw InvalidChannelARN(err.message)
        throw ChannelNotFound(`Channel ${ref} was not found.`)
      }
      channelArn = channel.arn
      const denied = this.deps.authorizer.check(
        principal,
        'cloudtrail-data:PutAuditEvents',
        channel.arn,
      )
      if (denied) throw denied

      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString('utf8'))
      } catch (e) {
        throw SerializationException(`Malformed JSON in request body: ${(e as Error).message}`)
      }
      const events = (parsed as Record<string, unknown> | null)?.['auditEvents']
      if (!Array.isArray(events) || events.length < 1 || events.length > MAX_AUDIT_EVENTS) {
        throw ValidationException(`auditEvents must be a list of 1 to ${MAX_AUDIT_EVENTS} events.`)
      }
      const entries: Entry[] = events.map((e: unknown, i) => {
        const o = e as Record<string, unknown> | null
        if (
          typeof o !== 'object' ||
          o === null ||
          typeof o['id'] !== 'string' ||
          !ID_RE.test(o['id']) ||
          typeof o['eventData'] !== 'string' ||
          (o['eventDataChecksum'] !== undefined && typeof o['eventDataChecksum'] !== 'string')
        ) {
          throw ValidationException(
            `auditEvents.${i + 1}: id (1-128 of [-_A-Za-z0-9]) and eventData (a string) are required.`,
          )
        }
        return o as unknown as Entry
      })
      const ids = new Set<string>()
      for (const e of entries) {
        if (ids.has(e.id)) throw DuplicatedAuditEventId(`Audit event id ${e.id} appears twice.`)
        ids.add(e.id)
      }
      const successful: { id: string; eventID: string }[] = []
      const failed: Failed[] = []
      const lines: string[] = []
      const stores = this.deps.channels.targets(channel)
      const prefix = stores.map((st) => st.id).join(',') + '\t'
      const line = auditLines({
        region: channel.region,
        accountId: channel.accountId,
        channelArn: channel.arn,
        ingestionTime: now,
      })
      for (const e of entries) {
        const checked = checkEntry(e, channel.accountId)
        if (checked instanceof EntryFailure) {
          failed.push(checked.entry)
          continue
        }
        const eventID = randomUUID()
        if (stores.length > 0) lines.push(prefix + line(eventID, e.eventData, checked))
        successful.push({ id: e.id, eventID })
      }
      if (lines.length > 0) await this.deps.ingest(lines)
      this.deps.channels.noteIngestion(
        channel,
        now,
        successful.at(-1)?.eventID,
        failed.length > 0 ? failed[0]!.errorCode : undefined,
      )
      response = { successful, failed }
    } catch (err) {
      error = err
    }

    let status = 200
    let out: string
    let code: string | undefined
    if (error) {
      const e = errorResponse(error, requestId)
      status = e.status
      code = e.code
      out = JSON.stringify({ message: (JSON.parse(e.body) as { message: string }).message })
      if (!(error instanceof ServiceError)) {
        this.deps.logger.error(
          { requestId, err: (error as Error).stack ?? JSON.stringify(error) },
          'PutAuditEvents failed.',
        )
      }
    } else {
      out = JSON.stringify(response)
    }
    const event = buildApiEvent({
      time: now,
      eventSource: 'cloudtrail-data.amazonaws.com',
      eventName: 'PutAuditEvents',
      region,
      principal,
      claimedAccessKeyId: claimedKey,
      defaultAccountId: this.deps.identities.defaultAccountId ?? '',
      sourceIPAddress: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      userAgent:
        typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined,
      requestId,
      requestParameters: {
        channelArn: query.get('channelArn'),
        ...(query.get('externalId') ? { externalId: query.get('externalId') } : {}),
      },
      responseElements: null,
      errorCode: code === 'AccessDeniedException' ? 'AccessDenied' : code,
      errorMessage: error instanceof ServiceError ? error.message : undefined,
      readOnly: false,
      resources: channelArn
        ? [
            {
              accountId: principal?.accountId ?? '',
              type: 'AWS::CloudTrail::Channel',
              ARN: channelArn,
            },
          ]
        : undefined,
      host: typeof req.headers['host'] === 'string' ? req.headers['host'] : undefined,
    })
    // A data event: it reaches trails and stores whose selectors ask for AWS::CloudTrail::Channel.
    event.managementEvent = false
    event.eventCategory = 'Data'
    await this.deps.record(event)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
    }
    if (code) headers['x-amzn-errortype'] = code
    return { status, headers, body: out }
  }
}
