import { str } from './util'

/**
 * The console's client for OpenTrail's APIs. CloudTrail operations go to the real JSON API
 * (`POST /` with X-Amz-Target), authenticated by the session cookie plus the CSRF header instead
 * of SigV4; S3 reads go through the console's signing bridge. Nothing here holds a secret the
 * page could leak: the session cookie is HttpOnly.
 */

export interface Identity {
  accountId: string
  userName: string
  arn: string
  type: 'IAMUser' | 'Root'
  mfaAuthenticated: boolean
  csrfToken: string
  expiresAt: string
  region: string
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = code
  }
}

let csrf = ''
let region = 'us-east-1'
let onExpired: () => void = () => {}

export function setSession(id: Identity | undefined, expired?: () => void): void {
  csrf = id?.csrfToken ?? ''
  region = id?.region ?? region
  if (expired) onExpired = expired
}

async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text()
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    return { message: text }
  }
}

export async function currentSession(): Promise<Identity | undefined> {
  const res = await fetch('/console/api/session', { credentials: 'same-origin' })
  if (res.status !== 200) return undefined
  return (await res.json()) as Identity
}

export type SignInAnswer = { identity: Identity } | { mfaRequired: true } | { error: string }

export async function signIn(form: {
  account?: string
  userName?: string
  root?: boolean
  password: string
  mfaCode?: string
}): Promise<SignInAnswer> {
  const res = await fetch('/console/api/signin', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(form),
  })
  const body = await jsonOf(res)
  if (res.status === 200 && body['mfaRequired']) return { mfaRequired: true }
  if (res.status === 200) return { identity: body as unknown as Identity }
  return { error: str(body['message']) || `Sign-in failed (${res.status})` }
}

export async function signOut(): Promise<void> {
  await fetch('/console/api/signout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  })
  csrf = ''
}

/** Calls a CloudTrail API operation as the signed-in user. */
export async function call<T = Record<string, unknown>>(
  operation: string,
  input: object = {},
  targetPrefix = 'CloudTrail_20131101',
): Promise<T> {
  const res = await fetch('/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${targetPrefix}.${operation}`,
      'x-csrf-token': csrf,
      'x-opentrail-region': region,
    },
    body: JSON.stringify(input),
  })
  const body = await jsonOf(res)
  if (!res.ok) {
    const code = (str(body['__type']) || 'Error').split('#').pop()!
    if (code === 'ExpiredTokenException') onExpired()
    throw new ApiError(code, str(body['message'] ?? body['Message']) || res.statusText, res.status)
  }
  return body as T
}

function s3Error(text: string, status: number): ApiError {
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? 'Error'
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${status}`
  return new ApiError(code, message, status)
}

const s3Path = (bucket: string, key = '') =>
  `/console/api/s3/${encodeURIComponent(bucket)}${key ? '/' + key.split('/').map(encodeURIComponent).join('/') : ''}`

export interface Listing {
  folders: string[]
  files: { key: string; size: number; lastModified: string }[]
  nextToken?: string
}

/** ListObjectsV2 with a delimiter, one page. */
export async function listObjects(
  bucket: string,
  prefix: string,
  token?: string,
): Promise<Listing> {
  const q = new URLSearchParams({ 'list-type': '2', delimiter: '/', prefix, 'max-keys': '1000' })
  if (token) q.set('continuation-token', token)
  const res = await fetch(`${s3Path(bucket)}?${q}`, {
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  })
  const text = await res.text()
  if (!res.ok) throw s3Error(text, res.status)
  const doc = new DOMParser().parseFromString(text, 'application/xml')
  const tag = (el: Element | Document, name: string) => el.getElementsByTagName(name)
  const folders = [...tag(doc, 'CommonPrefixes')].map((p) => tag(p, 'Prefix')[0]?.textContent ?? '')
  const files = [...tag(doc, 'Contents')].map((c) => ({
    key: tag(c, 'Key')[0]?.textContent ?? '',
    size: Number(tag(c, 'Size')[0]?.textContent ?? 0),
    lastModified: tag(c, 'LastModified')[0]?.textContent ?? '',
  }))
  const next = tag(doc, 'NextContinuationToken')[0]?.textContent ?? undefined
  return { folders, files, ...(next ? { nextToken: next } : {}) }
}

/** GetObject; the browser undoes Content-Encoding: gzip, so a log file arrives as JSON text. */
export async function getObjectText(bucket: string, key: string): Promise<string> {
  const res = await fetch(s3Path(bucket, key), {
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  })
  if (!res.ok) throw s3Error(await res.text(), res.status)
  if (key.endsWith('.gz') && res.headers.get('content-encoding') !== 'gzip') {
    const stream = res.body!.pipeThrough(new DecompressionStream('gzip'))
    return new Response(stream).text()
  }
  return res.text()
}

/** CreateBucket (the wizard's "new bucket"). */
export async function createBucket(bucket: string): Promise<void> {
  const res = await fetch(s3Path(bucket), {
    method: 'PUT',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  })
  if (!res.ok) throw s3Error(await res.text(), res.status)
}

export async function listBuckets(): Promise<string[]> {
  const res = await fetch('/console/api/s3/', {
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf },
  })
  const text = await res.text()
  if (!res.ok) throw s3Error(text, res.status)
  const doc = new DOMParser().parseFromString(text, 'application/xml')
  return [...doc.getElementsByTagName('Bucket')].map(
    (b) => b.getElementsByTagName('Name')[0]?.textContent ?? '',
  )
}

export interface ValidateResult {
  trailArn: string
  start: string
  end: string
  digests: { valid: number; invalid: number }
  logs: { valid: number; invalid: number }
  findings: { level: 'valid' | 'invalid' | 'info'; text: string }[]
  truncated: boolean
}

export async function validateLogs(
  trailArn: string,
  startTime: string,
  endTime: string,
): Promise<ValidateResult> {
  const res = await fetch('/console/api/validate', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ trailArn, startTime, endTime }),
  })
  const body = await jsonOf(res)
  if (!res.ok) throw new ApiError('ValidationError', str(body['message']), res.status)
  return body as unknown as ValidateResult
}

/** X-Amz-Target prefixes of the monitoring APIs the console calls (see `call`). */
export const LOGS = 'Logs_20140328'
export const CW = 'GraniteServiceVersion20100801'
export const EVENTS = 'AWSEvents'

/**
 * Calls an SNS operation as the signed-in user, in SNS's own protocol (AWS query: form body, XML
 * answer), as `aws sns` does. Returns the `<{Action}Result>` element.
 */
export async function callQuery(
  action: string,
  params: Record<string, string> = {},
): Promise<Element> {
  const res = await fetch('/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-csrf-token': csrf,
      'x-opentrail-region': region,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-03-31', ...params }).toString(),
  })
  const text = await res.text()
  const doc = new DOMParser().parseFromString(text, 'application/xml')
  if (!res.ok) {
    const code = doc.getElementsByTagName('Code')[0]?.textContent ?? 'Error'
    if (code === 'ExpiredTokenException') onExpired()
    const message = doc.getElementsByTagName('Message')[0]?.textContent ?? res.statusText
    throw new ApiError(code, message, res.status)
  }
  // Operations without output answer with ResponseMetadata only.
  return doc.getElementsByTagName(`${action}Result`)[0] ?? doc.documentElement
}
