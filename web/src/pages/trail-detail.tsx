/**
 * A trail: status and start/stop logging, each setting section with its own Edit (UpdateTrail,
 * PutEventSelectors, PutInsightSelectors, AddTags/RemoveTags), the delivered files and log file
 * validation over a time range.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { FileBrowser } from '../components/file-browser'
import { LogEventsForm } from '../components/log-events-form'
import { TagsEditor, type Tag } from '../components/tags-editor'
import { ValidatePanel } from '../components/validate-panel'
import { linkProps, navigate } from '../router'
import {
  DEFAULT_LOG_EVENTS,
  eventSelectorsInput,
  insightSelectors,
  type LogEventSettings,
} from '../selectors'
import {
  describeTrails,
  logGroupArn,
  logGroupName,
  trailStatus,
  type Trail,
  type TrailStatus,
} from '../trails-model'
import { errorText, fmtTime, str } from '../util'

interface Selectors {
  EventSelectors?: {
    ReadWriteType?: string
    IncludeManagementEvents?: boolean
    ExcludeManagementEventSources?: string[]
    DataResources?: { Type?: string; Values?: string[] }[]
  }[]
  AdvancedEventSelectors?: unknown[]
}

function settingsFrom(sel: Selectors, insights: { InsightType?: string }[]): LogEventSettings {
  const s = { ...DEFAULT_LOG_EVENTS }
  s.insightsCallRate = insights.some((i) => i.InsightType === 'ApiCallRateInsight')
  s.insightsErrorRate = insights.some((i) => i.InsightType === 'ApiErrorRateInsight')
  if (sel.AdvancedEventSelectors?.length) {
    return {
      ...s,
      advanced: true,
      advancedJson: JSON.stringify(sel.AdvancedEventSelectors, null, 2),
    }
  }
  const b = sel.EventSelectors?.[0]
  if (!b) return s
  const rw = b.ReadWriteType ?? 'All'
  return {
    ...s,
    management: b.IncludeManagementEvents ?? true,
    read: rw !== 'WriteOnly',
    write: rw !== 'ReadOnly',
    excludeKms: (b.ExcludeManagementEventSources ?? []).includes('kms.amazonaws.com'),
    excludeRdsData: (b.ExcludeManagementEventSources ?? []).includes('rdsdata.amazonaws.com'),
    data: (b.DataResources ?? []).length > 0,
  }
}

function Section(props: {
  id: string
  title: string
  editing?: boolean
  onEdit?: () => void
  children: ComponentChildren
}) {
  return (
    <section class="panel" aria-labelledby={props.id}>
      <header>
        <h2 id={props.id}>{props.title}</h2>
        {props.onEdit && !props.editing && (
          <button
            type="button"
            onClick={props.onEdit}
            aria-label={`Edit ${props.title.toLowerCase()}`}
          >
            Edit
          </button>
        )}
      </header>
      {props.children}
    </section>
  )
}

function EditActions(props: { busy: boolean; onCancel: () => void }) {
  return (
    <div class="actions">
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      <button type="submit" class="primary" disabled={props.busy}>
        Save changes
      </button>
    </div>
  )
}

export function TrailDetail({ name }: { name: string }) {
  const [trail, setTrail] = useState<Trail | undefined>()
  const [status, setStatus] = useState<TrailStatus | undefined>()
  const [tags, setTags] = useState<Tag[]>([])
  const [events, setEvents] = useState<LogEventSettings>(DEFAULT_LOG_EVENTS)
  const [editing, setEditing] = useState('')
  const [draft, setDraft] = useState<Record<string, unknown>>({})
  const [draftTags, setDraftTags] = useState<Tag[]>([])
  const [draftEvents, setDraftEvents] = useState<LogEventSettings>(DEFAULT_LOG_EVENTS)
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')
  const [busy, setBusy] = useState(false)
  const [missing, setMissing] = useState(false)

  async function load() {
    try {
      const t = (await describeTrails()).find((x) => x.Name === name)
      if (!t) {
        setMissing(true)
        return
      }
      setTrail(t)
      const [st, tagList, sel, ins] = await Promise.all([
        trailStatus(t.TrailARN),
        call<{ ResourceTagList?: { TagsList?: Tag[] }[] }>('ListTags', {
          ResourceIdList: [t.TrailARN],
        }),
        call<Selectors>('GetEventSelectors', { TrailName: t.TrailARN }),
        call<{ InsightSelectors?: { InsightType?: string }[] }>('GetInsightSelectors', {
          TrailName: t.TrailARN,
        }).catch(() => ({ InsightSelectors: [] })),
      ])
      setStatus(st)
      setTags(tagList.ResourceTagList?.[0]?.TagsList ?? [])
      setEvents(settingsFrom(sel, ins.InsightSelectors ?? []))
    } catch (e) {
      setError(errorText(e))
    }
  }
  useEffect(() => {
    void load()
  }, [name])

  async function act(what: string, fn: () => Promise<unknown>) {
    setBusy(true)
    setError('')
    setNotice('')
    try {
      await fn()
      setEditing('')
      setNotice(what)
      await load()
    } catch (e) {
      setError(errorText(e))
    }
    setBusy(false)
  }

  if (missing)
    return (
      <section>
        <h1>Trail not found</h1>
        <p>
          There is no trail named {name}. <a {...linkProps('trails')}>Back to trails</a>
        </p>
      </section>
    )
  if (!trail) return <p>{error ? <span class="error">{error}</span> : 'Loading…'}</p>

  const arn = trail.TrailARN
  const accountId = arn.split(':')[4]!
  const region = trail.HomeRegion ?? arn.split(':')[3]!
  const edit = (section: string) => () => {
    setEditing(section)
    setDraft({ ...trail })
    setDraftTags(tags.map((t) => ({ ...t })))
    setDraftEvents({ ...events })
  }
  const text = (k: keyof Trail, label: string, id: string) => (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        value={str(draft[k])}
        onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value })}
      />
    </>
  )
  const check = (k: keyof Trail, label: string) => (
    <label class="check">
      <input
        type="checkbox"
        checked={Boolean(draft[k])}
        onChange={(e) => setDraft({ ...draft, [k]: e.currentTarget.checked })}
      />
      {label}
    </label>
  )

  return (
    <section aria-labelledby="trail-title">
      <p class="crumbs">
        <a {...linkProps('trails')}>Trails</a> › <span>{trail.Name}</span>
      </p>
      <div class="title-row">
        <h1 id="trail-title">{trail.Name}</h1>
        {status?.IsLogging ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => void act('Logging stopped.', () => call('StopLogging', { Name: arn }))}
          >
            Stop logging
          </button>
        ) : (
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() => void act('Logging started.', () => call('StartLogging', { Name: arn }))}
          >
            Start logging
          </button>
        )}
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => {
            if (confirm(`Delete trail ${trail.Name}? Its delivered files stay in the bucket.`))
              void call('DeleteTrail', { Name: arn })
                .then(() => navigate('trails'))
                .catch((e: unknown) => setError(errorText(e)))
          }}
        >
          Delete
        </button>
      </div>
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

      <Section id="sec-status" title="Status">
        <dl class="summary">
          <dt>Logging</dt>
          <dd>{status?.IsLogging ? <span class="ok">On</span> : <span class="bad">Off</span>}</dd>
          <dt>Last log file delivered</dt>
          <dd>{fmtTime(status?.LatestDeliveryTime)}</dd>
          <dt>Last delivery error</dt>
          <dd class={status?.LatestDeliveryError ? 'bad' : ''}>
            {status?.LatestDeliveryError ?? '-'}
          </dd>
          <dt>Last digest file delivered</dt>
          <dd>{fmtTime(status?.LatestDigestDeliveryTime)}</dd>
          <dt>Last digest delivery error</dt>
          <dd class={status?.LatestDigestDeliveryError ? 'bad' : ''}>
            {status?.LatestDigestDeliveryError ?? '-'}
          </dd>
          <dt>Logging started</dt>
          <dd>{fmtTime(status?.StartLoggingTime)}</dd>
          <dt>Logging stopped</dt>
          <dd>{fmtTime(status?.StopLoggingTime)}</dd>
          {status?.LatestCloudWatchLogsDeliveryTime !== undefined && (
            <>
              <dt>Last CloudWatch Logs delivery</dt>
              <dd>{fmtTime(status.LatestCloudWatchLogsDeliveryTime)}</dd>
            </>
          )}
        </dl>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </Section>

      <Section
        id="sec-general"
        title="General details"
        editing={editing === 'general'}
        onEdit={edit('general')}
      >
        {editing === 'general' ? (
          <form
            onSubmit={(e) => {
              e.preventDefault()
              void act('General details saved.', () =>
                call('UpdateTrail', {
                  Name: arn,
                  S3BucketName: draft['S3BucketName'],
                  S3KeyPrefix: draft['S3KeyPrefix'] ?? '',
                  KmsKeyId: draft['KmsKeyId'] ?? '',
                  EnableLogFileValidation: Boolean(draft['LogFileValidationEnabled']),
                  SnsTopicName: draft['SnsTopicName'] ?? '',
                  IsMultiRegionTrail: Boolean(draft['IsMultiRegionTrail']),
                  IncludeGlobalServiceEvents: Boolean(draft['IncludeGlobalServiceEvents']),
                }),
              )
            }}
          >
            {text('S3BucketName', 'Trail log location (S3 bucket)', 'ed-bucket')}
            {text('S3KeyPrefix', 'Log file prefix', 'ed-prefix')}
            {text('KmsKeyId', 'SSE-KMS key (empty: none)', 'ed-kms')}
            {text('SnsTopicName', 'SNS topic (empty: none)', 'ed-sns')}
            {check('LogFileValidationEnabled', 'Log file validation')}
            {check('IsMultiRegionTrail', 'Multi-region trail')}
            {check('IncludeGlobalServiceEvents', 'Include global service events')}
            <EditActions busy={busy} onCancel={() => setEditing('')} />
          </form>
        ) : (
          <dl class="summary">
            <dt>Trail ARN</dt>
            <dd>{arn}</dd>
            <dt>Home region</dt>
            <dd>{region}</dd>
            <dt>Multi-region trail</dt>
            <dd>{trail.IsMultiRegionTrail ? 'Yes' : 'No'}</dd>
            <dt>Trail log location</dt>
            <dd>
              {trail.S3BucketName}/{trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ''}AWSLogs/
              {accountId}
            </dd>
            <dt>Log file SSE-KMS encryption</dt>
            <dd>{trail.KmsKeyId ?? 'Disabled'}</dd>
            <dt>Log file validation</dt>
            <dd>{trail.LogFileValidationEnabled ? 'Enabled' : 'Disabled'}</dd>
            <dt>SNS notification delivery</dt>
            <dd>{trail.SnsTopicName ?? 'Disabled'}</dd>
          </dl>
        )}
      </Section>

      <Section
        id="sec-cwl"
        title="CloudWatch Logs"
        editing={editing === 'cwl'}
        onEdit={edit('cwl')}
      >
        {editing === 'cwl' ? (
          <form
            onSubmit={(e) => {
              e.preventDefault()
              const group = str(draft['logGroup'] ?? logGroupName(trail.CloudWatchLogsLogGroupArn))
              const role = str(draft['CloudWatchLogsRoleArn'])
              void act('CloudWatch Logs settings saved.', () =>
                call('UpdateTrail', {
                  Name: arn,
                  CloudWatchLogsLogGroupArn: group ? logGroupArn(region, accountId, group) : '',
                  CloudWatchLogsRoleArn: group
                    ? role ||
                      `arn:aws:iam::${accountId}:role/CloudTrailRoleForCloudWatchLogs_${trail.Name}`
                    : '',
                }),
              )
            }}
          >
            <label for="ed-group">Log group name (empty: off)</label>
            <input
              id="ed-group"
              value={str(draft['logGroup'] ?? logGroupName(trail.CloudWatchLogsLogGroupArn))}
              onInput={(e) => setDraft({ ...draft, logGroup: e.currentTarget.value })}
            />
            {text('CloudWatchLogsRoleArn', 'IAM role ARN', 'ed-role')}
            <EditActions busy={busy} onCancel={() => setEditing('')} />
          </form>
        ) : (
          <dl class="summary">
            <dt>Log group</dt>
            <dd>{logGroupName(trail.CloudWatchLogsLogGroupArn) || 'Not configured'}</dd>
            <dt>IAM role</dt>
            <dd>{trail.CloudWatchLogsRoleArn ?? '-'}</dd>
          </dl>
        )}
      </Section>

      <Section
        id="sec-events"
        title="Log events"
        editing={editing === 'events'}
        onEdit={edit('events')}
      >
        {editing === 'events' ? (
          <form
            onSubmit={(e) => {
              e.preventDefault()
              void act('Event settings saved.', async () => {
                await call('PutEventSelectors', eventSelectorsInput(arn, draftEvents))
                await call('PutInsightSelectors', {
                  TrailName: arn,
                  InsightSelectors: insightSelectors(draftEvents),
                })
              })
            }}
          >
            <LogEventsForm value={draftEvents} onChange={setDraftEvents} />
            <EditActions busy={busy} onCancel={() => setEditing('')} />
          </form>
        ) : (
          <dl class="summary">
            <dt>Management events</dt>
            <dd>
              {events.advanced
                ? 'Advanced event selectors'
                : events.management
                  ? [events.read && 'Read', events.write && 'Write'].filter(Boolean).join(', ')
                  : 'None'}
            </dd>
            <dt>Data events</dt>
            <dd>
              {events.advanced
                ? 'Advanced event selectors'
                : events.data
                  ? 'S3 objects, all buckets'
                  : 'None'}
            </dd>
            <dt>Insights events</dt>
            <dd>
              {insightSelectors(events)
                .map((i) => i.InsightType)
                .join(', ') || 'None'}
            </dd>
          </dl>
        )}
        {events.advanced && editing !== 'events' && <pre class="json">{events.advancedJson}</pre>}
      </Section>

      <Section id="sec-tags" title="Tags" editing={editing === 'tags'} onEdit={edit('tags')}>
        {editing === 'tags' ? (
          <form
            onSubmit={(e) => {
              e.preventDefault()
              void act('Tags saved.', async () => {
                const keep = draftTags.filter((t) => t.Key)
                const removed = tags.filter((t) => !keep.some((k) => k.Key === t.Key))
                if (removed.length) await call('RemoveTags', { ResourceId: arn, TagsList: removed })
                if (keep.length) await call('AddTags', { ResourceId: arn, TagsList: keep })
              })
            }}
          >
            <TagsEditor tags={draftTags} onChange={setDraftTags} />
            <EditActions busy={busy} onCancel={() => setEditing('')} />
          </form>
        ) : tags.length ? (
          <dl class="summary">
            {tags.map((t) => (
              <>
                <dt>{t.Key}</dt>
                <dd>{t.Value || '-'}</dd>
              </>
            ))}
          </dl>
        ) : (
          <p class="muted">No tags.</p>
        )}
      </Section>

      <Section id="sec-files" title="Delivered log files">
        {trail.S3BucketName && (
          <FileBrowser
            bucket={trail.S3BucketName}
            root={`${trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ''}AWSLogs/`}
          />
        )}
      </Section>

      <Section id="sec-validate" title="Log file validation">
        {trail.LogFileValidationEnabled ? (
          <ValidatePanel trailArn={arn} />
        ) : (
          <p class="muted">
            Log file validation is off for this trail: there are no digest files to check.
          </p>
        )}
      </Section>
    </section>
  )
}
