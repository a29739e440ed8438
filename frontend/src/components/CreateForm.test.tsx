import { cleanup, render, screen } from "@testing-library/react"
import { afterEach, describe, expect, it, vi } from "vitest"
import { CreateForm, createErrors } from "./CreateForm"

afterEach(cleanup)

function renderForm(pending: boolean, error: string | null) {
  render(
    <CreateForm
      id="create-thing"
      title="Create a thing"
      columns="lg:grid-cols-3"
      onSubmit={vi.fn()}
      submitLabel="Create thing"
      pending={pending}
      error={error}
    >
      <input aria-label="Name" />
    </CreateForm>,
  )
}

describe("CreateForm", () => {
  it("is a region named by its title, with the form's error as an alert", () => {
    renderForm(true, "Duplicate thing")

    expect(screen.getByRole("region", { name: "Create a thing" })).toBeTruthy()
    expect(screen.getByLabelText("Name")).toBeTruthy()
    expect(screen.getByRole("alert").textContent).toBe("Duplicate thing")
    expect(screen.getByRole("button", { name: "Create thing" })).toHaveProperty(
      "disabled",
      true,
    )
  })

  it("shows no alert without an error and submits when not pending", () => {
    renderForm(false, null)

    expect(screen.queryByRole("alert")).toBeNull()
    expect(screen.getByRole("button", { name: "Create thing" })).toHaveProperty(
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
