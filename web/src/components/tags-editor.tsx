export interface Tag {
  Key: string
  Value: string
}

export function TagsEditor(props: { tags: Tag[]; onChange: (t: Tag[]) => void }) {
  const { tags, onChange } = props
  const set = (i: number, t: Partial<Tag>) =>
    onChange(tags.map((x, j) => (i === j ? { ...x, ...t } : x)))
  return (
    <fieldset>
      <legend>Tags (optional)</legend>
      {tags.map((t, i) => (
        <div class="filter-row">
          <input
            aria-label={`Tag ${i + 1} key`}
            placeholder="Key"
            value={t.Key}
            onInput={(e) => set(i, { Key: e.currentTarget.value })}
          />
          <input
            aria-label={`Tag ${i + 1} value`}
            placeholder="Value"
            value={t.Value}
            onInput={(e) => set(i, { Value: e.currentTarget.value })}
          />
          <button
            type="button"
            class="link"
            aria-label={`Remove tag ${i + 1}`}
            onClick={() => onChange(tags.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...tags, { Key: '', Value: '' }])}>
        Add tag
      </button>
    </fieldset>
  )
}
