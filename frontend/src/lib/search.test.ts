import { describe, expect, it } from "vitest"
import { dateParam, oneOf, pageParam } from "./search"

describe("URL search params", () => {
  it("keeps only positive integer pages", () => {
    expect(pageParam("3")).toBe(3)
    expect(pageParam(2)).toBe(2)
    for (const bad of ["0", "-1", "1.5", "x", undefined]) {
      expect(pageParam(bad)).toBe(1)
    }
  })

  it("keeps only known values and real dates", () => {
    expect(oneOf("failed", ["success", "failed"] as const)).toBe("failed")
    expect(oneOf("drop table", ["success", "failed"] as const)).toBeUndefined()
    expect(dateParam("2026-12-01")).toBe("2026-12-01")
    expect(dateParam("12/01/2026")).toBeUndefined()
  })
})
