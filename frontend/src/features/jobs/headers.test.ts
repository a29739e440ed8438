import { describe, expect, it } from "vitest"
import { emptyRow, headersBody, rowsFromJob, testRunHeaders } from "./headers"

const stored = [
  { name: "Authorization", value: null, secret: true },
  { name: "X-Team", value: "data", secret: false },
]

describe("job headers in the editor", () => {
  it("never has a stored secret's value: the row only knows it is set", () => {
    const [secret, plain] = rowsFromJob(stored)
    expect(secret).toMatchObject({ value: "", stored: true, replacing: false })
    expect(plain).toMatchObject({ value: "data", stored: false })
  })

  it("sends a kept secret without value, a replaced one with its new value", () => {
    const rows = rowsFromJob(stored)
    expect(headersBody(rows)).toEqual([
      { name: "Authorization", secret: true },
      { name: "X-Team", value: "data", secret: false },
    ])
    const replaced = rows.map((row) =>
      row.stored ? { ...row, replacing: true, value: "Bearer new" } : row,
    )
    expect(headersBody(replaced)[0]).toEqual({
      name: "Authorization",
      value: "Bearer new",
      secret: true,
    })
  })

  it("leaves out removed and unnamed rows, so the service drops them", () => {
    const [, plain] = rowsFromJob(stored)
    if (!plain) throw new Error("two rows expected")
    expect(headersBody([plain, emptyRow()])).toEqual([
      { name: "X-Team", value: "data", secret: false },
    ])
  })

  it("test runs send typed values only and count the stored secrets they cannot", () => {
    const rows = [
      ...rowsFromJob(stored),
      { ...emptyRow(), name: "X-New", value: "1" },
    ]
    expect(testRunHeaders(rows)).toEqual({
      headers: [
        { name: "X-Team", value: "data", secret: false },
        { name: "X-New", value: "1", secret: false },
      ],
      skipped: 1,
    })
  })
})
