import AxeBuilder from "@axe-core/playwright"
import { expect, type Page, test } from "@playwright/test"
import { adminAccount, ok, runNow } from "./api"
import { signIn, targetUrl } from "./stack"

/**
 * Flows of the job detail, executions, notifications, import, admin and profile pages against the real
 * service. One ordered story: later steps use what earlier ones created.
 */
test.describe.configure({ mode: "serial", timeout: 120_000 })

/** Runs the job called `name` now and waits for the run's outcome. */
async function runJob(name: string) {
  const admin = await adminAccount()
  const { jobs } = await ok(
    admin.api.GET("/api/v1/jobs", { params: { query: { search: name } } }),
  )
  const job = jobs.find((candidate) => candidate.name === name)
  if (!job) throw new Error(`no job ${name}`)
  await runNow(admin, job)
  return job.id
}

async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze()
  const serious = results.violations.filter(
    (violation) =>
      violation.impact === "serious" || violation.impact === "critical",
  )
  expect(serious.map((v) => `${v.id}: ${v.nodes[0]?.html}`)).toEqual([])
}

test("admin: PIC teams, categories, users and Slack", async ({ page }) => {
  await signIn(page)
  await page.getByRole("link", { name: "Admin" }).click()
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible()
  await expectAccessible(page)

  await page.getByLabel("Username").fill("vera")
  await page.getByLabel("Email").fill("vera@example.com")
  await page.getByLabel("Password").fill("viewer-password")
  await page.getByRole("button", { name: "Create user" }).click()
  await expect(
    page.getByRole("cell", { name: "vera", exact: true }),
  ).toBeVisible()
  await expect(page.getByLabel("Role of vera")).toHaveValue("viewer")

  await page.getByRole("link", { name: "PIC teams" }).click()
  await expect(
    page.getByRole("heading", { name: "PIC teams", level: 1 }),
  ).toBeVisible()
  const newTeam = page.getByRole("form", { name: "Create a PIC team" })
  await newTeam.getByLabel("Name", { exact: true }).fill("Ops")
  await newTeam.getByLabel("Slack handle").fill("@ops")
  await page.getByRole("button", { name: "Create PIC team" }).click()
  await expect(page.getByText("(ops · Slack @ops)")).toBeVisible()
  await expectAccessible(page)

  await page.getByRole("link", { name: "Categories" }).click()
  await page
    .getByRole("form", { name: "Create a category" })
    .getByLabel("Name", { exact: true })
    .fill("Data")
  await page.getByRole("button", { name: "Create category" }).click()
  await page.getByRole("button", { name: "Rename Data" }).click()
  const rename = page.getByRole("form", { name: "Rename Data" })
  await rename.getByLabel("Name", { exact: true }).fill("Data pipelines")
  await rename.getByRole("button", { name: "Save" }).click()
  await expect(page.getByText("(data-pipelines)")).toBeVisible()
  await page.getByRole("button", { name: "Disable Data pipelines" }).click()
  await page
    .getByRole("dialog")
    .getByRole("button", { name: "Disable" })
    .click()
  await expect(page.getByText("disabled", { exact: true })).toBeVisible()
  await expect(
    page.getByRole("button", { name: "Enable Data pipelines" }),
  ).toBeVisible()

  await page.getByRole("link", { name: "Slack" }).click()
  await page.getByRole("switch", { name: "Post to Slack" }).check()
  await page.getByRole("button", { name: "Save Slack settings" }).click()
  await expect(page.getByRole("alert")).toContainText("webhook_url is required")
  await page
    .getByLabel("Webhook URL")
    .fill("https://hooks.slack.com/services/T/B/x")
  await page.getByRole("button", { name: "Save Slack settings" }).click()
  await expect(page.getByText("Slack settings saved.")).toBeVisible()
  await expectAccessible(page)
  // Leave Slack off for the other specs (their failed runs would post to it).
  await page.getByRole("switch", { name: "Post to Slack" }).uncheck()
  await page.getByRole("button", { name: "Save Slack settings" }).click()
  await expect(
    page.getByRole("switch", { name: "Post to Slack" }),
  ).not.toBeChecked()
})

test("import: a dry run shows each row, then the import creates the good ones", async ({
  page,
}) => {
  await signIn(page)
  await page.getByRole("link", { name: "Import" }).click()
  await expect(
    page.getByRole("heading", { name: "Import jobs from CSV" }),
  ).toBeVisible()
  await expectAccessible(page)
  const csv = [
    "Job Name,Cron Schedule (JST),Status,Target URL,End Date,PIC Team",
    `pages-ok,0 3 * * *,enable,${targetUrl("pages-ok")},2030-01-01,ops`,
    `pages-fail,0 4 * * *,enable,${targetUrl("pages-fail", 500)},2030-01-01,ops`,
    "pages-bad,not a cron,enable,https://example.com,2030-01-01,ops",
  ].join("\n")
  await page.getByLabel("CSV file").setInputFiles({
    name: "jobs.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(csv),
  })
  await page.getByRole("button", { name: "Check file (dry run)" }).click()
  await expect(
    page.getByText(/Dry run of 3 rows: 2 jobs would be created/),
  ).toBeVisible()
  // One table of every row, in row order: number, name, outcome, and the error's message.
  await expect(page.getByRole("heading", { name: "Rows (3)" })).toBeVisible()
  const rows = page
    .getByRole("table", { name: "What became of each row" })
    .getByRole("row")
  await expect(rows).toHaveText(
    [
      /^Row\s+Name\s+Outcome\s+Details$/,
      /^2\s+pages-ok\s+Would create\s+0 3 \* \* \* \(Asia\/Tokyo\)/,
      /^3\s+pages-fail\s+Would create\s/,
      /^4\s+pages-bad\s+Error\s+cron_expression: /,
    ],
    { useInnerText: true },
  )
  await expectAccessible(page)

  await page.getByRole("button", { name: "Import 2 jobs" }).click()
  await expect(
    page.getByText("Imported: 2 jobs created, 1 row has errors."),
  ).toBeVisible()
  await expect(rows).toHaveText(
    [
      /^Row/,
      /^2\s+pages-ok\s+Created\s/,
      /^3\s+pages-fail\s+Created\s/,
      /^4\s+pages-bad\s+Error\s/,
    ],
    { useInnerText: true },
  )
})

test("job detail and executions show a run and its detail", async ({
  page,
}) => {
  const id = await runJob("pages-ok")
  await signIn(page)
  await page.goto(`/jobs/${id}`)
  await expect(page.getByRole("heading", { name: "pages-ok" })).toBeVisible()
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible()
  const history = page.getByRole("table", { name: "Executions of pages-ok" })
  await expect(history.getByText("success")).toBeVisible()
  await expectAccessible(page)

  await page.getByLabel("Status").selectOption("failed")
  await expect(
    page.getByRole("heading", { name: "No failed runs" }),
  ).toBeVisible()
  await page.getByLabel("Status").selectOption("")
  await history.getByRole("link").first().click()
  await expect(page.getByRole("heading", { name: "Execution" })).toBeVisible()
  await expect(page.getByText("Response status")).toBeVisible()
  await expect(page.getByText('"target":"pages-ok"')).toBeVisible()
  await expectAccessible(page)

  await page.getByRole("link", { name: "Executions" }).click()
  await expect(page.getByRole("cell", { name: "pages-ok" })).toBeVisible()
  await page.getByLabel("Status").selectOption("failed")
  // Other specs share the database and leave failed runs of their own jobs: only this job's
  // successful run must leave the filtered list.
  await expect(page).toHaveURL(/status=failed/)
  await expect(page.getByRole("cell", { name: "pages-ok" })).toHaveCount(0)
  await expectAccessible(page)
})

test("profile switch turns on browser notifications; a failed run shows one and rings the bell", async ({
  page,
}) => {
  // Stand in for the browser's Notification API (headless Chromium has no notification UI).
  await page.addInitScript(() => {
    const shown: string[] = []
    Object.assign(window, { shownNotifications: shown })
    class RecordingNotification {
      static permission = "default"
      static requestPermission = async () => {
        RecordingNotification.permission = "granted"
        return "granted"
      }
      onclick: (() => void) | null = null
      constructor(title: string) {
        shown.push(title)
      }
      close() {}
    }
    Object.assign(window, { Notification: RecordingNotification })
  })
  // Other specs leave notifications of the admin unread: start from none.
  await ok((await adminAccount()).api.PUT("/api/v1/notifications/read-all"))
  await page.clock.install()
  await signIn(page)
  await page.getByRole("link", { name: "Profile" }).click()
  await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible()
  await expectAccessible(page)
  // Turning it on first asks the browser's permission, then saves: not instant.
  await page.getByRole("switch", { name: "Browser notifications" }).click()
  await expect(page.getByText("Preferences saved.")).toBeVisible()
  await expect(
    page.getByRole("switch", { name: "Browser notifications" }),
  ).toBeChecked()

  await runJob("pages-fail")
  await expect
    .poll(
      async () => {
        await page.clock.fastForward(31_000)
        return page.evaluate(
          () =>
            (window as unknown as { shownNotifications: string[] })
              .shownNotifications.length,
        )
      },
      { timeout: 45_000 },
    )
    .toBeGreaterThan(0)
  await expect(
    page.getByRole("link", { name: /Notifications, 1 unread/ }),
  ).toBeVisible()

  await page.getByRole("link", { name: /Notifications, 1 unread/ }).click()
  await expect(
    page.getByRole("heading", { name: "Notifications" }),
  ).toBeVisible()
  await expectAccessible(page)
  await page.getByRole("button", { name: "Mark all read" }).click()
  await expect(
    page.getByRole("link", { name: "Notifications, none unread" }),
  ).toBeVisible()
  await page.getByRole("button", { name: "Delete read" }).click()
  await page
    .getByRole("dialog")
    .getByRole("button", { name: "Delete read" })
    .click()
  await expect(
    page.getByRole("heading", { name: "No notifications" }),
  ).toBeVisible()
})

test("a viewer sees no import or admin, and direct links say Not allowed", async ({
  page,
}) => {
  await signIn(page, "vera", "viewer-password")
  const nav = page.getByRole("navigation", { name: "Main" })
  await expect(nav.getByRole("link", { name: "Executions" })).toBeVisible()
  await expect(nav.getByRole("link", { name: "Import" })).toHaveCount(0)
  await expect(nav.getByRole("link", { name: "Admin" })).toHaveCount(0)
  for (const path of ["/import", "/admin/users", "/admin/slack"]) {
    await page.goto(path)
    await expect(
      page.getByRole("heading", { name: "Not allowed" }),
    ).toBeVisible()
  }
})
