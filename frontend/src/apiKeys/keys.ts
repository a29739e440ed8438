import type { Schemas } from "@/api/client"

export type ApiKey = Schemas["ApiKeyRead"]

const DAY_MS = 24 * 60 * 60 * 1000

/** How a key's expiry reads in the list: "never", "expired", or "in N days" / "today". */
export function expiryLabel(
  key: Pick<ApiKey, "expires_at">,
  now: Date,
): string {
  if (key.expires_at === null) return "never"
  const left = new Date(key.expires_at).getTime() - now.getTime()
  if (left <= 0) return "expired"
  const days = Math.floor(left / DAY_MS)
  if (days === 0) return "today"
  return days === 1 ? "in 1 day" : `in ${days} days`
}

/** The `expires_in_days` of the creation form: empty means never; otherwise 1–3650 days. */
export function parseExpiryDays(raw: string): number | null | "invalid" {
  const text = raw.trim()
  if (text === "") return null
  if (!/^\d+$/.test(text)) return "invalid"
  const days = Number(text)
  return days >= 1 && days <= 3650 ? days : "invalid"
}
