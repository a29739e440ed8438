import { expect, type Page } from "@playwright/test"

/** What `tests/support/e2e_stack.py` started: the service, the loopback target, the admin. */
export interface StackState {
  baseURL: string
  targetURL: string
  admin: { username: string; email: string; password: string }
  /** The service's token signing key: lets a spec make a token the service itself would. */
  jwtSecret: string
}

export function stack(): StackState {
  const raw = process.env.E2E_STATE
  if (!raw)
    throw new Error(
      "E2E_STATE is missing: run the suite through its global setup",
    )
  return JSON.parse(raw) as StackState
}

/** A URL on the loopback target; each call to it is counted under `name`. */
export function targetUrl(
  name: string,
  status = 200,
  delaySeconds = 0,
): string {
  const base = `${stack().targetURL}/hook/${encodeURIComponent(name)}`
  const query = new URLSearchParams()
  if (status !== 200) query.set("status", String(status))
  if (delaySeconds) query.set("delay", String(delaySeconds))
  return query.size ? `${base}?${query}` : base
}

/** How many calls the loopback target received under `name`. */
export async function targetCalls(name: string): Promise<number> {
  const response = await fetch(
    `${stack().targetURL}/calls/${encodeURIComponent(name)}`,
  )
  return ((await response.json()) as { count: number }).count
}

/** The headers (lower-cased names) of the last call the target received under `name`. */
export async function lastCallHeaders(
  name: string,
): Promise<Record<string, string>> {
  const response = await fetch(
    `${stack().targetURL}/calls/${encodeURIComponent(name)}`,
  )
  return ((await response.json()) as { headers: Record<string, string> })
    .headers
}

/** Signs in through the sign-in page and waits for the home page. */
export async function signIn(
  page: Page,
  login: string = stack().admin.username,
  password: string = stack().admin.password,
): Promise<void> {
  await page.goto("/login")
  await page.getByLabel("Username or email").fill(login)
  await page.getByLabel("Password").fill(password)
  await page.getByRole("button", { name: "Sign in" }).click()
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible()
}
