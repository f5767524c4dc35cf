/**
 * A destructive action asked twice without a modal dialog: the first press shows "Confirm" and
 * "Cancel" buttons in place (keyboard focus moves to Confirm).
 */
import { useEffect, useRef, useState } from 'preact/hooks'

export function ConfirmButton(props: {
  label: string
  confirmLabel?: string
  onConfirm: () => void | Promise<void>
  disabled?: boolean
}) {
  const [asking, setAsking] = useState(false)
  const confirm = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (asking) confirm.current?.focus()
  }, [asking])
  if (!asking)
    return (
      <button
        type="button"
        class="danger"
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    )
  return (
    <span class="actions" role="group" aria-label={props.label}>
      <button
        ref={confirm}
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false)
          void props.onConfirm()
        }}
      >
        {props.confirmLabel ?? `Confirm: ${props.label.toLowerCase()}`}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  )
}
