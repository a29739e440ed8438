import { describe, expect, it } from "vitest"
import { countdown, formatInZone, formatPercent } from "./time"

describe("time helpers", () => {
  it("formats an instant in a given zone", () => {
    expect(formatInZone("2026-06-10T10:30:00Z", "Asia/Tokyo")).toBe(
      "2026-06-10 19:30",
    )
    expect(formatInZone("2026-06-10T10:30:00Z", "America/New_York")).toBe(
      "2026-06-10 06:30",
    )
  })

  it("counts down in the largest useful units", () => {
    const now = 1_000_000
    expect(countdown(now - 5, now)).toBe("now")
    expect(countdown(now + 9_000, now)).toBe("in 9s")
    expect(countdown(now + 125_000, now)).toBe("in 2m 05s")
    expect(countdown(now + 3 * 3600_000 + 600_000, now)).toBe("in 3h 10m")
    expect(countdown(now + 50 * 3600_000, now)).toBe("in 2d 2h")
  })

  it("shows no rate as a dash", () => {
    expect(formatPercent(null)).toBe("—")
    expect(formatPercent(97.456)).toBe("97.5 %")
  })
})
