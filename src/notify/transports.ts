/**
 * @module notify/transports
 * How one delivery leaves OpenTrail:
 * - `http`/`https`: POST of the SNS-shaped notification JSON, signed with HMAC-SHA256 under the
 *   subscription's secret: `X-OpenTrail-Signature: t=<unix seconds>,v1=<hex>` where the hex is
 *   HMAC-SHA256(secret, `<t>.<body>`) (see docs/decisions/0015-notifications-and-event-rules.md).
 * - `slack`: POST of `{"text": ...}` to an incoming-webhook URL (the URL is the credential).
 * - `email`/`email-json`: one message over SMTP (nodemailer), text body.
 * Any answer but 2xx, a timeout, or an SMTP error is a failed attempt (the dispatcher retries).
 */
import { createHmac } from 'node:crypto'
import nodemailer from 'nodemailer'
import type { Transporter } from 'nodemailer'
import type { Delivery } from './outbox.js'

export interface SmtpSettings {
  host: string
  port: number
  secure: boolean
  user?: string
  pass?: string
  from: string
}

export const SIGNATURE_HEADER = 'x-opentrail-signature'

/** `t=<t>,v1=<hex>` for `body` at unix time `t`. */
export function signBody(secret: string, t: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
  return `t=${t},v1=${mac}`
}

/** Checks a signature header (for receivers and tests); `toleranceSeconds` bounds replays. */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)
  if (!m) return false
  const t = Number(m[1])
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false
  return signBody(secret, t, body) === header
}

export interface SendContext {
  /** The subscription's signing secret (http/https). */
  secret?: string
  nowSeconds: number
}

export class Transports {
  private mailer: Transporter | undefined

  constructor(private readonly o: { smtp?: SmtpSettings; timeoutMs: number }) {}

  async send(d: Delivery, ctx: SendContext): Promise<void> {
    switch (d.protocol) {
      case 'http':
      case 'https':
        return this.webhook(d, ctx)
      case 'slack':
        return this.post(d.endpoint, JSON.stringify({ text: slackText(d) }), {
          'content-type': 'application/json',
        })
      case 'email':
      case 'email-json':
        return this.email(d)
    }
  }

  private async webhook(d: Delivery, ctx: SendContext): Promise<void> {
    const body = d.message
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': d.messageId,
      ...(d.topicArn ? { 'x-amz-sns-topic-arn': d.topicArn } : {}),
      ...(d.subscriptionArn ? { 'x-amz-sns-subscription-arn': d.subscriptionArn } : {}),
      ...(d.headers ?? {}),
    }
    if (ctx.secret) headers[SIGNATURE_HEADER] = signBody(ctx.secret, ctx.nowSeconds, body)
    await this.post(d.endpoint, body, headers)
  }

  private async post(url: string, body: string, headers: Record<string, string>): Promise<void> {
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } }
      throw new Error(
        e.name === 'TimeoutError'
          ? `no answer within ${this.o.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message),
        { cause: err },
      )
    }
    // Drain the body so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined)
    if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`)
  }

  private async email(d: Delivery): Promise<void> {
    const smtp = this.o.smtp
    if (!smtp) throw new Error('SMTP is not configured (notifications.smtp)')
    this.mailer ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.pass ?? '' } } : {}),
      connectionTimeout: this.o.timeoutMs,
      greetingTimeout: this.o.timeoutMs,
      socketTimeout: this.o.timeoutMs,
    })
    await this.mailer.sendMail({
      from: smtp.from,
      to: d.endpoint,
      subject: d.subject ?? 'OpenTrail Notification',
      text: d.protocol === 'email-json' ? d.message : emailText(d),
      headers: { 'X-OpenTrail-Message-Id': d.messageId },
    })
  }

  close(): void {
    this.mailer?.close()
  }
}

/** The notification's human text: the `Message` of an SNS envelope, else the raw body. */
function innerMessage(d: Delivery): string {
  try {
    const env = JSON.parse(d.message) as { Type?: string; Message?: unknown }
    if (env.Type === 'Notification' && typeof env.Message === 'string') return env.Message
  } catch {
    // not an envelope
  }
  return d.message
}

function slackText(d: Delivery): string {
  const msg = innerMessage(d)
  return d.subject ? `*${d.subject}*\n${msg}` : msg
}

function emailText(d: Delivery): string {
  return `${innerMessage(d)}\n\n--\nSent by OpenTrail for ${d.topicArn ?? d.origin}.\n`
}
