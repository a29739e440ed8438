import { cleanup, fireEvent, render, screen } from "@testing-library/react"
import { useState } from "react"
import { afterEach, describe, expect, it } from "vitest"
import { HeadersField } from "./HeadersField"
import { type HeaderRow, headersBody, rowsFromJob } from "./headers"

afterEach(cleanup)

let latest: HeaderRow[] = []

function Harness({ initial }: { initial: HeaderRow[] }) {
  const [rows, setRows] = useState(initial)
  latest = rows
  return <HeadersField rows={rows} onChange={setRows} errors={{}} />
}

const fromApi = [
  { name: "Authorization", value: null, secret: true },
  { name: "X-Team", value: "data", secret: false },
]

describe("HeadersField", () => {
  it("shows a stored secret as set, with no field holding its value", () => {
    render(<Harness initial={rowsFromJob(fromApi)} />)

    expect(screen.getByText("set")).toBeTruthy()
    expect(screen.queryByLabelText("Authorization value")).toBeNull()
    expect(screen.getByLabelText<HTMLInputElement>("X-Team value").value).toBe(
      "data",
    )
    // Unmasking needs a new value: the checkbox of a kept secret is locked.
    const [secretBox] = screen.getAllByRole<HTMLInputElement>("checkbox", {
      name: "Secret",
    })
    expect(secretBox?.disabled).toBe(true)
    expect(headersBody(latest)[0]).toEqual({
      name: "Authorization",
      secret: true,
    })
  })

  it("replaces a secret with a password field, and removes a header", () => {
    render(<Harness initial={rowsFromJob(fromApi)} />)

    fireEvent.click(
      screen.getByRole("button", {
        name: "Replace the value of Authorization",
      }),
    )
    const replacement = screen.getByLabelText<HTMLInputElement>(
      "Authorization value",
    )
    expect(replacement.type).toBe("password")
    expect(replacement.value).toBe("")
    fireEvent.change(replacement, { target: { value: "Bearer new" } })
    fireEvent.click(screen.getByRole("button", { name: "Remove X-Team" }))

    expect(headersBody(latest)).toEqual([
      { name: "Authorization", value: "Bearer new", secret: true },
    ])
  })

  it("adds rows up to twenty", () => {
    render(<Harness initial={[]} />)
    const add = screen.getByRole<HTMLButtonElement>("button", {
      name: "Add header",
    })
    for (let i = 0; i < 20; i++) fireEvent.click(add)
    expect(latest).toHaveLength(20)
    expect(add.disabled).toBe(true)
  })
})
