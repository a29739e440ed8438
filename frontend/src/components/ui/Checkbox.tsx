import { type InputHTMLAttributes, type ReactNode, useId } from "react"

/** A checkbox (or `role="switch"`) with its label beside it and an optional hint under it. */
export function CheckboxField({
  label,
  hint,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, "type"> & {
  label: string
  hint?: ReactNode
}) {
  const id = useId()
  const hintId = `${id}-hint`
  return (
    <div className="flex items-start gap-3">
      <input
        id={id}
        type="checkbox"
        className="mt-1 size-4 accent-blue-700"
        aria-describedby={hint ? hintId : undefined}
        {...input}
      />
      <div>
        <label htmlFor={id} className="font-medium text-slate-900 text-sm">
          {label}
        </label>
        {hint ? (
          <div id={hintId} className="text-slate-600 text-sm">
            {hint}
          </div>
        ) : null}
      </div>
    </div>
  )
}
