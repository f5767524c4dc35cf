/**
 * The SNS operations the Monitoring pages use, over `callQuery` (the query protocol `aws sns`
 * speaks), with the XML answers read into plain objects.
 */
import { callQuery } from './api'

/** The direct child elements of `el` named `tag`. */
function children(el: Element, tag: string): Element[] {
  return [...el.children].filter((c) => c.localName === tag)
}

/** A `<member>` structure as a record of its fields' text. */
function record(el: Element): Record<string, string> {
  return Object.fromEntries([...el.children].map((c) => [c.localName, c.textContent ?? '']))
}

/** The `<member>`s of the list `name` in `result`. */
function members(result: Element, name: string): Record<string, string>[] {
  const list = children(result, name)[0]
  return list ? children(list, 'member').map(record) : []
}

/** A map (`<entry><key/><value/></entry>`) such as Attributes. */
function entries(result: Element, name: string): Record<string, string> {
  const map = children(result, name)[0]
  if (!map) return {}
  return Object.fromEntries(
    children(map, 'entry').map((e) => [
      children(e, 'key')[0]?.textContent ?? '',
      children(e, 'value')[0]?.textContent ?? '',
    ]),
  )
}

const text = (result: Element, name: string) => children(result, name)[0]?.textContent ?? ''

async function paged(
  action: string,
  list: string,
  params: Record<string, string> = {},
): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = []
  let token = ''
  do {
    const r = await callQuery(action, { ...params, ...(token ? { NextToken: token } : {}) })
    out.push(...members(r, list))
    token = text(r, 'NextToken')
  } while (token)
  return out
}

export interface Subscription {
  SubscriptionArn: string
  Protocol: string
  Endpoint: string
  TopicArn: string
}

export interface Undelivered {
  Id: string
  SubscriptionArn: string
  Protocol: string
  Endpoint: string
  Origin: string
  Subject: string
  LastError: string
  Attempts: string
  DeadAt: string
}

export const topicName = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1)

export async function listTopics(): Promise<string[]> {
  return (await paged('ListTopics', 'Topics')).map((t) => t['TopicArn'] ?? '')
}

export async function createTopic(name: string): Promise<string> {
  return text(await callQuery('CreateTopic', { Name: name }), 'TopicArn')
}

export async function deleteTopic(arn: string): Promise<void> {
  await callQuery('DeleteTopic', { TopicArn: arn })
}

export async function topicAttributes(arn: string): Promise<Record<string, string>> {
  return entries(await callQuery('GetTopicAttributes', { TopicArn: arn }), 'Attributes')
}

export async function subscriptions(topicArn: string): Promise<Subscription[]> {
  return (await paged('ListSubscriptionsByTopic', 'Subscriptions', {
    TopicArn: topicArn,
  })) as unknown as Subscription[]
}

export async function subscriptionAttributes(arn: string): Promise<Record<string, string>> {
  return entries(
    await callQuery('GetSubscriptionAttributes', { SubscriptionArn: arn }),
    'Attributes',
  )
}

export async function subscribe(topicArn: string, protocol: string, endpoint: string) {
  const r = await callQuery('Subscribe', {
    TopicArn: topicArn,
    Protocol: protocol,
    Endpoint: endpoint,
  })
  return text(r, 'SubscriptionArn')
}

export async function unsubscribe(arn: string): Promise<void> {
  await callQuery('Unsubscribe', { SubscriptionArn: arn })
}

/** Dead letters (OpenTrail's ListUndeliveredNotifications; decision 0015). */
export async function undelivered(topicArn: string): Promise<Undelivered[]> {
  const r = await callQuery('ListUndeliveredNotifications', { TopicArn: topicArn })
  return members(r, 'Notifications') as unknown as Undelivered[]
}

function idParams(ids: string[]): Record<string, string> {
  return Object.fromEntries(ids.map((id, i) => [`Ids.member.${i + 1}`, id]))
}

export async function redrive(ids: string[]): Promise<number> {
  return Number(text(await callQuery('RedriveUndeliveredNotifications', idParams(ids)), 'Redriven'))
}

export async function purgeUndelivered(ids: string[]): Promise<number> {
  return Number(text(await callQuery('DeleteUndeliveredNotifications', idParams(ids)), 'Deleted'))
}
