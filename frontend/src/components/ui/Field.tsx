import { type InputHTMLAttributes, type ReactNode, useId } from "react"

export const inputClass =
  "block w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-sm text-slate-900 placeholder:text-slate-500 aria-[invalid=true]:border-red-700"

/**
 * A labelled control with its hint and error tied to it (`aria-describedby`), so screen readers
 * read the 422 message of a field together with the field.
 */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string
  hint?: ReactNode
  error?: string | undefined
  children: (control: {
    id: string
    "aria-describedby"?: string
    "aria-invalid"?: boolean
  }) => ReactNode
}) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy =
    [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") ||
    undefined
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block font-medium text-slate-900 text-sm">
        {label}
      </label>
      {children({
        id,
        "aria-describedby": describedBy,
        "aria-invalid": error ? true : undefined,
      })}
      {hint ? (
        <div id={hintId} className="text-slate-600 text-sm">
          {hint}
        </div>
      ) : null}
      {error ? (
        <p id={errorId} className="whitespace-pre-line text-red-700 text-sm">
          {error}
        </p>
      ) : null}
    </div>
  )
}

export function TextField({
  label,
  hint,
  error,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & {
  label: string
  hint?: ReactNode
  error?: string | undefined
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => <input className={inputClass} {...input} {...control} />}
    </Field>
  )
}
