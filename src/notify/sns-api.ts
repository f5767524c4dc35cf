/**
 * @module notify/sns-api
 * The SNS API (query protocol, 2010-03-31) over NotifyService: topics, subscriptions, attributes,
 * Publish; plus OpenTrail's own operations on undelivered notifications (dead letters):
 * ListUndeliveredNotifications, RedriveUndeliveredNotifications, DeleteUndeliveredNotifications.
 */
import type { ServiceBinding } from '../http/api.js'
import { loadModel, type ServiceModel } from '../protocol/model.js'
import type { Input, OperationTable, RequestContext } from '../protocol/operation.js'
import { InvalidNextTokenException } from '../shared/errors.js'
import { decodeQuery, encodeQueryError, encodeQueryResponse } from './query-protocol.js'
import { InvalidParameter, NotFound, type NotifyService, type Subscription } from './service.js'

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/'
const PAGE = 100

/** The botocore SNS model plus OpenTrail's dead-letter operations. */
export function snsModel(): ServiceModel {
  const model = loadModel(new URL('./models/sns-2010-03-31.json', import.meta.url))
  const ops = model.operations as Record<string, unknown>
  const shapes = model.shapes as Record<string, unknown>
  shapes['OtString'] = { type: 'string' }
  shapes['OtInteger'] = { type: 'integer' }
  shapes['OtIdList'] = { type: 'list', member: { shape: 'OtString' } }
  shapes['OtUndelivered'] = {
    type: 'structure',
    members: {
      ...Object.fromEntries(
        [
          'Id',
          'SubscriptionArn',
          'TopicArn',
          'Protocol',
          'Endpoint',
          'Origin',
          'MessageId',
          'Subject',
          'Message',
          'LastError',
          'CreatedAt',
          'DeadAt',
        ].map((k) => [k, { shape: 'OtString' }]),
      ),
      Attempts: { shape: 'OtInteger' },
    },
  }
  shapes['OtUndeliveredList'] = { type: 'list', member: { shape: 'OtUndelivered' } }
  shapes['ListUndeliveredNotificationsInput'] = {
    type: 'structure',
    members: { TopicArn: { shape: 'OtString' }, SubscriptionArn: { shape: 'OtString' } },
  }
  shapes['ListUndeliveredNotificationsResponse'] = {
    type: 'structure',
    members: { Notifications: { shape: 'OtUndeliveredList' } },
  }
  shapes['UndeliveredIdsInput'] = { type: 'structure', members: { Ids: { shape: 'OtIdList' } } }
  shapes['RedriveUndeliveredNotificationsResponse'] = {
    type: 'structure',
    members: { Redriven: { shape: 'OtInteger' } },
  }
  shapes['DeleteUndeliveredNotificationsResponse'] = {
    type: 'structure',
    members: { Deleted: { shape: 'OtInteger' } },
  }
  const op = (name: string, input: string, output: string) => {
    ops[name] = {
      name,
      input: { shape: input },
      output: { shape: output, resultWrapper: `${name}Result` },
    }
  }
  op(
    'ListUndeliveredNotifications',
    'ListUndeliveredNotificationsInput',
    'ListUndeliveredNotificationsResponse',
  )
  op(
    'RedriveUndeliveredNotifications',
    'UndeliveredIdsInput',
    'RedriveUndeliveredNotificationsResponse',
  )
  op(
    'DeleteUndeliveredNotifications',
    'UndeliveredIdsInput',
    'DeleteUndeliveredNotificationsResponse',
  )
  return model
}

export function snsBinding(service: NotifyService): ServiceBinding {
  const model = snsModel()
  return {
    eventSource: 'sns.amazonaws.com',
    iamPrefix: 'sns',
    signingName: 'sns',
    targetPrefixes: [],
    model,
    operations: snsOperations(service),
    query: {
      decode: (body) => decodeQuery(model, body),
      encode: (operation, response, requestId) =>
        encodeQueryResponse(model, operation, response, requestId, XMLNS),
      encodeError: (code, message, status, requestId) =>
        encodeQueryError(code, message, status, requestId, XMLNS),
    },
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function page<T>(items: T[], token: unknown): { items: T[]; next?: string } {
  let start = 0
  if (token !== undefined) {
    start = Number(
      Buffer.from(typeof token === 'string' ? token : '', 'base64url').toString('utf8'),
    )
    if (!Number.isInteger(start) || start < 0 || start > items.length) {
      throw InvalidNextTokenException('Invalid parameter: NextToken')
    }
  }
  const slice = items.slice(start, start + PAGE)
  const end = start + slice.length
  return {
    items: slice,
    ...(end < items.length ? { next: Buffer.from(String(end)).toString('base64url') } : {}),
  }
}

function subscriptionRow(s: Subscription) {
  return {
    SubscriptionArn: s.arn,
    Owner: s.owner,
    Protocol: s.protocol,
    Endpoint: s.endpoint,
    TopicArn: s.topicArn,
  }
}

export function snsOperations(svc: NotifyService): OperationTable {
  const topicResource = (i: Input) => str(i['TopicArn']) ?? '*'
  const ownTopic = (arn: string, ctx: RequestContext) => {
    const t = svc.requireTopic(arn)
    if (t.accountId !== ctx.accountId) throw NotFound('Topic does not exist')
    return t
  }
  const ownSubscription = (arn: string, ctx: RequestContext) => {
    const s = svc.subscription(arn)
    if (!s || svc.topic(s.topicArn)?.accountId !== ctx.accountId) {
      throw NotFound('Subscription does not exist')
    }
    return s
  }
  return {
    CreateTopic: {
      readOnly: false,
      resource: (i, ctx) => `arn:aws:sns:${ctx.region}:${ctx.accountId}:${String(i['Name'])}`,
      async handle(i, ctx) {
        const attributes = (i['Attributes'] as Record<string, string> | undefined) ?? {}
        for (const k of Object.keys(attributes)) {
          if (
            ![
              'DisplayName',
              'Policy',
              'DeliveryPolicy',
              'KmsMasterKeyId',
              'TracingConfig',
            ].includes(k)
          ) {
            throw InvalidParameter(`Invalid parameter: Attributes Reason: Unknown attribute ${k}`)
          }
        }
        const t = await svc.createTopic({
          accountId: ctx.accountId,
          region: ctx.region,
          name: String(i['Name']),
          attributes,
        })
        return { TopicArn: t.arn }
      },
    },
    DeleteTopic: {
      readOnly: false,
      resource: topicResource,
      async handle(i, ctx) {
        const arn = String(i['TopicArn'])
        const t = svc.topic(arn)
        if (t && t.accountId !== ctx.accountId) throw NotFound('Topic does not exist')
        await svc.deleteTopic(arn)
        return {}
      },
    },
    ListTopics: {
      readOnly: true,
      resource: () => '*',
      async handle(i, ctx) {
        const all = svc.listTopics(ctx.accountId, ctx.region).map((t) => ({ TopicArn: t.arn }))
        const p = page(all, i['NextToken'])
        return { Topics: p.items, ...(p.next ? { NextToken: p.next } : {}) }
      },
    },
    GetTopicAttributes: {
      readOnly: true,
      resource: topicResource,
      async handle(i, ctx) {
        return { Attributes: svc.topicAttributes(ownTopic(String(i['TopicArn']), ctx)) }
      },
    },
    SetTopicAttributes: {
      readOnly: false,
      resource: topicResource,
      async handle(i, ctx) {
        ownTopic(String(i['TopicArn']), ctx)
        await svc.setTopicAttribute(
          String(i['TopicArn']),
          String(i['AttributeName']),
          str(i['AttributeValue']) ?? '',
        )
        return {}
      },
    },
    Subscribe: {
      readOnly: false,
      resource: topicResource,
      async handle(i, ctx) {
        ownTopic(String(i['TopicArn']), ctx)
        const s = await svc.subscribe({
          topicArn: String(i['TopicArn']),
          protocol: String(i['Protocol']),
          endpoint: str(i['Endpoint']),
          owner: ctx.accountId,
          attributes: (i['Attributes'] as Record<string, string> | undefined) ?? {},
        })
        return { SubscriptionArn: s.arn }
      },
    },
    ConfirmSubscription: {
      readOnly: false,
      resource: topicResource,
      async handle(i, ctx) {
        // Subscriptions are confirmed when made; a confirmation names an existing one.
        ownTopic(String(i['TopicArn']), ctx)
        const s = svc.listSubscriptions({ topicArn: String(i['TopicArn']) })[0]
        if (!s) throw NotFound('Subscription does not exist')
        return { SubscriptionArn: s.arn }
      },
    },
    Unsubscribe: {
      readOnly: false,
      resource: (i) => String(i['SubscriptionArn']).replace(/:[^:]+$/, ''),
      async handle(i, ctx) {
        ownSubscription(String(i['SubscriptionArn']), ctx)
        await svc.unsubscribe(String(i['SubscriptionArn']))
        return {}
      },
    },
    ListSubscriptions: {
      readOnly: true,
      resource: () => '*',
      async handle(i, ctx) {
        const p = page(
          svc.listSubscriptions({ accountId: ctx.accountId }).map(subscriptionRow),
          i['NextToken'],
        )
        return { Subscriptions: p.items, ...(p.next ? { NextToken: p.next } : {}) }
      },
    },
    ListSubscriptionsByTopic: {
      readOnly: true,
      resource: topicResource,
      async handle(i, ctx) {
        ownTopic(String(i['TopicArn']), ctx)
        const p = page(
          svc.listSubscriptions({ topicArn: String(i['TopicArn']) }).map(subscriptionRow),
          i['NextToken'],
        )
        return { Subscriptions: p.items, ...(p.next ? { NextToken: p.next } : {}) }
      },
    },
    GetSubscriptionAttributes: {
      readOnly: true,
      resource: (i) => String(i['SubscriptionArn']).replace(/:[^:]+$/, ''),
      async handle(i, ctx) {
        return {
          Attributes: svc.subscriptionAttributes(
            ownSubscription(String(i['SubscriptionArn']), ctx),
          ),
        }
      },
    },
    SetSubscriptionAttributes: {
      readOnly: false,
      resource: (i) => String(i['SubscriptionArn']).replace(/:[^:]+$/, ''),
      async handle(i, ctx) {
        ownSubscription(String(i['SubscriptionArn']), ctx)
        await svc.setSubscriptionAttribute(
          String(i['SubscriptionArn']),
          String(i['AttributeName']),
          str(i['AttributeValue']) ?? '',
        )
        return {}
      },
    },
    Publish: {
      readOnly: false,
      resource: (i) => str(i['TopicArn']) ?? str(i['TargetArn']) ?? '*',
      logResponse: true,
      async handle(i, ctx) {
        const arn = str(i['TopicArn']) ?? str(i['TargetArn'])
        if (!arn)
          throw InvalidParameter(
            'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
          )
        if (i['PhoneNumber'] !== undefined)
          throw InvalidParameter('Invalid parameter: PhoneNumber (SMS is not supported)')
        ownTopic(arn, ctx)
        let message = String(i['Message'])
        if (i['MessageStructure'] === 'json') {
          let parsed: unknown
          try {
            parsed = JSON.parse(message)
          } catch {
            throw InvalidParameter(
              'Invalid parameter: Message Structure - JSON message body failed to parse',
            )
          }
          const def = (parsed as Record<string, unknown> | null)?.['default']
          if (typeof def !== 'string') {
            throw InvalidParameter(
              'Invalid parameter: Message Structure - No default entry in JSON message body',
            )
          }
          message = def
        }
        const messageId = await svc.publish({
          topicArn: arn,
          message,
          subject: str(i['Subject']),
          origin: 'publish',
        })
        return { MessageId: messageId }
      },
    },
    ListUndeliveredNotifications: {
      readOnly: true,
      resource: topicResource,
      async handle(i, ctx) {
        const topics = new Set(svc.listTopics(ctx.accountId).map((t) => t.arn))
        const list = svc.outbox
          .deadLetters({
            topicArn: str(i['TopicArn']),
            subscriptionArn: str(i['SubscriptionArn']),
          })
          .filter((d) => d.topicArn === undefined || topics.has(d.topicArn))
        return {
          Notifications: list.map((d) => ({
            Id: d.id,
            SubscriptionArn: d.subscriptionArn,
            TopicArn: d.topicArn,
            Protocol: d.protocol,
            Endpoint: d.endpoint,
            Origin: d.origin,
            MessageId: d.messageId,
            Subject: d.subject,
            Message: d.message,
            LastError: d.lastError,
            Attempts: d.attempts,
            CreatedAt: new Date(d.createdAt).toISOString(),
            DeadAt: d.deadAt ? new Date(d.deadAt).toISOString() : undefined,
          })),
        }
      },
    },
    RedriveUndeliveredNotifications: {
      readOnly: false,
      resource: () => '*',
      async handle(i, ctx) {
        const n = await svc.outbox.redrive(ctx.now.getTime(), ownIds(svc, ctx, i['Ids']))
        return { Redriven: n }
      },
    },
    DeleteUndeliveredNotifications: {
      readOnly: false,
      resource: () => '*',
      async handle(i, ctx) {
        return { Deleted: await svc.outbox.purgeDead(ownIds(svc, ctx, i['Ids'])) }
      },
    },
  }
}

/** The dead letters the caller's account owns, restricted to `ids` when given. */
function ownIds(svc: NotifyService, ctx: RequestContext, ids: unknown): string[] {
  const topics = new Set(svc.listTopics(ctx.accountId).map((t) => t.arn))
  const own = svc.outbox
    .deadLetters()
    .filter((d) => d.topicArn === undefined || topics.has(d.topicArn))
    .map((d) => d.id)
  if (!Array.isArray(ids)) return own
  const wanted = new Set(ids as string[])
  return own.filter((id) => wanted.has(id))
}
