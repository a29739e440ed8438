import { expect, type Page, test } from "@playwright/test"
import {
  adminAccount,
  createAccount,
  createJob,
  createTeam,
  ok,
  openAs,
  QUIET_CRON,
  unique,
} from "./api"
import { signIn, targetCalls, targetUrl } from "./stack"

/** Issue 12's scenario, step by step, through the pages a person uses. */

/** Clicks the row's "Run now" and waits until the service has accepted the run. */
async function runFromTable(page: Page, jobName: string) {
  const accepted = page.waitForResponse(
    (response) =>
      response.url().endsWith("/execute") &&
      response.request().method() === "POST",
  )
  await page.getByRole("button", { name: `Run ${jobName} now` }).click()
  expect((await accepted).status()).toBe(202)
}

test("an admin creates a PIC team and a webhook job, runs it now, pauses and resumes it", async ({
  page,
}) => {
  test.slow()
  const teamName = unique("Team")
  const jobName = unique("job")

  await signIn(page)

  await page.getByRole("link", { name: "Admin" }).click()
  await page.getByRole("link", { name: "PIC teams" }).click()
  const form = page.getByRole("form", { name: "Create a PIC team" })
  await form.getByLabel("Name").fill(teamName)
  await form.getByLabel("Slack handle").fill("@oncall")
  await form.getByRole("button", { name: "Create PIC team" }).click()
  await expect(
    page
      .getByRole("list", { name: "PIC teams" })
      .getByRole("listitem")
      .filter({ hasText: teamName }),
  ).toBeVisible()

  await page.goto("/jobs/new")
  await expect(page.getByRole("heading", { name: "New job" })).toBeVisible()
  await page.getByLabel("Name").fill(jobName)
  await page.getByRole("radio", { name: "Webhook" }).check()
  await page.getByLabel("Webhook URL").fill(targetUrl(jobName))
  await page.getByLabel("Time zone").fill("Europe/Berlin")
  await page.getByLabel("Schedule (cron)").fill(QUIET_CRON)
  await expect(
    page.getByText("At 04:30 AM, on day 1 of the month, only in January"),
  ).toBeVisible()
  const nextRuns = page.getByRole("list", { name: "Next runs" })
  await expect(nextRuns.getByRole("listitem")).toHaveCount(10)
  await expect(nextRuns.getByRole("listitem").first()).toContainText("04:30")
  await page.getByLabel("End date").fill("2099-12-31")
  await page.getByLabel("PIC team").selectOption({ label: teamName })
  await page.getByRole("button", { name: "Create job" }).click()
  // The new job's signing secret is shown once, then the jobs page.
  await page.getByRole("button", { name: "Done" }).click()
  await expect(
    page.getByRole("heading", { name: "Jobs", level: 1 }),
  ).toBeVisible()

  const admin = await adminAccount()
  const stored = async () =>
    (
      await ok(
        admin.api.GET("/api/v1/jobs", {
          params: { query: { search: jobName } },
        }),
      )
    ).jobs
  const [created] = await stored()
  expect(created).toMatchObject({
    cron_expression: QUIET_CRON,
    timezone: "Europe/Berlin",
    target_url: targetUrl(jobName),
  })

  // Run it now from the jobs table, then read the job's history.
  await page.goto(`/jobs?search=${jobName}`)
  await runFromTable(page, jobName)
  await page.goto(`/jobs/${created?.id}`)
  await expect(
    page
      .getByRole("table", { name: `Executions of ${jobName}` })
      .getByRole("row")
      .filter({ hasText: "success" }),
  ).toHaveCount(1)
  expect(await targetCalls(jobName)).toBe(1)

  await page.goto(`/jobs?search=${jobName}`)
  await page.getByRole("button", { name: `Pause ${jobName}` }).click()
  await expect(
    page.getByRole("button", { name: `Resume ${jobName}` }),
  ).toBeVisible()
  expect((await stored()).map((job) => job.is_active)).toEqual([false])
  await page.getByRole("button", { name: `Resume ${jobName}` }).click()
  await expect(
    page.getByRole("button", { name: `Pause ${jobName}` }),
  ).toBeVisible()
  expect((await stored()).map((job) => job.is_active)).toEqual([true])
})

test("a failing job's run produces a notification in the bell", async ({
  page,
}) => {
  const owner = await createAccount("user")
  const team = await createTeam(await adminAccount())
  const job = await createJob(owner, team.slug, { status: 500 })

  await openAs(page, owner, `/jobs?search=${job.name}`)
  const bell = page.getByRole("link", { name: /^Notifications,/ })
  await expect(bell).toHaveAccessibleName("Notifications, none unread")
  await runFromTable(page, job.name)

  await page.goto(`/jobs/${job.id}`)
  await expect(
    page
      .getByRole("table", { name: `Executions of ${job.name}` })
      .getByRole("row")
      .filter({ hasText: "failed" }),
  ).toHaveCount(1)
  // The bell asks every 30 s, and on each page load (the one above).
  await expect(bell).toHaveAccessibleName("Notifications, 1 unread")
  await bell.click()
  await expect(
    page.getByRole("heading", { name: "Notifications", level: 1 }),
  ).toBeVisible()
  await expect(
    page
      .getByRole("list", { name: "Notifications" })
      .getByRole("listitem")
      .filter({ hasText: job.name }),
  ).toBeVisible()
})

test("a viewer sees no edit, run or delete controls, and the editor says not allowed", async ({
  page,
}) => {
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const job = await createJob(admin, team.slug)
  const viewer = await createAccount("viewer")

  await openAs(page, viewer, `/jobs?search=${job.name}`)
  const row = page.getByRole("row").filter({ hasText: job.name })
  await expect(row).toBeVisible()
  const controls = new RegExp(
    `^(Run ${job.name} now|Pause ${job.name}|Resume ${job.name}|Edit ${job.name}|Delete ${job.name})$`,
  )
  await expect(page.getByRole("button", { name: controls })).toHaveCount(0)
  await expect(page.getByRole("link", { name: controls })).toHaveCount(0)
  await expect(row.getByRole("button")).toHaveCount(0)
  await expect(page.getByRole("link", { name: "New job" })).toHaveCount(0)

  await page.goto(`/jobs/${job.id}/edit`)
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible()
  await page.goto("/jobs/new")
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible()
})

test("a CSV import: the dry run shows each row's result and creates nothing, then the import does", async ({
  page,
}) => {
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const good = unique("imported")
  const bad = unique("broken")
  const csv = [
    "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
    `${good},${QUIET_CRON},${targetUrl(good)},2099-12-31,${team.slug}`,
    `${bad},not a cron,${targetUrl(bad)},2099-12-31,${team.slug}`,
  ].join("\n")
  const jobsNamed = async (name: string) =>
    (
      await ok(
        admin.api.GET("/api/v1/jobs", { params: { query: { search: name } } }),
      )
    ).total

  await openAs(page, admin, "/import")
  await page.getByLabel("CSV file").setInputFiles({
    name: "jobs.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(csv),
  })
  const row = (name: string) =>
    page
      .getByRole("region", { name: "Rows (2)" })
      .getByRole("row")
      .filter({ hasText: name })
  await page.getByRole("button", { name: "Check file (dry run)" }).click()
  await expect(row(bad)).toContainText("Error")
  await expect(row(bad)).toContainText(/cron/i)
  await expect(row(good)).toContainText("Would create")
  expect(await jobsNamed(good)).toBe(0)

  await page.getByRole("button", { name: /^Import 1 jobs?$/ }).click()
  await expect(row(good)).toContainText("Created")
  expect(await jobsNamed(good)).toBe(1)
  expect(await jobsNamed(bad)).toBe(0)
})

test("the column chooser's choice survives a reload", async ({ page }) => {
  const person = await createAccount("user")
  await createJob(person, (await createTeam(await adminAccount())).slug)

  await openAs(page, person, "/jobs")
  const table = page.getByRole("table", { name: /^Jobs, page/ })
  await expect(
    table.getByRole("columnheader", { name: "Next run" }),
  ).toBeVisible()
  await page.getByRole("button", { name: "Columns" }).click()
  await page.getByRole("checkbox", { name: "Next run" }).uncheck()
  await expect(
    table.getByRole("columnheader", { name: "Next run" }),
  ).toHaveCount(0)

  await page.reload()
  await expect(table.getByRole("columnheader", { name: "Name" })).toBeVisible()
  const me = await ok(person.api.GET("/api/v1/auth/me"))
  const saved = await ok(
    person.api.GET("/api/v1/auth/users/{user_id}/ui-preferences", {
      params: { path: { user_id: me.id } },
    }),
  )
  expect(saved.preferences.jobs_table_columns.next_execution_at).toBe(false)
  await expect(
    table.getByRole("columnheader", { name: "Next run" }),
  ).toHaveCount(0)
})
