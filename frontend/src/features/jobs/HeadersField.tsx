import { Button } from "@/components/ui/Button"
import { inputClass } from "@/components/ui/Field"
import { emptyRow, type HeaderRow, keepsStoredValue } from "./headers"

/**
 * The job's request headers. A secret's stored value is shown as "set", never read back: it can
 * be replaced (a new value typed) or the header removed.
 */
export function HeadersField({
  rows,
  onChange,
  errors,
}: {
  rows: HeaderRow[]
  onChange: (rows: HeaderRow[]) => void
  /** 422 messages by path below `headers` (`0.name`, `1.value`, or `""` for the list). */
  errors: Record<string, string>
}) {
  const update = (id: string, change: Partial<HeaderRow>) =>
    onChange(rows.map((row) => (row.id === id ? { ...row, ...change } : row)))
  return (
    <fieldset className="space-y-2">
      <legend className="font-medium text-slate-900 text-sm">
        Request headers
      </legend>
      <p className="text-slate-600 text-sm">
        Sent with every call. A secret header's value is stored encrypted and
        never shown again.
      </p>
      {errors[""] ? <p className="text-red-700 text-sm">{errors[""]}</p> : null}
      <ul className="space-y-2">
        {rows.map((row, index) => {
          const label = row.name.trim() || `header ${index + 1}`
          const error = errors[`${index}.name`] ?? errors[`${index}.value`]
          return (
            <li
              key={row.id}
              className="grid items-center gap-2 sm:grid-cols-[12rem_1fr_auto_auto]"
            >
              <input
                aria-label={`Header ${index + 1} name`}
                className={inputClass}
                placeholder="Authorization"
                value={row.name}
                onChange={(event) =>
                  update(row.id, { name: event.target.value })
                }
                aria-invalid={errors[`${index}.name`] ? true : undefined}
              />
              {keepsStoredValue(row) ? (
                <span className="flex items-center gap-2 text-sm">
                  <span className="rounded bg-slate-200 px-2 py-1 text-slate-900">
                    set<span className="sr-only"> (the value of {label})</span>
                  </span>
                  <Button
                    variant="secondary"
                    aria-label={`Replace the value of ${label}`}
                    onClick={() =>
                      update(row.id, { replacing: true, value: "" })
                    }
                  >
                    Replace
                  </Button>
                </span>
              ) : (
                <input
                  aria-label={`${label} value`}
                  className={inputClass}
                  type={row.secret ? "password" : "text"}
                  autoComplete="off"
                  placeholder={row.stored ? "New value" : "Value"}
                  value={row.value}
                  onChange={(event) =>
                    update(row.id, { value: event.target.value })
                  }
                  aria-invalid={errors[`${index}.value`] ? true : undefined}
                />
              )}
              <label className="flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  checked={row.secret}
                  // Unmasking a stored secret needs its value typed again.
                  disabled={keepsStoredValue(row)}
                  onChange={(event) =>
                    update(row.id, { secret: event.target.checked })
                  }
                />
                Secret
              </label>
              <Button
                variant="ghost"
                aria-label={`Remove ${label}`}
                onClick={() =>
                  onChange(rows.filter((other) => other.id !== row.id))
                }
              >
                Remove
              </Button>
              {error ? (
                <p className="text-red-700 text-sm sm:col-span-4">{error}</p>
              ) : null}
            </li>
          )
        })}
      </ul>
      <Button
        variant="secondary"
        disabled={rows.length >= 20}
        onClick={() => onChange([...rows, emptyRow()])}
      >
        Add header
      </Button>
    </fieldset>
  )
}
