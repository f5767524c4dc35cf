/**
 * Create trail, in AWS's three steps: 1. Choose trail attributes (name, bucket, prefix, SSE-KMS,
 * log file validation, SNS, CloudWatch Logs, tags); 2. Choose log events (management, data and
 * Insights events; basic or advanced selectors); 3. Review and create. Creating also makes the
 * new bucket (if chosen), applies the selectors and starts logging, as the AWS console does.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { call, createBucket, listBuckets, type Identity } from '../api'
import { navigate } from '../router'
import { LogEventsForm } from '../components/log-events-form'
import { TagsEditor, type Tag } from '../components/tags-editor'
import {
  DEFAULT_LOG_EVENTS,
  eventSelectorsInput,
  insightSelectors,
  type LogEventSettings,
} from '../selectors'
import { logGroupArn } from '../trails-model'
import { errorText } from '../util'

const STEPS = ['Choose trail attributes', 'Choose log events', 'Review and create']

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(4))
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
}

export function TrailWizard({ identity }: { identity: Identity }) {
  const [step, setStep] = useState(0)
  const [name, setName] = useState('')
  const [newBucket, setNewBucket] = useState(true)
  const [bucket, setBucket] = useState(
    `aws-cloudtrail-logs-${identity.accountId}-${randomSuffix()}`,
  )
  const [buckets, setBuckets] = useState<string[]>([])
  const [prefix, setPrefix] = useState('')
  const [kms, setKms] = useState(false)
  const [kmsAlias, setKmsAlias] = useState('')
  const [validation, setValidation] = useState(true)
  const [sns, setSns] = useState(false)
  const [snsTopic, setSnsTopic] = useState('')
  const [cwl, setCwl] = useState(false)
  const [logGroup, setLogGroup] = useState('')
  const [role, setRole] = useState('')
  const [tags, setTags] = useState<Tag[]>([])
  const [events, setEvents] = useState<LogEventSettings>(DEFAULT_LOG_EVENTS)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState('')
  const heading = useRef<HTMLHeadingElement>(null)

  useEffect(() => {
    listBuckets()
      .then(setBuckets)
      .catch(() => setBuckets([]))
  }, [])
  useEffect(() => {
    heading.current?.focus()
  }, [step])
  useEffect(() => {
    if (name) {
      if (!logGroup || logGroup.startsWith('aws-cloudtrail-logs-'))
        setLogGroup(`aws-cloudtrail-logs-${identity.accountId}-${name}`)
      if (!role) setRole(`CloudTrailRoleForCloudWatchLogs_${name}`)
      if (!kmsAlias) setKmsAlias(`alias/${name}-key`)
    }
  }, [name])

  function check(): string {
    if (step === 0) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/.test(name))
        return 'Trail name: 3–128 letters, digits, periods, underscores or hyphens, starting with a letter or digit.'
      if (!bucket) return 'Choose an S3 bucket.'
      if (sns && !snsTopic) return 'Name the SNS topic, or turn SNS notification delivery off.'
      if (cwl && (!logGroup || !role)) return 'Name the log group and the IAM role.'
    }
    if (step === 1 && events.advanced) {
      try {
        JSON.parse(events.advancedJson || '[]')
      } catch (e) {
        return `Advanced event selectors: ${errorText(e)}`
      }
    }
    return ''
  }

  function next() {
    const problem = check()
    setError(problem)
    if (!problem) setStep(step + 1)
  }

  async function create() {
    setError('')
    try {
      if (newBucket) {
        setBusy('Creating the bucket…')
        await createBucket(bucket)
      }
      setBusy('Creating the trail…')
      const created = await call<{ TrailARN: string }>('CreateTrail', {
        Name: name,
        S3BucketName: bucket,
        ...(prefix ? { S3KeyPrefix: prefix } : {}),
        ...(kms ? { KmsKeyId: kmsAlias } : {}),
        EnableLogFileValidation: validation,
        ...(sns ? { SnsTopicName: snsTopic } : {}),
        ...(cwl
          ? {
              CloudWatchLogsLogGroupArn: logGroupArn(identity.region, identity.accountId, logGroup),
              CloudWatchLogsRoleArn: `arn:aws:iam::${identity.accountId}:role/${role}`,
            }
          : {}),
        IsMultiRegionTrail: true,
        IncludeGlobalServiceEvents: true,
        ...(tags.length ? { TagsList: tags.filter((t) => t.Key) } : {}),
      })
      setBusy('Applying the event selectors…')
      await call('PutEventSelectors', eventSelectorsInput(created.TrailARN, events))
      const insights = insightSelectors(events)
      if (insights.length)
        await call('PutInsightSelectors', {
          TrailName: created.TrailARN,
          InsightSelectors: insights,
        })
      setBusy('Starting logging…')
      await call('StartLogging', { Name: created.TrailARN })
      navigate(`trails/${encodeURIComponent(name)}`)
    } catch (e) {
      setError(errorText(e))
      setBusy('')
    }
  }

  return (
    <section aria-labelledby="wizard-title">
      <p class="crumbs">
        Trails › <span>Create trail</span>
      </p>
      <ol class="steps" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li
            class={i === step ? 'on' : i < step ? 'done' : ''}
            aria-current={i === step ? 'step' : undefined}
          >
            Step {i + 1}: {s}
          </li>
        ))}
      </ol>
      <h1 id="wizard-title" ref={heading} tabIndex={-1}>
        {STEPS[step]}
      </h1>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (step < 2) next()
          else void create()
        }}
      >
        {step === 0 && (
          <>
            <fieldset>
              <legend>General details</legend>
              <label for="trail-name">Trail name</label>
              <input
                id="trail-name"
                required
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
                aria-describedby="trail-name-hint"
              />
              <p class="hint" id="trail-name-hint">
                3–128 characters: letters, digits, periods, underscores and hyphens.
              </p>
            </fieldset>
            <fieldset>
              <legend>Storage location</legend>
              <label class="check">
                <input
                  type="radio"
                  name="bucket-kind"
                  checked={newBucket}
                  onChange={() => setNewBucket(true)}
                />
                Create new S3 bucket
              </label>
              <label class="check">
                <input
                  type="radio"
                  name="bucket-kind"
                  checked={!newBucket}
                  onChange={() => {
                    setNewBucket(false)
                    if (buckets[0]) setBucket(buckets[0])
                  }}
                />
                Use existing S3 bucket
              </label>
              <label for="bucket">{newBucket ? 'Trail log bucket name' : 'Existing bucket'}</label>
              {newBucket || buckets.length === 0 ? (
                <input
                  id="bucket"
                  required
                  value={bucket}
                  onInput={(e) => setBucket(e.currentTarget.value)}
                />
              ) : (
                <select
                  id="bucket"
                  value={bucket}
                  onChange={(e) => setBucket(e.currentTarget.value)}
                >
                  {buckets.map((b) => (
                    <option value={b}>{b}</option>
                  ))}
                </select>
              )}
              <label for="prefix">Log file prefix (optional)</label>
              <input id="prefix" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
              <p class="hint">
                Logs go to {bucket}/{prefix ? `${prefix}/` : ''}AWSLogs/{identity.accountId}
                /CloudTrail/…
              </p>
            </fieldset>
            <fieldset>
              <legend>Log file SSE-KMS encryption</legend>
              <label class="check">
                <input
                  type="checkbox"
                  checked={kms}
                  onChange={(e) => setKms(e.currentTarget.checked)}
                />
                Enabled
              </label>
              {kms && (
                <>
                  <label for="kms">KMS key (alias, key ID or ARN)</label>
                  <input
                    id="kms"
                    value={kmsAlias}
                    onInput={(e) => setKmsAlias(e.currentTarget.value)}
                  />
                </>
              )}
            </fieldset>
            <fieldset>
              <legend>Log file validation</legend>
              <label class="check">
                <input
                  type="checkbox"
                  checked={validation}
                  onChange={(e) => setValidation(e.currentTarget.checked)}
                />
                Enabled (hourly signed digest files)
              </label>
            </fieldset>
            <fieldset>
              <legend>SNS notification delivery</legend>
              <label class="check">
                <input
                  type="checkbox"
                  checked={sns}
                  onChange={(e) => setSns(e.currentTarget.checked)}
                />
                Enabled
              </label>
              {sns && (
                <>
                  <label for="sns">SNS topic</label>
                  <input
                    id="sns"
                    value={snsTopic}
                    onInput={(e) => setSnsTopic(e.currentTarget.value)}
                  />
                </>
              )}
            </fieldset>
            <fieldset>
              <legend>CloudWatch Logs</legend>
              <label class="check">
                <input
                  type="checkbox"
                  checked={cwl}
                  onChange={(e) => setCwl(e.currentTarget.checked)}
                />
                Enabled
              </label>
              {cwl && (
                <>
                  <label for="log-group">Log group name</label>
                  <input
                    id="log-group"
                    value={logGroup}
                    onInput={(e) => setLogGroup(e.currentTarget.value)}
                  />
                  <label for="role">IAM role name</label>
                  <input id="role" value={role} onInput={(e) => setRole(e.currentTarget.value)} />
                </>
              )}
            </fieldset>
            <TagsEditor tags={tags} onChange={setTags} />
          </>
        )}
        {step === 1 && <LogEventsForm value={events} onChange={setEvents} />}
        {step === 2 && (
          <div class="review">
            <h2>Step 1: Trail attributes</h2>
            <dl class="summary">
              <dt>Trail name</dt>
              <dd>{name}</dd>
              <dt>S3 bucket</dt>
              <dd>
                {bucket} {newBucket ? '(new)' : '(existing)'}
              </dd>
              <dt>Log file prefix</dt>
              <dd>{prefix || '-'}</dd>
              <dt>SSE-KMS encryption</dt>
              <dd>{kms ? kmsAlias : 'Disabled'}</dd>
              <dt>Log file validation</dt>
              <dd>{validation ? 'Enabled' : 'Disabled'}</dd>
              <dt>SNS notification delivery</dt>
              <dd>{sns ? snsTopic : 'Disabled'}</dd>
              <dt>CloudWatch Logs</dt>
              <dd>{cwl ? `${logGroup} (role ${role})` : 'Disabled'}</dd>
              <dt>Tags</dt>
              <dd>
                {tags
                  .filter((t) => t.Key)
                  .map((t) => `${t.Key}=${t.Value}`)
                  .join(', ') || '-'}
              </dd>
            </dl>
            <h2>Step 2: Log events</h2>
            <dl class="summary">
              <dt>Management events</dt>
              <dd>
                {events.management
                  ? [events.read && 'Read', events.write && 'Write'].filter(Boolean).join(', ')
                  : 'None'}
              </dd>
              <dt>Data events</dt>
              <dd>{events.data ? 'S3 objects, all buckets' : 'None'}</dd>
              <dt>Selectors</dt>
              <dd>{events.advanced ? 'Advanced' : 'Basic'}</dd>
              <dt>Insights events</dt>
              <dd>
                {insightSelectors(events)
                  .map((i) => i.InsightType)
                  .join(', ') || 'None'}
              </dd>
            </dl>
          </div>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {busy && (
          <p role="status" class="status">
            {busy}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={() => navigate('trails')}>
            Cancel
          </button>
          {step > 0 && (
            <button type="button" onClick={() => setStep(step - 1)}>
              Previous
            </button>
          )}
          <button type="submit" class="primary" disabled={Boolean(busy)}>
            {step < 2 ? 'Next' : 'Create trail'}
          </button>
        </div>
      </form>
    </section>
  )
}
