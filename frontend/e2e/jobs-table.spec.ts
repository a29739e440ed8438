import { expect, type Page, test } from "@playwright/test"
import {
  type Account,
  adminAccount,
  createAccount,
  createJob,
  createTeam,
  type Job,
  ok,
  openAs,
  unique,
} from "./api"

/**
 * The jobs table's filters, sorting, paging, hover time and row actions, on jobs of its own:
 * every name starts with `prefix`, and each page is opened searching for it, so the jobs other
 * specs leave in the shared database never show.
 */

// The viewer's zone, unlike the jobs' (UTC, New York): the hover time must be the viewer's.
test.use({ timezoneId: "Asia/Tokyo" })

const prefix = unique("tbl")
const PER_PAGE = 20
/** One more than a page: Alice's jobs, in UTC. */
const aliceNames = Array.from(
  { length: PER_PAGE + 1 },
  (_, index) => `${prefix}-a-${String(index + 1).padStart(2, "0")}`,
)
/** Bob's jobs, in New York time, in a team and category of their own; the last one paused. */
const bobNames = [1, 2, 3].map((n) => `${prefix}-b-${n}`)
const byName = [...aliceNames, ...bobNames]

let viewer: Account
let alice: Account
let bob: Account
let bobTeamName: string
let bobCategoryName: string
const aliceJobs: Job[] = []
const bobJobs: Job[] = []

async function createCategory(admin: Account) {
  const { category } = await ok(
    admin.api.POST("/api/v1/job-categories", {
      body: { name: unique("Category") },
    }),
  )
  return category
}

test.beforeAll(async () => {
  const admin = await adminAccount()
  // A fresh admin: its column choice is the default (all shown), whatever other specs chose.
  viewer = await createAccount("admin")
  alice = await createAccount("user")
  bob = await createAccount("user")
  const aliceTeam = await createTeam(admin)
  const bobTeam = await createTeam(admin)
  const aliceCategory = await createCategory(admin)
  const bobCategory = await createCategory(admin)
  bobTeamName = bobTeam.name
  bobCategoryName = bobCategory.name
  for (const name of aliceNames) {
    aliceJobs.push(
      await createJob(alice, aliceTeam.slug, {
        name,
        policies: { category: aliceCategory.slug },
      }),
    )
  }
  for (const [index, name] of bobNames.entries()) {
    bobJobs.push(
      await createJob(bob, bobTeam.slug, {
        name,
        policies: {
          category: bobCategory.slug,
          timezone: "America/New_York",
          is_active: index < bobNames.length - 1,
        },
      }),
    )
  }
})

test.afterAll(async () => {
  // Leave the shared database as the next specs expect it: without these jobs.
  const admin = await adminAccount()
  for (const job of [...aliceJobs, ...bobJobs]) {
    await admin.api.DELETE("/api/v1/jobs/{job_id}", {
      params: { path: { job_id: job.id } },
    })
  }
})

/** The names in the table's Name column, top to bottom. */
const names = (page: Page) =>
  page.getByRole("table").getByRole("link", { name: new RegExp(`^${prefix}-`) })

const searchUrl = `/jobs?search=${prefix}`

test("filters by category, PIC team, state and owner, each kept in the URL", async ({
  page,
}) => {
  await openAs(page, viewer, searchUrl)
  await expect(
    page.getByText(`Page 1 of 2 (${byName.length} results)`),
  ).toBeVisible()
  // Newest first (the default order).
  const bobNewestFirst = [...bobNames].reverse()

  await page
    .getByRole("combobox", { name: "Category" })
    .selectOption({ label: bobCategoryName })
  await expect(page).toHaveURL(/[?&]category=/)
  await expect(names(page)).toHaveText(bobNewestFirst)
  await page
    .getByRole("combobox", { name: "Category" })
    .selectOption({ label: "All" })
  await expect(names(page)).toHaveCount(PER_PAGE)

  await page
    .getByRole("combobox", { name: "PIC team" })
    .selectOption({ label: bobTeamName })
  await expect(page).toHaveURL(/[?&]pic_team=/)
  await expect(names(page)).toHaveText(bobNewestFirst)
  await page
    .getByRole("combobox", { name: "PIC team" })
    .selectOption({ label: "All" })

  await page.getByRole("combobox", { name: "State" }).selectOption("paused")
  await expect(page).toHaveURL(/[?&]status=paused/)
  await expect(names(page)).toHaveText([`${prefix}-b-3`])
  await expect(page.getByRole("row").filter({ hasText: prefix })).toContainText(
    "Paused",
  )
  await page.getByRole("combobox", { name: "State" }).selectOption("active")
  await expect(
    page.getByText(`Page 1 of 2 (${byName.length - 1} results)`),
  ).toBeVisible()
  await page
    .getByRole("combobox", { name: "State" })
    .selectOption({ label: "All" })

  await page
    .getByRole("combobox", { name: "Owner" })
    .selectOption({ label: alice.username })
  await expect(page).toHaveURL(/[?&]owner=/)
  await expect(
    page.getByText(`Page 1 of 2 (${aliceNames.length} results)`),
  ).toBeVisible()
  await page
    .getByRole("combobox", { name: "Owner" })
    .selectOption({ label: bob.username })
  await expect(names(page)).toHaveText(bobNewestFirst)

  // The URL alone brings the same table back.
  await page.reload()
  await expect(page.getByRole("combobox", { name: "Owner" })).toHaveValue(
    bobJobs[0]?.created_by ?? "",
  )
  await expect(names(page)).toHaveText(bobNewestFirst)
})

test("sorts by name both ways and pages through the result", async ({
  page,
}) => {
  await openAs(page, viewer, searchUrl)
  const nameHeader = page.getByRole("columnheader", { name: "Name" })
  await expect(nameHeader).toHaveAttribute("aria-sort", "none")

  await nameHeader.getByRole("button").click()
  await expect(page).toHaveURL(/[?&]sort=name(&|$)/)
  await expect(nameHeader).toHaveAttribute("aria-sort", "ascending")
  await expect(names(page)).toHaveText(byName.slice(0, PER_PAGE))

  await page.getByRole("button", { name: "Next page" }).click()
  await expect(page).toHaveURL(/[?&]page=2/)
  await expect(
    page.getByText(`Page 2 of 2 (${byName.length} results)`),
  ).toBeVisible()
  await expect(names(page)).toHaveText(byName.slice(PER_PAGE))
  await expect(page.getByRole("button", { name: "Next page" })).toBeDisabled()

  // A new order starts again at page 1.
  await nameHeader.getByRole("button").click()
  await expect(page).toHaveURL(/[?&]sort=-name(&|$)/)
  await expect(page).not.toHaveURL(/[?&]page=/)
  await expect(nameHeader).toHaveAttribute("aria-sort", "descending")
  await expect(names(page)).toHaveText([...byName].reverse().slice(0, PER_PAGE))
})

test("the next run shows in the job's zone, and in the viewer's on hover", async ({
  page,
}) => {
  const job = bobJobs[0]
  if (!job?.next_execution_at) throw new Error("the seeded job has no next run")
  await openAs(page, viewer, `/jobs?search=${job.name}`)
  const nextRun = page
    .getByRole("row")
    .filter({ hasText: job.name })
    .locator(`time[datetime="${job.next_execution_at}"]`)
  const year = job.next_execution_at.slice(0, 4)

  // 04:30 on 1 January in New York (UTC-5 then) is 18:30 in Tokyo (UTC+9), the same day.
  await expect(nextRun).toHaveText(`${year}-01-01 04:30`)
  await expect(nextRun).toHaveAttribute(
    "title",
    `${year}-01-01 18:30 (Asia/Tokyo)`,
  )
})

test("an owner edits and deletes their own job, after confirming", async ({
  page,
}) => {
  // Both on the first page, newest first.
  const mine = aliceJobs.at(-1)
  const other = bobJobs[0]
  if (!mine || !other) throw new Error("nothing seeded")
  await openAs(page, alice, searchUrl)
  const row = (job: Job) => page.getByRole("row").filter({ hasText: job.name })
  await expect(row(other)).toBeVisible()
  await expect(row(other).getByRole("link", { name: /^Edit / })).toHaveCount(0)

  const edit = row(mine).getByRole("link", { name: `Edit ${mine.name}` })
  await expect(edit).toHaveAttribute("href", `/jobs/${mine.id}/edit`)
  await edit.click()
  await expect(
    page.getByRole("heading", { name: `Edit ${mine.name}` }),
  ).toBeVisible()
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue(mine.name)

  // A job of its own, so the other tests' jobs stay.
  const doomed = await createJob(alice, mine.pic_team, {
    name: `${prefix}-doomed`,
  })
  await page.goto(`/jobs?search=${doomed.name}`)
  await row(doomed)
    .getByRole("button", { name: `Delete ${doomed.name}` })
    .click()
  const dialog = page.getByRole("dialog", { name: `Delete ${doomed.name}?` })
  await expect(dialog).toContainText("cannot be undone")
  // Cancel keeps it.
  await dialog.getByRole("button", { name: "Cancel" }).click()
  await expect(dialog).toHaveCount(0)
  await expect(row(doomed)).toBeVisible()

  await row(doomed)
    .getByRole("button", { name: `Delete ${doomed.name}` })
    .click()
  await dialog.getByRole("button", { name: "Delete" }).click()
  await expect(dialog).toHaveCount(0)
  await expect(row(doomed)).toHaveCount(0)
  await expect(page.getByText("No job matches.")).toBeVisible()
  const { response } = await alice.api.GET("/api/v1/jobs/{job_id}", {
    params: { path: { job_id: doomed.id } },
  })
  expect(response.status).toBe(404)
})
