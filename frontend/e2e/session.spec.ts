import { createHmac } from "node:crypto"
import { expect, type Page, test } from "@playwright/test"
import { type Account, createAccount, openAs } from "./api"
import { stack } from "./stack"

/**
 * An access token signed by the service, with the claims of `valid` but expired a minute ago:
 * what a tab holds after its laptop slept through the token's lifetime.
 */
function expiredCopyOf(valid: string): string {
  const [header, payload] = valid.split(".")
  if (!header || !payload) throw new Error("not a JWT")
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString())
  const now = Math.floor(Date.now() / 1000)
  const body = Buffer.from(
    JSON.stringify({ ...claims, iat: now - 3600, exp: now - 60 }),
  ).toString("base64url")
  const signature = createHmac("sha256", stack().jwtSecret)
    .update(`${header}.${body}`)
    .digest("base64url")
  return `${header}.${body}.${signature}`
}

async function meStatus(access: string): Promise<number> {
  const response = await fetch(`${stack().baseURL}/api/v1/auth/me`, {
    headers: { Authorization: `Bearer ${access}` },
  })
  return response.status
}

/** Counts the tab's refreshes and the API's 401 answers. */
function watchAuth(page: Page) {
  const seen = { refreshes: 0, unauthorized: 0 }
  page.on("request", (request) => {
    if (request.url().endsWith("/api/v1/auth/refresh")) seen.refreshes += 1
  })
  page.on("response", (response) => {
    if (response.url().includes("/api/v1/") && response.status() === 401)
      seen.unauthorized += 1
  })
  return seen
}

async function expectSignedInHome(page: Page, account: Account) {
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible()
  await expect(page.getByRole("banner")).toContainText(account.username)
  await expect(page).not.toHaveURL(/\/login/)
}

async function storedAccessToken(page: Page): Promise<string | null> {
  return page.evaluate(() => localStorage.getItem("cronjobs.access_token"))
}

test.describe("an expired access token is refreshed without the person noticing", () => {
  test("seen expired by the tab: refreshed before the first request", async ({
    page,
  }) => {
    const account = await createAccount("user")
    const expired = expiredCopyOf(account.tokens.access)
    expect(await meStatus(expired)).toBe(401)
    const seen = watchAuth(page)

    await openAs(
      page,
      { ...account, tokens: { ...account.tokens, access: expired } },
      "/",
    )

    await expectSignedInHome(page, account)
    expect(seen.refreshes).toBe(1)
    expect(seen.unauthorized).toBe(0)
    const renewed = await storedAccessToken(page)
    expect(renewed).not.toBe(expired)
    expect(await meStatus(renewed ?? "")).toBe(200)
  })

  test("refused by the service (the tab's clock is behind): refreshed once, request replayed", async ({
    page,
  }) => {
    const account = await createAccount("user")
    const expired = expiredCopyOf(account.tokens.access)
    // Ten minutes behind, the tab believes the token is still good and sends it.
    await page.clock.setFixedTime(Date.now() - 10 * 60_000)
    const seen = watchAuth(page)

    await openAs(
      page,
      { ...account, tokens: { ...account.tokens, access: expired } },
      "/",
    )

    await expectSignedInHome(page, account)
    expect(seen.unauthorized).toBeGreaterThanOrEqual(1)
    expect(seen.refreshes).toBe(1)
    expect(await meStatus((await storedAccessToken(page)) ?? "")).toBe(200)
  })

  test("a refused refresh token returns to sign-in, then back to where the person was", async ({
    page,
  }) => {
    const account = await createAccount("user")
    const expired = expiredCopyOf(account.tokens.access)
    await openAs(
      page,
      {
        ...account,
        tokens: { access: expired, refresh: "not-a-refresh-token" },
      },
      "/?from=expired",
    )

    await expect(page).toHaveURL(/\/login\?redirect=/)
    await page.getByLabel("Username or email").fill(account.username)
    await page.getByLabel("Password").fill(account.password)
    await page.getByRole("button", { name: "Sign in" }).click()
    await expect(page).toHaveURL(/\/\?from=expired$/)
    await expectSignedInHome(page, account)
  })
})
