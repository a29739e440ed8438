import { type ReactNode, useId, useLayoutEffect, useRef } from "react"
import { Button, type ButtonVariant } from "./Button"

/**
 * A modal confirmation on the native `<dialog>` (focus is trapped and Escape cancels by the
 * browser itself; focus returns where it was when it closes). Render it while a confirmation
 * is pending; it opens on mount.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  variant = "danger",
  busy = false,
  onConfirm,
  onCancel,
}: {
  title: string
  children?: ReactNode
  confirmLabel: string
  variant?: ButtonVariant
  busy?: boolean
  onConfirm: () => void
  onCancel: () => void
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  // A layout effect: its clean-up closes the dialog while it is still in the document, so the
  // browser puts focus back on what opened it (removing an open dialog would drop focus).
  useLayoutEffect(() => {
    const element = dialog.current
    if (element && !element.open) element.showModal()
    return () => element?.close()
  }, [])
  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault()
        onCancel()
      }}
      className="m-auto w-full max-w-md rounded-lg border border-slate-300 bg-white p-6 shadow-lg backdrop:bg-slate-900/40"
    >
      <h2 id={titleId} className="mb-2 font-semibold text-lg">
        {title}
      </h2>
      <div className="mb-4 text-slate-700">{children}</div>
      <div className="flex justify-end gap-2">
        <Button variant="secondary" onClick={onCancel} autoFocus>
          Cancel
        </Button>
        <Button variant={variant} onClick={onConfirm} disabled={busy}>
          {confirmLabel}
        </Button>
      </div>
    </dialog>
  )
}
