/**
 * Topics and subscriptions over SNS's query API: list, create and delete topics; per topic its
 * subscriptions (webhook, Slack incoming webhook, email) with their pending and undelivered counts,
 * subscribe and unsubscribe; and the topic's dead letters (OpenTrail's ListUndelivered-
 * Notifications) with redrive and delete.
 */
import { useEffect, useState } from 'preact/hooks'
import { ConfirmButton } from '../components/confirm-button'
import * as sns from '../sns'
import { errorText, fmtTime } from '../util'

const PROTOCOLS = [
  { v: 'https', label: 'Webhook (https)' },
  { v: 'http', label: 'Webhook (http)' },
  { v: 'slack', label: 'Slack incoming webhook' },
  { v: 'email', label: 'Email' },
  { v: 'email-json', label: 'Email (JSON)' },
]

interface TopicRow {
  arn: string
  attributes: Record<string, string>
}

export function TopicsPage() {
  const [topics, setTopics] = useState<TopicRow[] | undefined>()
  const [selected, setSelected] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState('')

  async function load() {
    try {
      const arns = await sns.listTopics()
      setTopics(
        await Promise.all(
          arns.map(async (arn) => ({ arn, attributes: await sns.topicAttributes(arn) })),
        ),
      )
    } catch (err) {
      setError(errorText(err))
    }
  }
  useEffect(() => void load(), [])

  async function create(e: Event) {
    e.preventDefault()
    setError('')
    try {
      const arn = await sns.createTopic(name.trim())
      setName('')
      await load()
      setSelected(arn)
    } catch (err) {
      setError(errorText(err))
    }
  }

  async function remove(arn: string) {
    setError('')
    try {
      await sns.deleteTopic(arn)
      if (selected === arn) setSelected('')
      await load()
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <>
      <section class="panel" aria-labelledby="topics-title">
        <header>
          <h2 id="topics-title">Topics</h2>
        </header>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <form class="actions" onSubmit={(e) => void create(e)}>
          <label>
            New topic name
            <input
              required
              pattern="[A-Za-z0-9_\-]{1,256}"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="primary">
            Create topic
          </button>
        </form>
        {!topics ? (
          <p>Loading…</p>
        ) : topics.length === 0 ? (
          <p class="muted">No topics.</p>
        ) : (
          <table class="grid" aria-label="Topics">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Subscriptions</th>
                <th scope="col">Undelivered</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {topics.map((t) => {
                const n = sns.topicName(t.arn)
                return (
                  <tr key={t.arn} aria-selected={t.arn === selected}>
                    <td title={t.arn}>{n}</td>
                    <td>{t.attributes['SubscriptionsConfirmed'] ?? '0'}</td>
                    <td class={Number(t.attributes['UndeliveredNotifications']) > 0 ? 'bad' : ''}>
                      {t.attributes['UndeliveredNotifications'] ?? '0'}
                    </td>
                    <td>
                      <div class="actions">
                        <button
                          type="button"
                          aria-label={`Open ${n}`}
                          onClick={() => setSelected(t.arn)}
                        >
                          Subscriptions
                        </button>
                        <ConfirmButton label={`Delete ${n}`} onConfirm={() => remove(t.arn)} />
                      </div>
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </section>
      {selected && <TopicDetail key={selected} arn={selected} onChanged={() => void load()} />}
    </>
  )
}

interface SubRow extends sns.Subscription {
  attributes: Record<string, string>
}

function TopicDetail({ arn, onChanged }: { arn: string; onChanged: () => void }) {
  const [subs, setSubs] = useState<SubRow[] | undefined>()
  const [dead, setDead] = useState<sns.Undelivered[]>([])
  const [protocol, setProtocol] = useState('https')
  const [endpoint, setEndpoint] = useState('')
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')
  const name = sns.topicName(arn)

  async function load() {
    try {
      const list = await sns.subscriptions(arn)
      setSubs(
        await Promise.all(
          list.map(async (s) => ({
            ...s,
            attributes: await sns.subscriptionAttributes(s.SubscriptionArn),
          })),
        ),
      )
      setDead(await sns.undelivered(arn))
    } catch (err) {
      setError(errorText(err))
    }
  }
  useEffect(() => void load(), [arn])

  async function run<T>(fn: () => Promise<T>, done: string | ((r: T) => string)) {
    setError('')
    try {
      const r = await fn()
      setNotice(typeof done === 'string' ? done : done(r))
      await load()
      onChanged()
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section class="panel" aria-labelledby="subs-title">
      <header>
        <h2 id="subs-title">Subscriptions of {name}</h2>
        <button type="button" onClick={() => void load()}>
          Refresh subscriptions
        </button>
      </header>
      <p class="muted">{arn}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form
        class="actions"
        onSubmit={(e) => {
          e.preventDefault()
          void run(() => sns.subscribe(arn, protocol, endpoint.trim()), 'Subscribed.').then(() =>
            setEndpoint(''),
          )
        }}
      >
        <label>
          Protocol
          <select value={protocol} onChange={(e) => setProtocol(e.currentTarget.value)}>
            {PROTOCOLS.map((p) => (
              <option value={p.v}>{p.label}</option>
            ))}
          </select>
        </label>
        <label>
          Endpoint
          <input
            required
            size={48}
            placeholder={
              protocol.startsWith('email') ? 'security@example.com' : 'https://hooks.example.com/…'
            }
            value={endpoint}
            onInput={(e) => setEndpoint(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          Subscribe
        </button>
      </form>
      {!subs ? (
        <p>Loading…</p>
      ) : subs.length === 0 ? (
        <p class="muted">No subscriptions.</p>
      ) : (
        <table class="grid" aria-label="Subscriptions">
          <thead>
            <tr>
              <th scope="col">Protocol</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Pending deliveries</th>
              <th scope="col">Undelivered</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {subs.map((s) => (
              <tr key={s.SubscriptionArn}>
                <td>{s.Protocol}</td>
                <td class="message">
                  {s.Endpoint}
                  {s.attributes['SigningSecret'] && (
                    <details>
                      <summary>Signing secret (X-OpenTrail-Signature HMAC key)</summary>
                      <code>{s.attributes['SigningSecret']}</code>
                    </details>
                  )}
                </td>
                <td>{s.attributes['PendingDeliveries'] ?? '-'}</td>
                <td>{s.attributes['UndeliveredNotifications'] ?? '-'}</td>
                <td>
                  <ConfirmButton
                    label={`Unsubscribe ${s.Endpoint}`}
                    confirmLabel="Confirm: unsubscribe"
                    onConfirm={() => run(() => sns.unsubscribe(s.SubscriptionArn), 'Unsubscribed.')}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Undelivered notifications (dead letters)</h3>
      {dead.length === 0 ? (
        <p class="muted">
          None: every notification of this topic was delivered or is still being retried.
        </p>
      ) : (
        <>
          <div class="actions">
            <button
              type="button"
              onClick={() =>
                void run(
                  () => sns.redrive(dead.map((d) => d.Id)),
                  (n) => `${n} redriven: due for delivery again.`,
                )
              }
            >
              Redrive all
            </button>
            <ConfirmButton
              label="Delete all undelivered"
              onConfirm={() =>
                run(
                  () => sns.purgeUndelivered(dead.map((d) => d.Id)),
                  (n) => `${n} deleted.`,
                )
              }
            />
          </div>
          <table class="grid" aria-label="Undelivered notifications">
            <thead>
              <tr>
                <th scope="col">Given up</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Origin</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {dead.map((d) => (
                <tr key={d.Id}>
                  <td>{fmtTime(d.DeadAt)}</td>
                  <td class="message">{d.Endpoint}</td>
                  <td>{d.Origin}</td>
                  <td>{d.Attempts}</td>
                  <td>{d.LastError}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
