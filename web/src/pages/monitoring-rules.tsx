/**
 * EventBridge rules (ListRules, ListTargetsByRule): create and edit (components/rule-form.tsx),
 * enable and disable (EnableRule / DisableRule), delete (RemoveTargets, then DeleteRule, as AWS
 * requires a rule without targets).
 */
import { useEffect, useState } from 'preact/hooks'
import { call, EVENTS } from '../api'
import { ConfirmButton } from '../components/confirm-button'
import { RuleForm, type Rule, type Target } from '../components/rule-form'
import { topicName } from '../sns'
import { errorText } from '../util'

interface Row extends Rule {
  targets: Target[]
}

export async function listRules(prefix?: string): Promise<Row[]> {
  const rules: Rule[] = []
  let token: string | undefined
  do {
    const r = await call<{ Rules?: Rule[]; NextToken?: string }>(
      'ListRules',
      { ...(prefix ? { NamePrefix: prefix } : {}), ...(token ? { NextToken: token } : {}) },
      EVENTS,
    )
    rules.push(...(r.Rules ?? []))
    token = r.NextToken
  } while (token)
  return Promise.all(
    rules.map(async (r) => ({
      ...r,
      targets:
        (await call<{ Targets?: Target[] }>('ListTargetsByRule', { Rule: r.Name }, EVENTS))
          .Targets ?? [],
    })),
  )
}

export function RulesPage() {
  const [rules, setRules] = useState<Row[] | undefined>()
  const [editing, setEditing] = useState<Row | 'new' | undefined>()
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')

  function load() {
    listRules()
      .then(setRules)
      .catch((e: unknown) => setError(errorText(e)))
  }
  useEffect(load, [])

  async function run(fn: () => Promise<unknown>, done: string) {
    setError('')
    try {
      await fn()
      setNotice(done)
      load()
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <>
      {editing && (
        <section class="panel" aria-labelledby="rule-form-title">
          <header>
            <h2 id="rule-form-title">
              {editing === 'new' ? 'Create rule' : `Edit rule ${editing.Name}`}
            </h2>
          </header>
          <RuleForm
            key={editing === 'new' ? '' : editing.Name}
            {...(editing === 'new' ? {} : { rule: editing, targets: editing.targets })}
            onSaved={(n) => {
              setEditing(undefined)
              setNotice(`Rule ${n} saved.`)
              load()
            }}
            onCancel={() => setEditing(undefined)}
          />
        </section>
      )}
      <section class="panel" aria-labelledby="rules-title">
        <header>
          <h2 id="rules-title">Rules</h2>
          <button type="button" onClick={() => setEditing('new')}>
            Create rule
          </button>
        </header>
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
        {!rules ? (
          <p>Loading…</p>
        ) : rules.length === 0 ? (
          <p class="muted">No rules.</p>
        ) : (
          <table class="grid" aria-label="Rules">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Pattern</th>
                <th scope="col">Targets</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.Name}>
                  <td>
                    {r.Name}
                    {r.Description && <div class="muted">{r.Description}</div>}
                  </td>
                  <td class={`state ${r.State}`}>{r.State}</td>
                  <td>
                    <pre class="pattern">{r.EventPattern}</pre>
                  </td>
                  <td>
                    {r.targets
                      .map((t) => (t.Arn.startsWith('arn:aws:sns:') ? topicName(t.Arn) : t.Arn))
                      .join(', ') || '-'}
                  </td>
                  <td>
                    <div class="actions">
                      <button
                        type="button"
                        aria-label={`Edit ${r.Name}`}
                        onClick={() => setEditing(r)}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        aria-label={`${r.State === 'ENABLED' ? 'Disable' : 'Enable'} ${r.Name}`}
                        onClick={() =>
                          void run(
                            () =>
                              call(
                                r.State === 'ENABLED' ? 'DisableRule' : 'EnableRule',
                                { Name: r.Name },
                                EVENTS,
                              ),
                            `Rule ${r.Name} ${r.State === 'ENABLED' ? 'disabled' : 'enabled'}.`,
                          )
                        }
                      >
                        {r.State === 'ENABLED' ? 'Disable' : 'Enable'}
                      </button>
                      <ConfirmButton
                        label={`Delete ${r.Name}`}
                        onConfirm={() =>
                          run(async () => {
                            if (r.targets.length)
                              await call(
                                'RemoveTargets',
                                { Rule: r.Name, Ids: r.targets.map((t) => t.Id) },
                                EVENTS,
                              )
                            await call('DeleteRule', { Name: r.Name }, EVENTS)
                          }, `Rule ${r.Name} deleted.`)
                        }
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  )
}
