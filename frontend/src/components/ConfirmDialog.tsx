import { type ReactNode, useId, useRef } from "react"
import { Button, type ButtonVariant } from "@/components/ui/Button"

/**
 * A button that asks before it acts, in a native modal `<dialog>`: focus moves into it, Escape
 * cancels and focus returns to the button afterwards.
 */
export function ConfirmButton({
  children,
  title,
  message,
  confirmLabel,
  onConfirm,
  variant = "danger",
  disabled,
  "aria-label": ariaLabel,
}: {
  children: ReactNode
  title: string
  message: ReactNode
  confirmLabel: string
  onConfirm: () => void
  variant?: ButtonVariant
  disabled?: boolean
  "aria-label"?: string
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  return (
    <>
      <Button
        variant={variant}
        disabled={disabled}
        aria-label={ariaLabel}
        onClick={() => dialog.current?.showModal()}
      >
        {children}
      </Button>
      <dialog
        ref={dialog}
        aria-labelledby={titleId}
        className="m-auto max-w-md rounded-lg border border-slate-300 bg-white p-6 shadow-lg backdrop:bg-slate-900/40"
      >
        <h2 id={titleId} className="mb-2 font-semibold text-lg">
          {title}
        </h2>
        <div className="mb-4 text-slate-700">{message}</div>
        <form method="dialog" className="flex justify-end gap-2">
          <Button variant="secondary" type="submit" autoFocus>
            Cancel
          </Button>
          <Button
            variant={variant}
            onClick={() => {
              dialog.current?.close()
              onConfirm()
            }}
          >
            {confirmLabel}
          </Button>
        </form>
      </dialog>
    </>
  )
}
