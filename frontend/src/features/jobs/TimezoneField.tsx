import { useId } from "react"
import { Field, inputClass } from "@/components/ui/Field"

/** Every IANA zone the browser knows (UTC first, as it is missing from some lists). */
export const TIME_ZONES: string[] = (() => {
  const zones = Intl.supportedValuesOf?.("timeZone") ?? []
  return zones.includes("UTC") ? zones : ["UTC", ...zones]
})()

/** A text field that suggests IANA zones as you type (native `<datalist>`, so searchable). */
export function TimezoneField({
  value,
  onChange,
  error,
}: {
  value: string
  onChange: (zone: string) => void
  error?: string | undefined
}) {
  const listId = useId()
  const unknown = value !== "" && !TIME_ZONES.includes(value)
  return (
    <Field
      label="Time zone"
      hint="Type to search, e.g. “Tokyo” or “Europe/”."
      error={error ?? (unknown ? "Not a known IANA time zone." : undefined)}
    >
      {(control) => (
        <>
          <input
            {...control}
            name="timezone"
            list={listId}
            autoComplete="off"
            className={inputClass}
            value={value}
            onChange={(event) => onChange(event.target.value)}
          />
          <datalist id={listId}>
            {TIME_ZONES.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  )
}
