/**
 * The query editor's "add to dashboard": appends the statement that ran as a table widget of a Lake
 * dashboard (GetDashboard, then UpdateDashboard with the whole widget list, as AWS asks).
 */
import { useEffect, useState } from 'preact/hooks'
import { call } from '../api'
import { linkProps } from '../router'
import { errorText } from '../util'
import { VIEW_VALUE, nameOf, requestWidgets, type WireDashboard } from '../lake-dashboards-model'

export function SaveAsWidget({ statement }: { statement: string }) {
  const [names, setNames] = useState<string[] | undefined>()
  const [name, setName] = useState('')
  const [title, setTitle] = useState('')
  const [message, setMessage] = useState<{ ok: boolean; text: string; name?: string }>()

  useEffect(() => {
    call<{ Dashboards?: { DashboardArn: string }[] }>('ListDashboards', {})
      .then((r) => {
        const list = (r.Dashboards ?? []).map((d) => nameOf(d.DashboardArn))
        setNames(list)
        setName((n) => n || list[0] || '')
      })
      .catch(() => setNames([]))
  }, [])

  async function save(e: Event) {
    e.preventDefault()
    setMessage(undefined)
    try {
      if (!VIEW_VALUE.test(title.trim())) {
        throw new Error(
          'The title may use only letters, digits, spaces, periods, underscores and hyphens.',
        )
      }
      const d = await call<WireDashboard>('GetDashboard', { DashboardId: name })
      await call('UpdateDashboard', {
        DashboardId: name,
        Widgets: [
          ...requestWidgets(d.Widgets ?? []),
          { QueryStatement: statement, ViewProperties: { View: 'Table', Title: title.trim() } },
        ],
      })
      setMessage({ ok: true, text: `Added to ${name}.`, name })
      setTitle('')
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) })
    }
  }

  if (!names || names.length === 0) return null
  return (
    <form class="inline" onSubmit={(e) => void save(e)} aria-label="Add this query to a dashboard">
      <label>
        Dashboard{' '}
        <select value={name} onChange={(e) => setName(e.currentTarget.value)}>
          {names.map((n) => (
            <option value={n}>{n}</option>
          ))}
        </select>
      </label>
      <label>
        Widget title{' '}
        <input
          value={title}
          required
          maxLength={128}
          onInput={(e) => setTitle(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Add to dashboard</button>
      {message && (
        <span class={message.ok ? 'ok' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}{' '}
          {message.name && (
            <a {...linkProps(`lake/dashboards/${encodeURIComponent(message.name)}`)}>Open it</a>
          )}
        </span>
      )}
    </form>
  )
}
