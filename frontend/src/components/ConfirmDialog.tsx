import { type ReactNode, useState } from "react"
import { Button, type ButtonVariant } from "@/components/ui/Button"
import { ConfirmDialog } from "@/components/ui/ConfirmDialog"

/** A button that asks before it acts, in a `ConfirmDialog`. */
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
  const [asking, setAsking] = useState(false)
  return (
    <>
      <Button
        variant={variant}
        disabled={disabled}
        aria-label={ariaLabel}
        onClick={() => setAsking(true)}
      >
        {children}
      </Button>
      {asking ? (
        <ConfirmDialog
          title={title}
          confirmLabel={confirmLabel}
          variant={variant}
          onConfirm={() => {
            setAsking(false)
            onConfirm()
          }}
          onCancel={() => setAsking(false)}
        >
          {message}
        </ConfirmDialog>
      ) : null}
    </>
  )
}
