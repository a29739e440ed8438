import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import {
  cleanup,
  fireEvent,
  render,
  screen,
  waitFor,
} from "@testing-library/react"
import { afterEach, describe, expect, it, vi } from "vitest"
import { ApiError, type Schemas } from "@/api/client"
import { categoriesQuery, picTeamsQuery } from "@/api/queries"
import { currentUserQuery } from "@/auth/useCurrentUser"
import { FIELD_CONTROLS, JobEditor, placeErrors } from "./JobEditor"

vi.mock("@tanstack/react-router", () => ({ useNavigate: () => vi.fn() }))

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const STAMP = "2026-01-01T00:00:00Z"
const admin: Schemas["UserOut"] = {
  id: "u1",
  username: "ada",
  email: "ada@example.com",
  role: "admin",
  is_active: true,
  timezone: "UTC",
  created_at: STAMP,
  updated_at: STAMP,
}
const team: Schemas["PicTeamRead"] = {
  id: "t1",
  name: "Platform",
  slug: "platform",
  slack_handle: "@platform",
  is_active: true,
  created_at: STAMP,
  updated_at: STAMP,
}

function invalid(details: { field: string; message: string }[]) {
  return {
    error: "Validation error",
    message: "The request is not valid; see details.",
    details: details.map((detail) => ({ ...detail, type: "value_error" })),
  }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  })

/** The editor for a new job, with the service answering a create with `answer` (422). */
function renderEditorRefusedWith(answer: unknown) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request =
        input instanceof Request ? input : new Request(String(input), init)
      const path = new URL(request.url, "http://x").pathname
      if (path === "/api/v1/jobs" && request.method === "POST") {
        return json(answer, 422)
      }
      // The cron field's live checks: not what these tests are about.
      return json({ valid: false, error: "not checked here" })
    }),
  )
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  })
  client.setQueryData(currentUserQuery.queryKey, admin)
  client.setQueryData(picTeamsQuery.queryKey, [team])
  client.setQueryData(categoriesQuery.queryKey, [])
  render(
    <QueryClientProvider client={client}>
      <JobEditor />
    </QueryClientProvider>,
  )
}

async function submitted(): Promise<HTMLElement> {
  fireEvent.click(screen.getByRole("button", { name: "Create job" }))
  return waitFor(() => screen.getByRole("alert"))
}

describe("JobEditor's 422 messages", () => {
  it("lists the ones of fields without a control in the alert, beside the others", async () => {
    renderEditorRefusedWith(
      invalid([
        { field: "body.is_active", message: "Input should be a valid boolean" },
        { field: "body.name", message: "Name is taken" },
        { field: "body.name", message: "Name is too long" },
      ]),
    )

    const alert = await submitted()

    expect(alert.textContent).toContain(
      "Some fields need a change; see the messages beside them.",
    )
    expect(
      Array.from(alert.querySelectorAll("li"), (item) => item.textContent),
    ).toEqual(["is_active: Input should be a valid boolean"])
    const name = screen.getByLabelText("Name")
    expect(name.getAttribute("aria-invalid")).toBe("true")
    const description = document.getElementById(
      name.getAttribute("aria-describedby") ?? "",
    )
    expect(description?.textContent).toBe("Name is taken\nName is too long")
  })

  it("says what was refused when no message has a field on the form", async () => {
    renderEditorRefusedWith(
      invalid([
        {
          field: "body.target_url",
          message: "A target is required: target_url, or github_repo.",
        },
        { field: "body", message: "Field required" },
      ]),
    )
    // A GitHub job has no webhook URL field to show the first message beside.
    fireEvent.click(
      screen.getByRole("radio", { name: "GitHub Actions workflow" }),
    )

    const alert = await submitted()

    expect(alert.querySelector("p")?.textContent).toBe("The job was not saved:")
    expect(
      Array.from(alert.querySelectorAll("li"), (item) => item.textContent),
    ).toEqual([
      "target_url: A target is required: target_url, or github_repo.",
      "Field required",
    ])
  })
})

describe("placeErrors", () => {
  it("keeps nested paths beside their top-level field, in order", () => {
    const error = new ApiError(
      422,
      invalid([
        { field: "body.metadata.a.b", message: "first" },
        { field: "body.metadata", message: "second" },
        { field: "body.github_repo", message: "no repository field" },
      ]),
    )

    expect(placeErrors(error, FIELD_CONTROLS.webhook)).toEqual({
      byField: { metadata: "first\nsecond" },
      unplaced: ["github_repo: no repository field"],
    })
    expect(placeErrors(new Error("offline"), FIELD_CONTROLS.webhook)).toEqual({
      byField: {},
      unplaced: [],
    })
  })
})
