import type { Schemas } from "@/api/client"

/**
 * One row of the job editor's headers. A secret header's stored value is never read back (the
 * API answers `value: null`): the row only knows it is set, and sends no value unless the person
 * chose to replace it, which keeps the stored one.
 */
export interface HeaderRow {
  id: string
  name: string
  /** What was typed: the value, or for a stored secret its replacement. */
  value: string
  secret: boolean
  /** A secret whose value the service holds ("set"). */
  stored: boolean
  /** A stored secret being replaced by `value`. */
  replacing: boolean
}

let rowCount = 0
const rowId = () => `header-${++rowCount}`

export function emptyRow(): HeaderRow {
  return {
    id: rowId(),
    name: "",
    value: "",
    secret: false,
    stored: false,
    replacing: false,
  }
}

export function rowsFromJob(
  headers: Schemas["HeaderRead"][] = [],
): HeaderRow[] {
  return headers.map((header) => ({
    id: rowId(),
    name: header.name,
    value: header.secret ? "" : (header.value ?? ""),
    secret: header.secret,
    stored: header.secret,
    replacing: false,
  }))
}

/** Whether the row sends the value kept by the service rather than one typed here. */
export function keepsStoredValue(row: HeaderRow): boolean {
  return row.stored && !row.replacing
}

/**
 * The `headers` of a create or update body: the whole list, as the API replaces it. A stored
 * secret not replaced goes without `value` (the service keeps it); a removed row is left out
 * (the service drops it). Rows without a name are ignored.
 */
export function headersBody(rows: HeaderRow[]): Schemas["HeaderWrite"][] {
  return rows
    .filter((row) => row.name.trim() !== "")
    .map((row) =>
      keepsStoredValue(row)
        ? { name: row.name.trim(), secret: true }
        : { name: row.name.trim(), value: row.value, secret: row.secret },
    )
}

/**
 * The headers of a test run (nothing is stored, so each needs its value): stored secrets that
 * were not typed again cannot be sent and are counted in `skipped`.
 */
export function testRunHeaders(rows: HeaderRow[]): {
  headers: Schemas["HeaderWrite"][]
  skipped: number
} {
  const named = rows.filter((row) => row.name.trim() !== "")
  const sendable = named.filter((row) => !keepsStoredValue(row))
  return {
    headers: sendable.map((row) => ({
      name: row.name.trim(),
      value: row.value,
      secret: row.secret,
    })),
    skipped: named.length - sendable.length,
  }
}
