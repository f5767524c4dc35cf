/**
 * Create or edit an EventBridge rule: name, description, event pattern, state, and the topics it
 * targets (PutRule, then PutTargets / RemoveTargets), with "test pattern" (TestEventPattern)
 * against a sample event: typed, or a recent event from Event history in EventBridge's envelope.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, EVENTS } from '../api'
import { listTopics, topicName } from '../sns'
import { errorText } from '../util'
import { envelopeOf } from '../../../src/rules/envelope'
import type { CloudTrailRecord } from '../../../src/events/record'

export interface Rule {
  Name: string
  Arn: string
  EventPattern?: string
  State: string
  Description?: string
}
export interface Target {
  Id: string
  Arn: string
}

const SAMPLE_PATTERN = JSON.stringify(
  {
    source: ['aws.cloudtrail'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventName: ['StopLogging', 'DeleteTrail'] },
  },
  null,
  2,
)

/** A target Id (≤ 64 of [.\-_A-Za-z0-9]) for a topic. */
const targetId = (arn: string) =>
  ('topic-' + topicName(arn)).replace(/[^.\-_A-Za-z0-9]/g, '_').slice(0, 64)

export function RuleForm(props: {
  rule?: Rule
  targets?: Target[]
  onSaved: (name: string) => void
  onCancel: () => void
}) {
  const r = props.rule
  const [name, setName] = useState(r?.Name ?? '')
  const [description, setDescription] = useState(r?.Description ?? '')
  const [pattern, setPattern] = useState(
    r?.EventPattern ? JSON.stringify(JSON.parse(r.EventPattern), null, 2) : SAMPLE_PATTERN,
  )
  const [enabled, setEnabled] = useState((r?.State ?? 'ENABLED') === 'ENABLED')
  const current = (props.targets ?? []).filter((t) => t.Arn.startsWith('arn:aws:sns:'))
  const [chosen, setChosen] = useState(current.map((t) => t.Arn))
  const [topics, setTopics] = useState<string[]>([])
  const [sample, setSample] = useState('')
  const [result, setResult] = useState<boolean | undefined>()
  const [error, setError] = useState('')
  const [testError, setTestError] = useState('')
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    listTopics()
      .then(setTopics)
      .catch((e: unknown) => setError(errorText(e)))
    void recentEvent().then((e) => setSample((s) => s || e))
  }, [])

  async function recentEvent(eventName?: string): Promise<string> {
    try {
      const r = await call<{ Events?: { CloudTrailEvent?: string }[] }>('LookupEvents', {
        MaxResults: 1,
        ...(eventName
          ? { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }] }
          : {}),
      })
      const text = r.Events?.[0]?.CloudTrailEvent
      if (!text) return ''
      return JSON.stringify(envelopeOf(JSON.parse(text) as CloudTrailRecord), null, 2)
    } catch {
      return ''
    }
  }

  async function test() {
    setTestError('')
    setResult(undefined)
    try {
      const r = await call<{ Result: boolean }>(
        'TestEventPattern',
        { EventPattern: pattern, Event: sample },
        EVENTS,
      )
      setResult(r.Result)
    } catch (err) {
      setTestError(errorText(err))
    }
  }

  async function save(e: Event) {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      await call(
        'PutRule',
        {
          Name: name,
          EventPattern: pattern,
          State: enabled ? 'ENABLED' : 'DISABLED',
          ...(description ? { Description: description } : {}),
        },
        EVENTS,
      )
      const drop = current.filter((t) => !chosen.includes(t.Arn)).map((t) => t.Id)
      if (drop.length) await call('RemoveTargets', { Rule: name, Ids: drop }, EVENTS)
      const add = chosen.filter((arn) => !current.some((t) => t.Arn === arn))
      if (add.length) {
        const out = await call<{
          FailedEntryCount: number
          FailedEntries?: { ErrorMessage?: string }[]
        }>(
          'PutTargets',
          { Rule: name, Targets: add.map((arn) => ({ Id: targetId(arn), Arn: arn })) },
          EVENTS,
        )
        if (out.FailedEntryCount > 0)
          throw new Error(
            out.FailedEntries?.map((f) => f.ErrorMessage).join('; ') ?? 'PutTargets failed',
          )
      }
      props.onSaved(name)
    } catch (err) {
      setError(errorText(err))
    }
    setBusy(false)
  }

  return (
    <form onSubmit={(e) => void save(e)} aria-label="Rule">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="form-grid">
        <label>
          Rule name
          <input
            required
            readOnly={Boolean(r)}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
      </div>
      <label class="check">
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => setEnabled(e.currentTarget.checked)}
        />
        Enabled
      </label>
      <label for="rule-pattern">Event pattern (JSON)</label>
      <textarea
        id="rule-pattern"
        rows={8}
        spellcheck={false}
        value={pattern}
        onInput={(e) => {
          setPattern(e.currentTarget.value)
          setTestError('')
          setResult(undefined)
        }}
      />
      <fieldset>
        <legend>Targets: notify topics</legend>
        {topics.length === 0 && <p class="muted">No topics. Create one under Topics.</p>}
        {topics.map((arn) => (
          <label class="check" key={arn}>
            <input
              type="checkbox"
              checked={chosen.includes(arn)}
              onChange={(e) =>
                setChosen(
                  e.currentTarget.checked ? [...chosen, arn] : chosen.filter((a) => a !== arn),
                )
              }
            />
            {topicName(arn)}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Test pattern</legend>
        <label for="rule-sample">Sample event (EventBridge envelope, JSON)</label>
        <textarea
          id="rule-sample"
          rows={10}
          spellcheck={false}
          value={sample}
          onInput={(e) => setSample(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="button" onClick={() => void recentEvent().then((s) => s && setSample(s))}>
            Use the latest event
          </button>
          <button type="button" onClick={() => void test()}>
            Test pattern
          </button>
        </div>
        {testError && (
          <p class="error" role="alert">
            {testError}
          </p>
        )}
        {result !== undefined && (
          <p role="status" class={result ? 'match-yes' : 'match-no'}>
            {result
              ? 'The pattern matches the sample event.'
              : 'The pattern does not match the sample event.'}
          </p>
        )}
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Save rule
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
