import { cleanup, fireEvent, render, screen } from "@testing-library/react"
import { afterEach, describe, expect, it, vi } from "vitest"
import { NewKeyPanel } from "./NewKeyPanel"

afterEach(cleanup)

describe("NewKeyPanel", () => {
  const secret = `cj_${"a".repeat(43)}`

  it("shows the key once, copies it and says so", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText },
      configurable: true,
    })
    const onDone = vi.fn()
    render(<NewKeyPanel name="ci" secret={secret} onDone={onDone} />)

    expect(screen.getByLabelText("API key")).toHaveProperty("value", secret)
    expect(screen.getByText(/shown only this once/)).toBeTruthy()
    fireEvent.click(screen.getByRole("button", { name: "Copy key" }))
    expect(await screen.findByText("Copied to the clipboard.")).toBeTruthy()
    expect(writeText).toHaveBeenCalledWith(secret)

    fireEvent.click(screen.getByRole("button", { name: "Done" }))
    expect(onDone).toHaveBeenCalledOnce()
  })

  it("asks to copy by hand when the clipboard refuses", async () => {
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText: vi.fn().mockRejectedValue(new Error("denied")) },
      configurable: true,
    })
    render(<NewKeyPanel name="ci" secret={secret} onDone={() => {}} />)
    fireEvent.click(screen.getByRole("button", { name: "Copy key" }))
    expect(await screen.findByText(/copy it yourself/)).toBeTruthy()
  })
})
