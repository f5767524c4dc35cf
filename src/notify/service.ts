/**
 * @module notify/service
 * Topics and subscriptions (SNS semantics: ARNs, attributes, fan-out on publish) and the
 * `Notifier` that monitoring calls on alarm state changes. Publishing only writes to the outbox;
 * the dispatcher delivers. Subscriptions are confirmed at once (OpenTrail has no confirmation
 * round-trip; see README), and each http/https subscription gets an HMAC signing secret.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Clock } from '../shared/clock.js'
import { awsError } from '../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../shared/json-file.js'
import { compilePattern, type CompiledPattern } from '../rules/pattern.js'
import type { AlarmNotification, Notifier } from './port.js'
import type { Delivery, Outbox, Protocol } from './outbox.js'

export const InvalidParameter = awsError('InvalidParameter', 400)
export const NotFound = awsError('NotFound', 404)

export interface Topic {
  arn: string
  name: string
  accountId: string
  region: string
  attributes: Record<string, string>
  createdAt: string
}

export interface Subscription {
  arn: string
  topicArn: string
  protocol: Protocol
  endpoint: string
  owner: string
  /** HMAC-SHA256 key for http/https deliveries. */
  secret?: string
  attributes: Record<string, string>
  createdAt: string
}

interface State {
  topics: Topic[]
  subscriptions: Subscription[]
}

const PROTOCOLS: Protocol[] = ['http', 'https', 'email', 'email-json', 'slack']
const MAX_MESSAGE_BYTES = 256 * 1024

/** A stable UUID-shaped id from a key (the same key always gives the same id). */
export function stableId(key: string): string {
  const h = createHash('sha256').update(key).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}

export function parseTopicArn(
  arn: string,
): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$/.exec(arn)
  return m ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined
}

export interface PublishInput {
  topicArn: string
  message: string
  subject?: string
  origin: string
  /** Deterministic message id (producers that may re-run); random when absent. */
  messageId?: string
  /** Key prefix for the deliveries' ids, for the same reason. */
  idKey?: string
}

export class NotifyService implements Notifier {
  private state: State = { topics: [], subscriptions: [] }

  private constructor(
    private readonly file: string,
    readonly outbox: Outbox,
    private readonly clock: Clock,
  ) {}

  static async open(o: { dir: string; outbox: Outbox; clock: Clock }): Promise<NotifyService> {
    const s = new NotifyService(join(o.dir, 'topics.json'), o.outbox, o.clock)
    s.state = (await readJsonFile<State>(s.file)) ?? { topics: [], subscriptions: [] }
    return s
  }

  /** Writes the state as it is now; json-file applies saves in call order. */
  private save(): Promise<void> {
    return writeJsonFileAtomic(this.file, this.state, 0o600)
  }

  // --- topics ---------------------------------------------------------------

  async createTopic(o: {
    accountId: string
    region: string
    name: string
    attributes?: Record<string, string>
  }): Promise<Topic> {
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(o.name)) {
      throw InvalidParameter(
        'Invalid parameter: Topic Name must be 1-256 alphanumeric characters, hyphens or underscores',
      )
    }
    const arn = `arn:aws:sns:${o.region}:${o.accountId}:${o.name}`
    const existing = this.state.topics.find((t) => t.arn === arn)
    if (existing) return existing // CreateTopic is idempotent
    const topic: Topic = {
      arn,
      name: o.name,
      accountId: o.accountId,
      region: o.region,
      attributes: { ...(o.attributes ?? {}) },
      createdAt: this.clock.now().toISOString(),
    }
    this.state.topics.push(topic)
    await this.save()
    return topic
  }

  topic(arn: string): Topic | undefined {
    return this.state.topics.find((t) => t.arn === arn)
  }

  requireTopic(arn: string): Topic {
    if (!parseTopicArn(arn)) throw InvalidParameter('Invalid parameter: TopicArn')
    const t = this.topic(arn)
    if (!t) throw NotFound('Topic does not exist')
    return t
  }

  listTopics(accountId: string, region?: string): Topic[] {
    return this.state.topics.filter(
      (t) => t.accountId === accountId && (region === undefined || t.region === region),
    )
  }

  async deleteTopic(arn: string): Promise<void> {
    // SNS: deleting a topic that does not exist succeeds.
    this.state.topics = this.state.topics.filter((t) => t.arn !== arn)
    this.state.subscriptions = this.state.subscriptions.filter((s) => s.topicArn !== arn)
    await this.save()
  }

  async setTopicAttribute(arn: string, name: string, value: string): Promise<void> {
    const t = this.requireTopic(arn)
    if (!['DisplayName', 'Policy', 'DeliveryPolicy', 'KmsMasterKeyId'].includes(name)) {
      throw InvalidParameter('Invalid parameter: AttributeName')
    }
    t.attributes[name] = value
    await this.save()
  }

  // --- subscriptions --------------------------------------------------------

  async subscribe(o: {
    topicArn: string
    protocol: string
    endpoint?: string
    owner: string
    attributes?: Record<string, string>
  }): Promise<Subscription> {
    this.requireTopic(o.topicArn)
    const protocol = o.protocol.toLowerCase() as Protocol
    if (!PROTOCOLS.includes(protocol)) {
      throw InvalidParameter(
        `Invalid parameter: Amazon SNS does not support this protocol string: ${o.protocol}`,
      )
    }
    const endpoint = o.endpoint ?? ''
    checkEndpoint(protocol, endpoint)
    const existing = this.state.subscriptions.find(
      (s) => s.topicArn === o.topicArn && s.protocol === protocol && s.endpoint === endpoint,
    )
    if (existing) return existing
    const attrs = { ...(o.attributes ?? {}) }
    const given = attrs['SigningSecret']
    delete attrs['SigningSecret']
    for (const k of Object.keys(attrs)) checkSubscriptionAttribute(k, attrs[k]!)
    if (attrs['FilterPolicy'] !== undefined) needBodyScope(attrs)
    const sub: Subscription = {
      arn: `${o.topicArn}:${randomUUID()}`,
      topicArn: o.topicArn,
      protocol,
      endpoint,
      owner: o.owner,
      attributes: attrs,
      createdAt: this.clock.now().toISOString(),
      ...(protocol === 'http' || protocol === 'https'
        ? { secret: given ?? randomBytes(32).toString('base64url') }
        : {}),
    }
    this.state.subscriptions.push(sub)
    await this.save()
    return sub
  }

  subscription(arn: string): Subscription | undefined {
    return this.state.subscriptions.find((s) => s.arn === arn)
  }

  requireSubscription(arn: string): Subscription {
    const s = this.subscription(arn)
    if (!s) throw NotFound('Subscription does not exist')
    return s
  }

  listSubscriptions(filter: { topicArn?: string; accountId?: string }): Subscription[] {
    return this.state.subscriptions.filter(
      (s) =>
        (!filter.topicArn || s.topicArn === filter.topicArn) &&
        (!filter.accountId || parseTopicArn(s.topicArn)?.accountId === filter.accountId),
    )
  }

  async unsubscribe(arn: string): Promise<void> {
    this.state.subscriptions = this.state.subscriptions.filter((s) => s.arn !== arn)
    await this.save()
  }

  async setSubscriptionAttribute(arn: string, name: string, value: string): Promise<void> {
    const s = this.requireSubscription(arn)
    if (name === 'SigningSecret') {
      if (s.protocol !== 'http' && s.protocol !== 'https')
        throw InvalidParameter('Invalid parameter: SigningSecret applies to http/https only')
      if (value.length < 16) throw InvalidParameter('Invalid parameter: SigningSecret too short')
      s.secret = value
    } else {
      checkSubscriptionAttribute(name, value)
      if (name === 'FilterPolicy') needBodyScope(s.attributes)
      s.attributes[name] = value
    }
    await this.save()
  }

  subscriptionAttributes(s: Subscription): Record<string, string> {
    const out: Record<string, string> = {
      SubscriptionArn: s.arn,
      TopicArn: s.topicArn,
      Protocol: s.protocol,
      Endpoint: s.endpoint,
      Owner: s.owner,
      ConfirmationWasAuthenticated: 'true',
      PendingConfirmation: 'false',
      RawMessageDelivery: 'false',
      ...s.attributes,
      PendingDeliveries: String(this.outbox.pendingCount({ subscriptionArn: s.arn })),
      UndeliveredNotifications: String(this.outbox.deadLetters({ subscriptionArn: s.arn }).length),
    }
    if (s.secret) out['SigningSecret'] = s.secret
    return out
  }

  topicAttributes(t: Topic): Record<string, string> {
    const subs = this.listSubscriptions({ topicArn: t.arn })
    return {
      TopicArn: t.arn,
      Owner: t.accountId,
      DisplayName: '',
      Policy: defaultPolicy(t),
      ...t.attributes,
      SubscriptionsConfirmed: String(subs.length),
      SubscriptionsPending: '0',
      SubscriptionsDeleted: '0',
      UndeliveredNotifications: String(this.outbox.deadLetters({ topicArn: t.arn }).length),
    }
  }

  // --- publishing -----------------------------------------------------------

  /** Fans out to the topic's subscriptions; returns the deliveries without storing them. */
  deliveriesFor(p: PublishInput): { messageId: string; deliveries: Delivery[] } {
    const topic = this.requireTopic(p.topicArn)
    if (Buffer.byteLength(p.message) > MAX_MESSAGE_BYTES) {
      throw InvalidParameter('Invalid parameter: Message too long')
    }
    if (p.subject !== undefined && (p.subject.length > 100 || !/^[\x20-\x7e]+$/.test(p.subject))) {
      throw InvalidParameter('Invalid parameter: Subject')
    }
    const messageId = p.messageId ?? randomUUID()
    const now = this.clock.now()
    const envelope = JSON.stringify({
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: topic.arn,
      ...(p.subject !== undefined ? { Subject: p.subject } : {}),
      Message: p.message,
      Timestamp: now.toISOString(),
    })
    let body: unknown
    let parsed = false
    const wanted = (sub: Subscription): boolean => {
      const policy = sub.attributes['FilterPolicy']
      if (!policy) return true
      if (!parsed) {
        parsed = true
        try {
          body = JSON.parse(p.message)
        } catch {
          body = undefined
        }
      }
      return body !== undefined && filterOf(policy).matches(body)
    }
    const deliveries = this.listSubscriptions({ topicArn: topic.arn })
      .filter(wanted)
      .map((s) => ({
        id: `${p.idKey ?? messageId}:${s.arn}`,
        subscriptionArn: s.arn,
        topicArn: topic.arn,
        protocol: s.protocol,
        endpoint: s.endpoint,
        messageId,
        ...(p.subject !== undefined ? { subject: p.subject } : {}),
        message: s.attributes['RawMessageDelivery'] === 'true' ? p.message : envelope,
        origin: p.origin,
        createdAt: now.getTime(),
        attempts: 0,
        nextAttemptAt: now.getTime(),
      }))
    return { messageId, deliveries }
  }

  async publish(p: PublishInput): Promise<string> {
    const { messageId, deliveries } = this.deliveriesFor(p)
    await this.outbox.add(deliveries)
    return messageId
  }

  /** Notifier: an alarm state change goes to every topic among the alarm's actions. */
  async alarmChanged(n: AlarmNotification): Promise<void> {
    const message = JSON.stringify({
      AlarmName: n.alarmName,
      AlarmArn: n.alarmArn,
      AWSAccountId: n.accountId,
      Region: n.region,
      NewStateValue: n.newState,
      OldStateValue: n.oldState,
      NewStateReason: n.reason,
      StateChangeTime: n.timestamp,
    })
    const subject = `${n.newState}: "${n.alarmName}" in ${n.region}`
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 100)
    const all: Delivery[] = []
    for (const arn of new Set(n.actions)) {
      if (!parseTopicArn(arn) || !this.topic(arn)) continue // not a topic of ours: nothing to send
      const key = `alarm:${n.alarmArn}:${n.timestamp}:${n.newState}:${arn}`
      all.push(
        ...this.deliveriesFor({
          topicArn: arn,
          message,
          subject,
          origin: `alarm:${n.alarmName}`,
          messageId: stableId(key),
          idKey: key,
        }).deliveries,
      )
    }
    await this.outbox.add(all)
  }
}

/** SNS's default scope is MessageAttributes; OpenTrail filters message bodies only. */
function needBodyScope(attrs: Record<string, string>): void {
  if (attrs['FilterPolicyScope'] !== 'MessageBody') {
    throw InvalidParameter(
      'Invalid parameter: FilterPolicy needs FilterPolicyScope MessageBody (message attributes are not kept)',
    )
  }
}

const filters = new Map<string, CompiledPattern>()
/** A subscription's FilterPolicy (MessageBody scope), compiled once. */
function filterOf(policy: string): CompiledPattern {
  let f = filters.get(policy)
  if (!f) filters.set(policy, (f = compilePattern(policy)))
  return f
}

function checkEndpoint(protocol: Protocol, endpoint: string): void {
  const bad = () =>
    InvalidParameter(`Invalid parameter: Endpoint must match the ${protocol} protocol`)
  if (protocol === 'email' || protocol === 'email-json') {
    if (!/^[^@\s]+@[^@\s]+$/.test(endpoint)) throw bad()
    return
  }
  let u: URL
  try {
    u = new URL(endpoint)
  } catch {
    throw bad()
  }
  if (protocol === 'http' && u.protocol !== 'http:') throw bad()
  if (protocol === 'https' && u.protocol !== 'https:') throw bad()
  if (protocol === 'slack' && u.protocol !== 'https:' && u.protocol !== 'http:') throw bad()
}

function checkSubscriptionAttribute(name: string, value: string): void {
  if (name === 'RawMessageDelivery') {
    if (value !== 'true' && value !== 'false')
      throw InvalidParameter('Invalid parameter: RawMessageDelivery')
    return
  }
  if (name === 'FilterPolicyScope') {
    if (value !== 'MessageBody') {
      throw InvalidParameter(
        'Invalid parameter: FilterPolicyScope: OpenTrail filters on the MessageBody only',
      )
    }
    return
  }
  if (name === 'FilterPolicy') {
    try {
      compilePattern(value)
    } catch (e) {
      throw InvalidParameter(`Invalid parameter: FilterPolicy: ${(e as Error).message}`)
    }
    return
  }
  if (name === 'DeliveryPolicy' || name === 'RedrivePolicy') {
    throw InvalidParameter(
      `Invalid parameter: ${name} is not supported; retries and dead letters follow the notifications settings`,
    )
  }
  throw InvalidParameter(`Invalid parameter: AttributeName ${name}`)
}

function defaultPolicy(t: Topic): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['SNS:Publish', 'SNS:Subscribe', 'SNS:GetTopicAttributes'],
        Resource: t.arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': t.accountId } },
      },
    ],
  })
}
