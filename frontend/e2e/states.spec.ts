import { randomUUID } from "node:crypto"
import { expect, test } from "@playwright/test"
import { createAccount, openAs } from "./api"

test("a job that does not exist: its page and its editor say not found", async ({
  page,
}) => {
  const user = await createAccount("user")
  const missing = randomUUID()

  await openAs(page, user, `/jobs/${missing}`)
  const notFound = page.getByRole("region", { name: "Not found" })
  await expect(notFound).toContainText("does not exist, or it was deleted")
  await expect(
    notFound.getByRole("link", { name: "Back to home" }),
  ).toHaveAttribute("href", "/")

  await page.goto(`/jobs/${missing}/edit`)
  await expect(page.getByRole("region", { name: "Not found" })).toBeVisible()
})

test("an unreachable API shows a banner that goes once the API answers again", async ({
  page,
}) => {
  const user = await createAccount("user")
  // The banner asks the health endpoint every 5 s: the test moves the tab's clock instead.
  await page.clock.install()
  await openAs(page, user, "/jobs")
  await expect(page.getByRole("heading", { name: "Jobs" })).toBeVisible()
  const banner = page
    .getByRole("alert")
    .filter({ hasText: "The service cannot be reached" })
  await expect(banner).toHaveCount(0)

  await page.route("**/api/v1/**", (route) =>
    route.abort("internetdisconnected"),
  )
  await page.getByRole("link", { name: "Executions" }).click()
  await expect(banner).toBeVisible()
  await expect(banner).toContainText("retrying every few seconds")

  await page.unroute("**/api/v1/**")
  await expect
    .poll(async () => {
      await page.clock.fastForward(5_000)
      return banner.count()
    })
    .toBe(0)
  await expect(
    page.getByRole("heading", { name: "Executions", level: 1 }),
  ).toBeVisible()
})
