import { expect, test } from "@playwright/test"
import { signIn, stack } from "./stack"

test("sign in with the username, land on home, sign out", async ({ page }) => {
  await signIn(page)
  await expect(page.getByRole("banner")).toContainText(stack().admin.username)

  await page.getByRole("button", { name: "Sign out" }).click()
  await expect(
    page.getByRole("heading", { name: "Sign in to Cron Job Service" }),
  ).toBeVisible()
  await page.goto("/")
  await expect(page).toHaveURL(/\/login/)
})

test("sign in with the email", async ({ page }) => {
  await signIn(page, stack().admin.email)
})

test("a deep link before sign-in comes back after it", async ({ page }) => {
  await page.goto("/?from=deep-link")
  await expect(page).toHaveURL(/\/login\?redirect=/)
  await page.getByLabel("Username or email").fill(stack().admin.username)
  await page.getByLabel("Password").fill(stack().admin.password)
  await page.getByRole("button", { name: "Sign in" }).click()
  await expect(page).toHaveURL(/\/\?from=deep-link$/)
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible()
})
