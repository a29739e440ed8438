import { useEffect, useState } from "react"

/** The browser's IANA zone (what "today" and local times mean for this person). */
export const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone

/** `2026-06-10 19:30` in `zone` (24 h clock, zone-free so tables stay narrow). */
export function formatInZone(iso: string, zone: string): string {
  return new Intl.DateTimeFormat("sv-SE", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(iso))
}

/** The same instant in the viewer's zone, with the zone named, for hover titles. */
export function formatLocal(iso: string): string {
  return `${formatInZone(iso, localZone)} (${localZone})`
}

/** `in 2m 05s`, `in 3h 10m`, `now` for a moment at or before `now`. */
export function countdown(targetMs: number, nowMs: number): string {
  const seconds = Math.round((targetMs - nowMs) / 1000)
  if (seconds <= 0) return "now"
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (d > 0) return `in ${d}d ${h}h`
  if (h > 0) return `in ${h}h ${m}m`
  if (m > 0) return `in ${m}m ${String(s).padStart(2, "0")}s`
  return `in ${s}s`
}

/** The current time, re-rendering every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs)
    return () => window.clearInterval(timer)
  }, [intervalMs])
  return now
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${value.toFixed(1)} %`
}
