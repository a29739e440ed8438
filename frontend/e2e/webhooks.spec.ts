import AxeBuilder from "@axe-core/playwright"
import { expect, test } from "@playwright/test"
import { adminAccount, createTeam, ok, runNow, unique } from "./api"
import { lastCallHeaders, signIn, targetUrl } from "./stack"

const SECRET = "Bearer e2e-s3cret-9d1"
const REPLACED = "Bearer e2e-r3placed-4c2"

test("job headers: secret values are never read back, the signing secret is shown once and rotates", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"])
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const name = unique("signed")
  await signIn(page)

  await page.goto("/jobs/new")
  await page.getByLabel("Name", { exact: true }).fill(name)
  await page.getByLabel("Webhook URL").fill(targetUrl(name))
  await page.getByLabel("PIC team").selectOption({ label: team.name })
  await page.getByRole("button", { name: "Add header" }).click()
  await page.getByLabel("Header 1 name").fill("Authorization")
  await page.getByRole("checkbox", { name: "Secret" }).first().check()
  await page.getByLabel("Authorization value").fill(SECRET)
  await expect(page.getByLabel("Authorization value")).toHaveAttribute(
    "type",
    "password",
  )
  await page.getByRole("button", { name: "Add header" }).click()
  await page.getByLabel("Header 2 name").fill("X-Team")
  await page.getByLabel("X-Team value").fill("data")
  const axe = await new AxeBuilder({ page }).analyze()
  expect(
    axe.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => v.id),
  ).toEqual([])
  await page.getByRole("button", { name: "Create job" }).click()

  // The signing secret, once, with a copy button.
  const shown = page.getByTestId("signing-secret")
  await expect(shown).toHaveText(/^whsec_[A-Za-z0-9+/]{43}=$/)
  const firstSecret = (await shown.textContent()) ?? ""
  await page.getByRole("button", { name: "Copy" }).click()
  await expect(page.getByText("Copied")).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
    firstSecret,
  )
  await page.getByRole("button", { name: "Done" }).click()
  await expect(
    page.getByRole("heading", { name: "Jobs", level: 1 }),
  ).toBeVisible()

  const { jobs } = await ok(
    admin.api.GET("/api/v1/jobs", { params: { query: { search: name } } }),
  )
  const [job] = jobs
  if (!job) throw new Error("the job was not created")
  expect(job.headers).toEqual([
    { name: "Authorization", value: null, secret: true },
    { name: "X-Team", value: "data", secret: false },
  ])
  await runNow(admin, job)
  const sent = await lastCallHeaders(name)
  expect(sent.authorization).toBe(SECRET)
  expect(sent["x-team"]).toBe("data")
  expect(sent["webhook-signature"]).toMatch(/^v1,/)
  expect(sent["webhook-id"]).toBe(sent["idempotency-key"])

  // The job page: the secret is "set", its value nowhere in the page.
  await page.goto(`/jobs/${job.id}`)
  await expect(page.getByText("Authorization: set (secret)")).toBeVisible()
  expect(await page.content()).not.toContain("e2e-s3cret")
  await page.getByRole("button", { name: "Rotate signing secret" }).click()
  await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click()
  await expect(page.getByTestId("signing-secret")).toHaveText(/^whsec_/)
  expect(await page.getByTestId("signing-secret").textContent()).not.toBe(
    firstSecret,
  )
  await expect(
    page.getByText(/previous secret also signs calls until/),
  ).toBeVisible()
  await runNow(admin, job)
  expect(
    (await lastCallHeaders(name))["webhook-signature"]?.split(" "),
  ).toHaveLength(2)

  // The editor: "set", never read back; replacing sends the new value, the rest is kept.
  await page.goto(`/jobs/${job.id}/edit`)
  await expect(page.getByText("set (the value of Authorization)")).toBeVisible()
  await expect(page.getByLabel("Authorization value")).toHaveCount(0)
  expect(await page.content()).not.toContain("e2e-s3cret")
  await page
    .getByRole("button", { name: "Replace the value of Authorization" })
    .click()
  await page.getByLabel("Authorization value").fill(REPLACED)
  await page.getByRole("button", { name: "Save changes" }).click()
  await expect(
    page.getByRole("heading", { name: "Jobs", level: 1 }),
  ).toBeVisible()
  await runNow(admin, job)
  expect((await lastCallHeaders(name)).authorization).toBe(REPLACED)

  // Removing a header removes it.
  await page.goto(`/jobs/${job.id}/edit`)
  await page.getByRole("button", { name: "Remove Authorization" }).click()
  await page.getByRole("button", { name: "Save changes" }).click()
  await expect(
    page.getByRole("heading", { name: "Jobs", level: 1 }),
  ).toBeVisible()
  const { job: after } = await ok(
    admin.api.GET("/api/v1/jobs/{job_id}", {
      params: { path: { job_id: job.id } },
    }),
  )
  expect(after.headers).toEqual([
    { name: "X-Team", value: "data", secret: false },
  ])
})
