import { afterEach, describe, expect, it, vi } from "vitest"
import { api, session } from "./client"

const NOW = Math.floor(Date.now() / 1000)

function jwt(exp: number, id: string): string {
  return `h.${btoa(JSON.stringify({ exp, jti: id }))}.s`
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  })

afterEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
})

describe("api client", () => {
  it("replays requests answered 401 after one shared refresh", async () => {
    const revoked = jwt(NOW + 1800, "revoked")
    const fresh = jwt(NOW + 1800, "fresh")
    localStorage.setItem("cronjobs.access_token", revoked)
    localStorage.setItem("cronjobs.refresh_token", "r0")
    const refreshes: string[] = []
    const fetchMock = vi.fn(
      async (input: RequestInfo | URL, init?: RequestInit) => {
        const request =
          input instanceof Request ? input : new Request(String(input), init)
        const path = new URL(request.url, "http://x").pathname
        if (path === "/api/v1/auth/refresh") {
          refreshes.push((await request.clone().json()).refresh_token)
          await new Promise((resolve) => setTimeout(resolve, 20))
          return json({
            access_token: fresh,
            refresh_token: "r1",
            token_type: "bearer",
          })
        }
        const auth = request.headers.get("Authorization")
        if (auth !== `Bearer ${fresh}`)
          return json({ error: "Unauthorized" }, 401)
        return json({
          id: "me",
          path,
          body: request.method === "POST" ? await request.text() : null,
        })
      },
    )
    vi.stubGlobal("fetch", fetchMock)

    const answers = await Promise.all([
      api.GET("/api/v1/auth/me"),
      api.GET("/api/v1/auth/me"),
      api.POST("/api/v1/jobs/validate-cron", {
        body: { cron_expression: "* * * * *" },
      }),
    ])

    expect(refreshes).toEqual(["r0"])
    expect(answers.map((answer) => answer.response.status)).toEqual([
      200, 200, 200,
    ])
    // The replayed POST carried its original body.
    expect(JSON.stringify(answers[2].data)).toContain("cron_expression")
    expect(session.accessToken).toBe(fresh)
  })
})
