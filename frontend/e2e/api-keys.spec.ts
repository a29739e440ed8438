import AxeBuilder from "@axe-core/playwright"
import { expect, test } from "@playwright/test"
import { createAccount, openAs } from "./api"
import { stack } from "./stack"

test("API keys: create one (shown once, copied), use it, revoke it", async ({
  page,
  context,
  request,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"])
  const account = await createAccount("user")
  await openAs(page, account, "/")
  await page.getByRole("link", { name: "API keys" }).click()
  await expect(
    page.getByRole("heading", { name: "API keys", level: 1 }),
  ).toBeVisible()
  await expect(page.getByText("No API keys yet")).toBeVisible()

  await page.getByLabel("Name").fill("deploys")
  await page.getByLabel("Scope").selectOption("write")
  await page.getByLabel("Expires in (days)").fill("30")
  await page.getByRole("button", { name: "Create key" }).click()

  const shown = page.getByLabel("API key", { exact: true })
  await expect(shown).toHaveValue(/^cj_[A-Za-z0-9_-]{43}$/)
  const key = await shown.inputValue()
  await page.getByRole("button", { name: "Copy key" }).click()
  await expect(page.getByText("Copied to the clipboard.")).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
  const results = await new AxeBuilder({ page }).analyze()
  expect(
    results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => v.id),
  ).toEqual([])

  // The key works as its user.
  const me = await request.get(`${stack().baseURL}/api/v1/auth/me`, {
    headers: { Authorization: `Bearer ${key}` },
  })
  expect(me.status()).toBe(200)
  expect((await me.json()).username).toBe(account.username)

  // Once dismissed (or after a reload) only its prefix is left.
  await page.getByRole("button", { name: "Done" }).click()
  await expect(shown).toHaveCount(0)
  const row = page.getByRole("row", { name: /deploys/ })
  await expect(row).toContainText("write")
  await expect(row).toContainText(`${key.slice(0, 11)}…`)
  await expect(row).toContainText("in 29 days")
  await page.reload()
  await expect(page.getByRole("row", { name: /deploys/ })).toBeVisible()
  expect(await page.content()).not.toContain(key)

  await page.getByRole("button", { name: "Revoke deploys" }).click()
  await page
    .getByRole("dialog")
    .getByRole("button", { name: "Revoke key" })
    .click()
  await expect(page.getByText("Key “deploys” revoked")).toBeVisible()
  await expect(page.getByText("No API keys yet")).toBeVisible()
  const after = await request.get(`${stack().baseURL}/api/v1/auth/me`, {
    headers: { Authorization: `Bearer ${key}` },
  })
  expect(after.status()).toBe(401)
})
