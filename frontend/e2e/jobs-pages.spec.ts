import { expect, type Page, test } from "@playwright/test"
import { signIn, stack, targetCalls, targetUrl } from "./stack"

/** An admin's bearer token, for setting up data through the API. */
async function adminToken(page: Page): Promise<string> {
  const response = await page.request.post("/api/v1/auth/login", {
    data: {
      username: stack().admin.username,
      password: stack().admin.password,
    },
  })
  return ((await response.json()) as { access_token: string }).access_token
}

test("editor without a PIC team teaches, then home, jobs table and editor work", async ({
  page,
}) => {
  await signIn(page)

  await page.goto("/jobs/new")
  await expect(
    page.getByRole("heading", { name: "No PIC team yet" }),
  ).toBeVisible()
  await expect(
    page.getByRole("link", { name: "Create a PIC team in Admin" }),
  ).toBeVisible()

  const token = await adminToken(page)
  const team = await page.request.post("/api/v1/pic-teams", {
    headers: { Authorization: `Bearer ${token}` },
    data: { name: "Platform", slack_handle: "@platform" },
  })
  expect(team.ok()).toBeTruthy()

  await page.reload()
  await page.getByLabel("Name", { exact: true }).fill("ping-target")
  await page.getByLabel("Webhook URL").fill(targetUrl("ping"))
  await page.getByLabel("Time zone").fill("Europe/Berlin")
  await page.getByLabel("Schedule (cron)").fill("*/15 9-17 * * 1-5")
  await expect(
    page.getByText(
      "Every 15 minutes, between 09:00 AM and 05:59 PM, Monday through Friday",
    ),
  ).toBeVisible()
  await expect(
    page.getByRole("list", { name: "Next runs" }).getByRole("listitem"),
  ).toHaveCount(10)
  await page.getByRole("button", { name: "Test run" }).click()
  await expect(page.getByText(/Success \(HTTP 200\)/)).toBeVisible()
  expect(await targetCalls("ping")).toBe(1)

  // The API's verdict, tied to the field (the hint below it is always there).
  const cron = page.getByLabel("Schedule (cron)")
  await cron.fill("61 * * * *")
  await expect(cron).toHaveAttribute("aria-invalid", "true")
  await expect(cron).toHaveAccessibleDescription(
    /'61 \* \* \* \*' is not a valid cron expression/,
  )
  await expect(
    page.getByRole("list", { name: "Next runs" }).getByRole("listitem"),
  ).toHaveCount(0)
  await cron.fill("*/15 9-17 * * 1-5")
  await page.getByLabel("Metadata (JSON)").fill("{not json")
  await expect(page.getByText(/Not valid JSON/)).toBeVisible()
  await page.getByLabel("Metadata (JSON)").fill('{"hello": "world"}')
  await page.getByRole("button", { name: "Create job" }).click()
  // The new job's signing secret is shown once, then the jobs page.
  await page.getByRole("button", { name: "Done" }).click()

  await expect(page.getByRole("heading", { name: "Jobs" })).toBeVisible()
  const row = page.getByRole("row", { name: /ping-target/ })
  await expect(row).toBeVisible()
  await expect(row.getByRole("link", { name: /latest execution/ })).toHaveCount(
    0,
  )
  await row.getByRole("button", { name: "Run ping-target now" }).click()
  await expect.poll(() => targetCalls("ping")).toBe(2)
  // The last run's status, as a badge linking to that execution (the table looks again
  // while the run is in progress, so "Running" turns into "Success" by itself).
  const lastStatus = row.getByRole("link", {
    name: "Success: latest execution of ping-target",
  })
  await expect(lastStatus).toBeVisible({ timeout: 15_000 })
  await expect(lastStatus).toHaveAttribute(
    "href",
    /^\/executions\/[0-9a-f-]{36}$/,
  )
  await row.getByRole("button", { name: "Pause ping-target" }).click()
  await expect(
    row.getByRole("button", { name: "Resume ping-target" }),
  ).toBeVisible()
  await expect(row.getByText("Paused")).toBeVisible()
  await row.getByRole("button", { name: "Resume ping-target" }).click()
  await expect(row.getByText("Active")).toBeVisible()

  // The name opens the job's page.
  await row.getByRole("link", { name: "ping-target", exact: true }).click()
  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}(\?|$)/)
  await expect(page.getByRole("heading", { name: "ping-target" })).toBeVisible()
  await page.goBack()
  await expect(page.getByRole("heading", { name: "Jobs" })).toBeVisible()

  // The column chooser's choice survives a reload.
  await page.getByRole("button", { name: "Columns" }).click()
  await page.getByRole("checkbox", { name: "Time zone" }).uncheck()
  await expect(
    page.getByRole("columnheader", { name: "Time zone" }),
  ).toHaveCount(0)
  await page.reload()
  await expect(page.getByRole("columnheader", { name: "Name" })).toBeVisible()
  await expect(
    page.getByRole("columnheader", { name: "Time zone" }),
  ).toHaveCount(0)

  // A 422 from the API shows beside its field.
  await page.goto("/jobs/new")
  await page.getByLabel("Name", { exact: true }).fill("ping-target")
  await page.getByLabel("Webhook URL").fill("ftp://nope")
  await page.getByRole("button", { name: "Create job" }).click()
  await expect(page.getByText("Some fields need a change")).toBeVisible()
  await expect(page.getByLabel("Webhook URL")).toHaveAttribute(
    "aria-invalid",
    "true",
  )
})
