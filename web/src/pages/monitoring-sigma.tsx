/**
 * The Sigma pack: the event rules imported from Sigma (named `sigma-…`, as `opentrail packs
 * import-sigma` names them) with enable/disable, and the import of one rule pasted as YAML,
 * converted in the browser by the server's own converter (src/packs/sigma.ts, loaded on demand):
 * what an event pattern cannot express is reported and nothing is created.
 */
import { useEffect, useState } from 'preact/hooks'
import { call, EVENTS } from '../api'
import { errorText } from '../util'
import type { SigmaConversion } from '../../../src/packs/sigma'
import { listRules } from './monitoring-rules'
import { alertTopic, TopicPicker } from '../components/topic-picker'

const EXAMPLE = `title: CloudTrail logging stopped
id: 4d2c3f7e-0000-4000-8000-000000000001
status: experimental
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
      - StopLogging
      - DeleteTrail
  condition: selection
level: high
`

interface Row {
  Name: string
  State: string
  Description?: string
}

export function SigmaPack() {
  const [rules, setRules] = useState<Row[] | undefined>()
  const [yaml, setYaml] = useState(EXAMPLE)
  const [file, setFile] = useState('cloudtrail-logging-stopped.yml')
  const [conversion, setConversion] = useState<SigmaConversion | undefined>()
  const [topic, setTopic] = useState('')
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')

  function load() {
    listRules('sigma-')
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

  async function convert() {
    const { convertSigma } = await import('../../../src/packs/sigma')
    setConversion(convertSigma(yaml, file))
  }

  async function create() {
    const c = conversion
    if (!c?.pattern) return
    const { sigmaRuleName } = await import('../../../src/packs/sigma')
    const name = sigmaRuleName(file)
    await run(async () => {
      const topicArn = await alertTopic(topic)
      await call(
        'PutRule',
        { Name: name, EventPattern: c.pattern, Description: `Sigma: ${c.title}`.slice(0, 512) },
        EVENTS,
      )
      await call('PutTargets', { Rule: name, Targets: [{ Id: 'alerts', Arn: topicArn }] }, EVENTS)
    }, `Rule ${name} created from the Sigma rule.`)
  }

  return (
    <section class="panel" aria-labelledby="sigma-title">
      <header>
        <h2 id="sigma-title">Sigma rules</h2>
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
        <p class="muted">
          No Sigma rules imported (<code>opentrail packs import-sigma DIR</code>, or one below).
        </p>
      ) : (
        <table class="grid" aria-label="Sigma rules">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Title</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.Name}>
                <td>{r.Name}</td>
                <td>{r.Description?.replace(/^Sigma: /, '')}</td>
                <td class={`state ${r.State}`}>{r.State}</td>
                <td>
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
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Import a Sigma rule</h3>
      <label>
        File name (names the rule)
        <input value={file} onInput={(e) => setFile(e.currentTarget.value)} />
      </label>
      <label for="sigma-yaml">Sigma rule (YAML)</label>
      <textarea
        id="sigma-yaml"
        rows={12}
        spellcheck={false}
        value={yaml}
        onInput={(e) => {
          setYaml(e.currentTarget.value)
          setConversion(undefined)
        }}
      />
      <div class="actions">
        <button type="button" onClick={() => void convert()}>
          Convert
        </button>
      </div>
      {conversion && (
        <div role="region" aria-label="Sigma conversion">
          {conversion.pattern ? (
            <>
              <p role="status" class="match-yes">
                {conversion.title}: converts to an event pattern.
              </p>
              <pre class="pattern">{JSON.stringify(JSON.parse(conversion.pattern), null, 2)}</pre>
              <div class="actions">
                <TopicPicker label="Alert topic" value={topic} onChange={setTopic} />
                <button type="button" class="primary" onClick={() => void create()}>
                  Create rule
                </button>
              </div>
            </>
          ) : (
            <>
              <p role="status" class="match-no">
                {conversion.title}: cannot be an event pattern.
              </p>
              <ul>
                {conversion.unsupported.map((u) => (
                  <li>{u}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </section>
  )
}
