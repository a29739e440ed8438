import { describe, expect, it } from "vitest"
import { formatDateTime, formatDuration, formatPercent } from "./format"

describe("formatDuration", () => {
  it("writes short runs in ms, longer ones in s and minutes", () => {
    expect(formatDuration(0.25)).toBe("250 ms")
    expect(formatDuration(12.34)).toBe("12.3 s")
    expect(formatDuration(245)).toBe("4 min 05 s")
    expect(formatDuration(null)).toBe("—")
  })
})

describe("formatDateTime", () => {
  it("shows the instant in the zone asked for", () => {
    const text = formatDateTime("2026-06-01T00:00:00Z", "Asia/Tokyo")
    expect(text).toMatch(/09:00:00|9:00:00/)
    expect(text).toContain("2026")
    expect(formatDateTime(null)).toBe("—")
  })
})

describe("formatPercent", () => {
  it("keeps one decimal", () => {
    expect(formatPercent(66.666)).toBe("66.7 %")
  })
})
