/**
 * A virtualized table: only the rows in view (plus a few) are in the DOM, so 100,000 rows scroll
 * as smoothly as 50. Rows have a fixed height. Keyboard: the table body is focusable; arrow keys,
 * Page Up/Down, Home and End move the active row, Enter opens it.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

export interface Column<T> {
  label: string
  width: string
  cell: (row: T) => ComponentChildren
}

const OVERSCAN = 8

export function VirtualTable<T>(props: {
  label: string
  rows: T[]
  columns: Column<T>[]
  rowHeight?: number
  height?: number
  onOpen?: (row: T, index: number) => void
  empty?: ComponentChildren
}) {
  const rowHeight = props.rowHeight ?? 32
  const height = props.height ?? 520
  const [scrollTop, setScrollTop] = useState(0)
  const [active, setActive] = useState(-1)
  const body = useRef<HTMLDivElement>(null)
  const { rows } = props

  useEffect(() => {
    if (active >= rows.length) setActive(rows.length - 1)
  }, [rows.length])

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN)
  const count = Math.ceil(height / rowHeight) + 2 * OVERSCAN
  const last = Math.min(rows.length, first + count)
  const template = props.columns.map((c) => c.width).join(' ')

  function moveTo(i: number) {
    const n = Math.max(0, Math.min(rows.length - 1, i))
    setActive(n)
    const el = body.current
    if (!el) return
    const top = n * rowHeight
    if (top < el.scrollTop) el.scrollTop = top
    else if (top + rowHeight > el.scrollTop + height) el.scrollTop = top + rowHeight - height
  }

  function onKey(e: KeyboardEvent) {
    const page = Math.floor(height / rowHeight) - 1
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(active + 1),
      ArrowUp: () => moveTo(active - 1),
      PageDown: () => moveTo(active + page),
      PageUp: () => moveTo(active - page),
      Home: () => moveTo(0),
      End: () => moveTo(rows.length - 1),
      Enter: () => {
        const row = rows[active]
        if (row !== undefined) props.onOpen?.(row, active)
      },
    }
    const fn = keys[e.key]
    if (fn && rows.length) {
      e.preventDefault()
      fn()
    }
  }

  const visible = []
  for (let i = first; i < last; i++) {
    const row = rows[i]!
    visible.push(
      <div
        key={i}
        role="row"
        aria-rowindex={i + 2}
        aria-selected={i === active}
        class={i === active ? 'vrow active' : 'vrow'}
        style={{
          top: `${i * rowHeight}px`,
          height: `${rowHeight}px`,
          gridTemplateColumns: template,
        }}
        onClick={() => {
          setActive(i)
          props.onOpen?.(row, i)
        }}
      >
        {props.columns.map((c) => (
          <div role="cell" class="vcell">
            {c.cell(row)}
          </div>
        ))}
      </div>,
    )
  }

  return (
    <div class="vtable" role="table" aria-label={props.label} aria-rowcount={rows.length + 1}>
      <div role="rowgroup">
        <div role="row" aria-rowindex={1} class="vhead" style={{ gridTemplateColumns: template }}>
          {props.columns.map((c) => (
            <div role="columnheader" class="vcell">
              {c.label}
            </div>
          ))}
        </div>
      </div>
      <div
        ref={body}
        role="rowgroup"
        class="vbody"
        tabIndex={0}
        aria-label={`${props.label}: use the arrow keys to move, Enter to open`}
        aria-activedescendant={undefined}
        style={{ height: `${height}px` }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        onKeyDown={onKey}
        onFocus={() => {
          if (active < 0 && rows.length) setActive(Math.floor(scrollTop / rowHeight))
        }}
      >
        {rows.length === 0 ? (
          <div class="vempty">{props.empty ?? 'No rows.'}</div>
        ) : (
          <div class="vspacer" style={{ height: `${rows.length * rowHeight}px` }}>
            {visible}
          </div>
        )}
      </div>
    </div>
  )
}
