/** How the dashboard writes times, durations and rates. One place, so every page agrees. */

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>()

function dateTimeFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? ""
  let format = dateTimeFormats.get(key)
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZone,
      timeZoneName: "short",
    })
    dateTimeFormats.set(key, format)
  }
  return format
}

/** An ISO instant in the viewer's zone (or `timeZone`); "—" when there is none. */
export function formatDateTime(
  iso: string | null | undefined,
  timeZone?: string,
): string {
  if (!iso) return "—"
  const date = new Date(iso)
  return Number.isNaN(date.getTime())
    ? iso
    : dateTimeFormat(timeZone).format(date)
}

/** Seconds as "850 ms", "12.3 s" or "4 min 05 s"; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—"
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  const rest = Math.round(seconds % 60)
  return `${minutes} min ${String(rest).padStart(2, "0")} s`
}

/** A lateness in milliseconds, as a duration; "—" when unknown. */
export function formatLateness(ms: number | null | undefined): string {
  return formatDuration(ms === null || ms === undefined ? ms : ms / 1000)
}

/** A percentage the API sends (0–100) with one decimal. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—"
  return `${value.toFixed(1)} %`
}
