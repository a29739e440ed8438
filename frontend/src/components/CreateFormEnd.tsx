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

/** The end of a create form: its submit button (off while the request is pending) and, across
 * the form's columns, the error that belongs to no field. */
export function CreateFormEnd({
  label,
  pending,
  error,
}: {
  label: string
  pending: boolean
  error: string | null
}) {
  return (
    <>
      <div className="flex items-end">
        <Button type="submit" disabled={pending}>
          {label}
        </Button>
      </div>
      {error ? (
        <p role="alert" className="text-red-700 text-sm sm:col-span-2">
          {error}
        </p>
      ) : null}
    </>
  )
}
