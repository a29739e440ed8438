import { cleanup, render, screen } from "@testing-library/react"
import { afterEach, describe, expect, it } from "vitest"
import { CreateFormEnd, createErrors } from "./CreateFormEnd"

afterEach(cleanup)

describe("CreateFormEnd", () => {
  it("shows the form's error as an alert and turns the button off while pending", () => {
    render(<CreateFormEnd label="Create key" pending error="Duplicate key" />)

    expect(screen.getByRole("alert").textContent).toBe("Duplicate key")
    expect(screen.getByRole("button", { name: "Create key" })).toHaveProperty(
      "disabled",
      true,
    )
  })

  it("shows no alert without an error", () => {
    render(<CreateFormEnd label="Create user" pending={false} error={null} />)

    expect(screen.queryByRole("alert")).toBeNull()
    expect(screen.getByRole("button", { name: "Create user" })).toHaveProperty(
      "disabled",
      false,
    )
  })
})

describe("createErrors", () => {
  it("keeps an error without fields for the whole form", () => {
    expect(createErrors(new Error("offline"))).toEqual({
      fieldErrors: {},
      formError: "offline",
    })
    expect(createErrors(null)).toEqual({ fieldErrors: {}, formError: null })
  })
})
