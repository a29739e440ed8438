import { expect, type Locator, type Page, test } from "@playwright/test"
import {
  adminAccount,
  createAccount,
  createJob,
  createTeam,
  openAs,
} from "./api"

/** Presses Tab until `target` has the focus; fails after `limit` presses. */
async function tabTo(page: Page, target: Locator, limit = 80): Promise<void> {
  for (let presses = 0; presses < limit; presses += 1) {
    await page.keyboard.press("Tab")
    if (await target.evaluate((element) => element === document.activeElement))
      return
  }
  throw new Error(`${target} not reached in ${limit} presses of Tab`)
}

test("the keyboard alone: skip link, a delete confirmation opened with Enter and closed with Escape", async ({
  page,
}) => {
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const owner = await createAccount("user")
  const job = await createJob(owner, team.slug)

  await openAs(page, owner, `/jobs?search=${job.name}`)
  const trigger = page.getByRole("button", { name: `Delete ${job.name}` })
  await expect(trigger).toBeVisible()

  // The first stop is the skip link, with the focus ring shown.
  await page.keyboard.press("Tab")
  const skip = page.getByRole("link", { name: "Skip to content" })
  await expect(skip).toBeFocused()
  await expect(skip).toHaveCSS("outline-style", "solid")
  await expect(skip).toHaveCSS("outline-width", "2px")

  await tabTo(page, trigger)
  await expect(trigger).toHaveCSS("outline-style", "solid")
  await page.keyboard.press("Enter")
  const dialog = page.getByRole("dialog", { name: `Delete ${job.name}?` })
  await expect(dialog).toBeVisible()
  // The safe choice has the focus; Tab goes on to the dialog's other button.
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused()
  await page.keyboard.press("Tab")
  await expect(dialog.getByRole("button", { name: "Delete" })).toBeFocused()

  await page.keyboard.press("Escape")
  await expect(dialog).toHaveCount(0)
  await expect(trigger).toBeFocused()
  const { response } = await owner.api.GET("/api/v1/jobs/{job_id}", {
    params: { path: { job_id: job.id } },
  })
  expect(response.status).toBe(200)
})
