import { advancedFrom, type LogEventSettings } from '../selectors'

/** Step 2 of the wizard, and the trail page's event settings editor. */
export function LogEventsForm(props: {
  value: LogEventSettings
  onChange: (v: LogEventSettings) => void
}) {
  const v = props.value
  const set = (p: Partial<LogEventSettings>) => props.onChange({ ...v, ...p })
  const box = (label: string, key: keyof LogEventSettings) => (
    <label class="check">
      <input
        type="checkbox"
        checked={Boolean(v[key])}
        onChange={(e) => set({ [key]: e.currentTarget.checked })}
      />
      {label}
    </label>
  )
  return (
    <>
      <fieldset>
        <legend>Events</legend>
        {box('Management events', 'management')}
        {box('Data events', 'data')}
        <label class="check">
          <input
            type="checkbox"
            checked={v.insightsCallRate || v.insightsErrorRate}
            onChange={(e) =>
              set({ insightsCallRate: e.currentTarget.checked, insightsErrorRate: false })
            }
          />
          Insights events
        </label>
      </fieldset>
      <fieldset>
        <legend>Selector mode</legend>
        <label class="check">
          <input
            type="radio"
            name="mode"
            checked={!v.advanced}
            onChange={() => set({ advanced: false })}
          />
          Basic event selectors
        </label>
        <label class="check">
          <input
            type="radio"
            name="mode"
            checked={v.advanced}
            onChange={() =>
              set({
                advanced: true,
                advancedJson: v.advancedJson || JSON.stringify(advancedFrom(v), null, 2),
              })
            }
          />
          Advanced event selectors
        </label>
      </fieldset>
      {!v.advanced && v.management && (
        <fieldset>
          <legend>Management events: API activity</legend>
          {box('Read', 'read')}
          {box('Write', 'write')}
          {box('Exclude AWS KMS events', 'excludeKms')}
          {box('Exclude Amazon RDS Data API events', 'excludeRdsData')}
        </fieldset>
      )}
      {!v.advanced && v.data && (
        <fieldset>
          <legend>Data events: S3 (all current and future buckets)</legend>
          {box('Read', 'dataRead')}
          {box('Write', 'dataWrite')}
        </fieldset>
      )}
      {v.advanced && (
        <fieldset>
          <legend>Advanced event selectors</legend>
          <label for="advanced-json">AdvancedEventSelectors (JSON)</label>
          <textarea
            id="advanced-json"
            rows={14}
            spellcheck={false}
            value={v.advancedJson}
            onInput={(e) => set({ advancedJson: e.currentTarget.value })}
          />
          <p class="hint">
            Fields: eventCategory, eventSource, eventName, readOnly, resources.type, resources.ARN,
            with Equals, NotEquals, StartsWith, NotStartsWith, EndsWith, NotEndsWith.
          </p>
        </fieldset>
      )}
      {(v.insightsCallRate || v.insightsErrorRate) && (
        <fieldset>
          <legend>Insights events</legend>
          {box('API call rate', 'insightsCallRate')}
          {box('API error rate', 'insightsErrorRate')}
        </fieldset>
      )}
    </>
  )
}
