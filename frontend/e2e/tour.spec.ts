import path from "node:path"
import AxeBuilder from "@axe-core/playwright"
import { expect, type Page, test } from "@playwright/test"
import {
  adminAccount,
  createJob,
  createTeam,
  type Job,
  ok,
  openAs,
  runNow,
} from "./api"

/**
 * Every main page, with data in it: no serious or critical accessibility violation (axe), and
 * with E2E_SCREENSHOTS=1 (`make screenshots`) its screenshot for the README.
 */

const SCREENSHOTS = path.resolve(import.meta.dirname, "../../docs/screenshots")

interface MainPage {
  file: string
  path: (job: Job) => string
  heading: (job: Job) => string
  signedIn?: false
  /** Why the page cannot be checked yet (it has not landed). */
  waitsFor?: string
}

const MAIN_PAGES: MainPage[] = [
  {
    file: "01-sign-in",
    path: () => "/login",
    heading: () => "Sign in to Cron Job Service",
    signedIn: false,
  },
  { file: "02-home", path: () => "/", heading: () => "Home" },
  {
    file: "03-jobs",
    path: () => "/jobs",
    heading: () => "Jobs",
  },
  {
    file: "04-job-editor",
    path: () => "/jobs/new",
    heading: () => "New job",
  },
  {
    file: "05-job-detail",
    path: (job) => `/jobs/${job.id}`,
    heading: (job) => job.name,
  },
  {
    file: "06-executions",
    path: () => "/executions",
    heading: () => "Executions",
  },
  {
    file: "07-notifications",
    path: () => "/notifications",
    heading: () => "Notifications",
  },
  {
    file: "08-import",
    path: () => "/import",
    heading: () => "Import jobs from CSV",
  },
  {
    file: "09-admin",
    path: () => "/admin/users",
    heading: () => "Users",
  },
  {
    file: "09-admin-pic-teams",
    path: () => "/admin/pic-teams",
    heading: () => "PIC teams",
  },
  {
    file: "10-profile",
    path: () => "/profile",
    heading: () => "Profile",
  },
  {
    file: "11-api-keys",
    path: () => "/api-keys",
    heading: () => "API keys",
  },
]

let shown: Job

test.beforeAll(async () => {
  const admin = await adminAccount()
  // A worker restarted after a failure finds the data of the first one.
  const { jobs } = await ok(
    admin.api.GET("/api/v1/jobs", {
      params: { query: { search: "nightly-backup" } },
    }),
  )
  if (jobs[0]) {
    shown = jobs[0]
    return
  }
  const team = await createTeam(admin, "Data platform")
  shown = await createJob(admin, team.slug, { name: "nightly-backup" })
  await runNow(admin, shown)
  await createJob(admin, team.slug, { name: "sync-invoices" })
  const failing = await createJob(admin, team.slug, {
    name: "weekly-report",
    status: 500,
  })
  await runNow(admin, failing)
})

async function settled(page: Page, heading: string) {
  await expect(
    page.getByRole("heading", { name: heading, level: 1 }),
  ).toBeVisible()
  await expect(page.getByText(/^Loading.*…$/)).toHaveCount(0)
}

for (const main of MAIN_PAGES) {
  test(`${main.file}: no serious or critical accessibility violation`, async ({
    page,
  }, testInfo) => {
    test.fixme(main.waitsFor !== undefined, `waits for ${main.waitsFor}`)
    if (main.signedIn === false) await page.goto(main.path(shown))
    else await openAs(page, await adminAccount(), main.path(shown))
    await settled(page, main.heading(shown))

    const { violations } = await new AxeBuilder({ page }).analyze()
    const counts = violations.map((v) => `${v.id} (${v.impact})`)
    const summary = counts.length ? counts.join(", ") : "no violations"
    testInfo.annotations.push({ type: "axe", description: summary })
    console.log(`axe ${main.file}: ${summary}`)
    const blocking = violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        rule: v.id,
        impact: v.impact,
        help: v.help,
        where: v.nodes.map((node) => node.target.join(" ")),
      }))
    expect(blocking).toEqual([])

    if (process.env.E2E_SCREENSHOTS === "1") {
      await page.screenshot({
        path: path.join(SCREENSHOTS, `${main.file}.png`),
      })
    }
  })
}
