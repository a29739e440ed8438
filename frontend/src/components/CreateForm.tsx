import type { FormEvent, ReactNode } from "react"
import { ApiError } from "@/api/client"
import { Button } from "@/components/ui/Button"

/** A create form's errors: by field when the API named fields, else one for the whole form. */
export function createErrors(error: Error | null): {
  fieldErrors: Record<string, string>
  formError: string | null
} {
  const fieldErrors = error instanceof ApiError ? error.fieldErrors() : {}
  const formError =
    error && Object.keys(fieldErrors).length === 0 ? error.message : null
  return { fieldErrors, formError }
}

/** A titled panel with a create form: its fields on a grid of `columns`, then the submit button
 * (off while the request is pending) and, across the columns, the error that belongs to no
 * field. */
export function CreateForm({
  id,
  title,
  columns,
  onSubmit,
  submitLabel,
  pending,
  error,
  children,
}: {
  id: string
  title: string
  columns: string
  onSubmit: (event: FormEvent) => void
  submitLabel: string
  pending: boolean
  error: string | null
  children: ReactNode
}) {
  return (
    <section
      aria-labelledby={id}
      className="rounded-lg border border-slate-200 bg-white p-4"
    >
      <h2 id={id} className="mb-3 font-semibold text-lg">
        {title}
      </h2>
      <form
        onSubmit={onSubmit}
        noValidate
        className={`grid gap-4 sm:grid-cols-2 ${columns}`}
      >
        {children}
        <div className="flex items-end">
          <Button type="submit" disabled={pending}>
            {submitLabel}
          </Button>
        </div>
        {error ? (
          <p role="alert" className="text-red-700 text-sm sm:col-span-2">
            {error}
          </p>
        ) : null}
      </form>
    </section>
  )
}
