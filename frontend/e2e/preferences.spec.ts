import { expect, type Page, test } from "@playwright/test"
import {
  adminAccount,
  createAccount,
  createJob,
  createTeam,
  openAs,
  runNow,
} from "./api"

/**
 * The profile's preferences doing what they say: browser notifications through Chromium's own
 * Notification API (the permission granted by the browser context, as a person clicking "Allow"
 * would), and the time zone the digests follow.
 */
test.describe.configure({ timeout: 120_000 })

function shownCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { shownNotifications: string[] }).shownNotifications
        .length,
  )
}

test("with the permission granted, new notifications go to the browser's Notification API; switched off, none", async ({
  page,
  context,
  baseURL,
}) => {
  await context.grantPermissions(["notifications"], { origin: baseURL })
  // The real API, counted on the way through (headless Chromium shows nothing on screen).
  await page.addInitScript(() => {
    const shown: string[] = []
    Object.assign(window, { shownNotifications: shown })
    const Real = window.Notification
    class Counted extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options)
        shown.push(title)
      }
    }
    Object.assign(window, { Notification: Counted })
  })
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const user = await createAccount("user")
  const job = await createJob(user, team.slug, { status: 500 })

  await page.clock.install()
  await openAs(page, user, "/profile")
  await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible()
  expect(await page.evaluate(() => Notification.permission)).toBe("granted")
  const browserSwitch = page.getByRole("switch", {
    name: "Browser notifications",
  })
  await expect(browserSwitch).not.toBeChecked()
  await browserSwitch.click()
  await expect(page.getByText("Preferences saved.")).toBeVisible()
  await expect(browserSwitch).toBeChecked()

  await runNow(user, job)
  await expect
    .poll(
      async () => {
        await page.clock.fastForward(31_000)
        return shownCount(page)
      },
      { timeout: 45_000 },
    )
    .toBe(1)
  expect(
    await page.evaluate(
      () =>
        (window as unknown as { shownNotifications: string[] })
          .shownNotifications[0],
    ),
  ).toBe(`Job failed: ${job.name}`)

  // Off: the next failure rings the bell but never reaches the browser's API.
  await browserSwitch.click()
  await expect(browserSwitch).not.toBeChecked()
  await runNow(user, job)
  await expect
    .poll(
      async () => {
        await page.clock.fastForward(31_000)
        return page
          .getByRole("link", { name: "Notifications, 2 unread" })
          .count()
      },
      { timeout: 45_000 },
    )
    .toBe(1)
  expect(await shownCount(page)).toBe(1)
})

test("the time zone of the digests is set from the profile and kept", async ({
  page,
}) => {
  const user = await createAccount("user")
  await openAs(page, user, "/profile")
  const zone = page.getByRole("combobox", { name: "Time zone" })
  await expect(zone).toHaveValue("Asia/Tokyo")
  await zone.fill("Europe/Berlin")
  await page.getByRole("button", { name: "Save time zone" }).click()
  await expect(page.getByText("Time zone saved.")).toBeVisible()
  const me = await user.api.GET("/api/v1/auth/me")
  expect(me.data?.timezone).toBe("Europe/Berlin")

  await zone.fill("Mars/Olympus")
  await expect(page.getByText("Not a known IANA time zone.")).toBeVisible()
  await page.getByRole("button", { name: "Save time zone" }).click()
  await expect(page.getByText(/not an IANA time zone/)).toBeVisible()
})
