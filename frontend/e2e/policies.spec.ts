import { expect, test } from "@playwright/test"
import { createAccount, createJob, createTeam, ok, openAs, unique } from "./api"

/** Issue 13's policies in the dashboard: the editor's fields, cancelling a running run. */
test.describe.configure({ timeout: 120_000 })

test("the owner cancels a running run; a viewer is not offered to", async ({
  page,
  browser,
}) => {
  const owner = await createAccount("user")
  const admin = await createAccount("admin")
  const team = await createTeam(admin)
  // The target answers after two minutes: the run stays running until it is cancelled.
  const job = await createJob(owner, team.slug, {
    delaySeconds: 120,
    policies: { max_retries: 3, timeout_seconds: 300 },
  })
  const { execution } = await ok(
    owner.api.POST("/api/v1/jobs/{job_id}/execute", {
      params: { path: { job_id: job.id } },
      body: {},
    }),
  )

  const viewer = await createAccount("viewer")
  const viewerPage = await browser.newPage()
  await openAs(viewerPage, viewer, `/executions/${execution.id}`)
  await expect(viewerPage.getByText("Running")).toBeVisible()
  await expect(
    viewerPage.getByRole("button", { name: "Cancel run" }),
  ).toHaveCount(0)
  await viewerPage.close()

  await openAs(page, owner, `/executions/${execution.id}`)
  await page.getByRole("button", { name: "Cancel run" }).click()
  await page.getByRole("button", { name: "Cancel the run" }).click()
  await expect(page.getByText("Cancelled", { exact: true })).toBeVisible()
  await expect(page.getByText(`cancelled by ${owner.username}`)).toBeVisible()
  await expect(page.getByRole("button", { name: "Cancel run" })).toHaveCount(0)
})

test("the editor sets the overlap, catch-up and retry policies", async ({
  page,
}) => {
  const owner = await createAccount("user")
  const admin = await createAccount("admin")
  const team = await createTeam(admin)
  const job = await createJob(owner, team.slug, { name: unique("policies") })

  await openAs(page, owner, `/jobs/${job.id}/edit`)
  await page.getByLabel("Retries").fill("4")
  await page.getByLabel("Maximum backoff (seconds)").fill("120")
  await page.getByLabel("Overlapping runs").selectOption({ value: "forbid" })
  await page.getByLabel("Missed slots").selectOption({ value: "all" })
  await page.getByLabel("Misfire grace (seconds)").fill("0")
  await page.getByRole("button", { name: "Save changes" }).click()
  // 0 is refused beside its field; the rest of the form is kept.
  await expect(page.getByText(/greater than or equal to 1/)).toBeVisible()
  await page.getByLabel("Misfire grace (seconds)").fill("900")
  await page.getByRole("button", { name: "Save changes" }).click()
  await expect(page.getByRole("heading", { name: "Jobs" })).toBeVisible()

  const { job: saved } = await ok(
    owner.api.GET("/api/v1/jobs/{job_id}", {
      params: { path: { job_id: job.id } },
    }),
  )
  expect([
    saved.max_retries,
    saved.max_backoff_seconds,
    saved.min_backoff_seconds,
    saved.concurrency_policy,
    saved.catchup,
    saved.misfire_grace_seconds,
  ]).toEqual([4, 120, null, "forbid", "all", 900])
  await openAs(page, owner, `/jobs/${job.id}`)
  await expect(page.getByText(/forbid \(a slot due/)).toBeVisible()
  await expect(page.getByText("all, grace 900 s")).toBeVisible()
})
