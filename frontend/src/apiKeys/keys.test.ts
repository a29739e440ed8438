import { describe, expect, it } from "vitest"
import { expiryLabel, parseExpiryDays } from "./keys"

describe("expiryLabel", () => {
  const now = new Date("2026-06-01T12:00:00Z")
  it("says never, expired, today or the days left", () => {
    expect(expiryLabel({ expires_at: null }, now)).toBe("never")
    expect(expiryLabel({ expires_at: "2026-06-01T12:00:00Z" }, now)).toBe(
      "expired",
    )
    expect(expiryLabel({ expires_at: "2026-06-01T18:00:00Z" }, now)).toBe(
      "today",
    )
    expect(expiryLabel({ expires_at: "2026-06-02T13:00:00Z" }, now)).toBe(
      "in 1 day",
    )
    expect(expiryLabel({ expires_at: "2026-08-30T12:00:00Z" }, now)).toBe(
      "in 90 days",
    )
  })
})

describe("parseExpiryDays", () => {
  it("takes empty as never and whole days from 1 to 3650", () => {
    expect(parseExpiryDays("  ")).toBeNull()
    expect(parseExpiryDays("90")).toBe(90)
    expect(parseExpiryDays("3650")).toBe(3650)
    for (const bad of ["0", "3651", "1.5", "-3", "ten"]) {
      expect(parseExpiryDays(bad)).toBe("invalid")
    }
  })
})
