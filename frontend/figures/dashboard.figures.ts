import { readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import path from "node:path"
import { gzipSync } from "node:zlib"
import { test } from "@playwright/test"
import { adminAccount, createTeam, openAs, QUIET_CRON } from "../e2e/api"
import { stack, targetUrl } from "../e2e/stack"

/**
 * Measures, on this machine:
 * - the initial JavaScript (gzip): the entry script and its modulepreloads in dist/index.html;
 * - the time until the jobs page, with 1,000 jobs stored, shows its first page of rows in
 *   headless Chromium, from the start of the navigation (median of RUNS, signed in);
 * - the e2e suite's wall time, measured around `make e2e` by `make figures` (E2E_WALL_SECONDS).
 * and writes them to docs/dashboard-figures.md.
 */

const ROOT = path.resolve(import.meta.dirname, "../..")
const DIST = path.join(ROOT, "frontend/dist")
const JOBS = 1000
const RUNS = 5

function initialJavaScript(): { files: string[]; gzipBytes: number } {
  const html = readFileSync(path.join(DIST, "index.html"), "utf8")
  const files = [
    ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
  ].map((match) => match[1] ?? "")
  const gzipBytes = files
    .map((file) => gzipSync(readFileSync(path.join(DIST, file))).length)
    .reduce((sum, size) => sum + size, 0)
  return { files, gzipBytes }
}

async function storeJobs(count: number): Promise<void> {
  const admin = await adminAccount()
  const team = await createTeam(admin)
  const rows = Array.from(
    { length: count },
    (_, i) =>
      `figures-job-${String(i).padStart(4, "0")},${QUIET_CRON},${targetUrl("figures")},2099-12-31,${team.slug}`,
  )
  const csv = [
    "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
    ...rows,
  ].join("\n")
  const form = new FormData()
  form.append("file", new Blob([csv], { type: "text/csv" }), "jobs.csv")
  const response = await fetch(`${stack().baseURL}/api/v1/jobs/bulk-upload`, {
    method: "POST",
    headers: { Authorization: `Bearer ${admin.tokens.access}` },
    body: form,
  })
  const answer = (await response.json()) as { created_count?: number }
  if (answer.created_count !== count) {
    throw new Error(`bulk upload: ${JSON.stringify(answer).slice(0, 500)}`)
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

test("dashboard figures", async ({ browser }) => {
  const js = initialJavaScript()
  await storeJobs(JOBS)
  const admin = await adminAccount()

  const timings: number[] = []
  for (let run = 0; run < RUNS; run += 1) {
    // A new context each time: nothing cached, as for a person opening the dashboard.
    const context = await browser.newContext()
    const page = await context.newPage()
    await openAs(page, admin, "/jobs")
    const shownAt = await page.waitForFunction(
      () =>
        document.querySelector("table tbody tr td") !== null &&
        performance.now(),
      undefined,
      { polling: "raf", timeout: 60_000 },
    )
    timings.push((await shownAt.jsonValue()) as number)
    await context.close()
  }

  const wall = process.env.E2E_WALL_SECONDS
  const lines = [
    "# Dashboard figures",
    "",
    `Written by \`make figures\` on ${new Date().toISOString()} (this machine; headless Debian Chromium).`,
    `${cpus().length} CPUs, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(
        " / ",
      )} (1/5/15 min) when measured: figures taken on a busy machine are slower.`,
    "",
    "| figure | value |",
    "|---|---|",
    `| initial JavaScript (gzip) | ${(js.gzipBytes / 1024).toFixed(1)} KiB (${js.files.join(", ")}) |`,
    `| jobs page with ${JOBS} jobs: first page of rows shown | median ${Math.round(median(timings))} ms of ${RUNS} fresh loads (${timings.map(Math.round).join(", ")} ms) |`,
    `| e2e suite wall time (\`make e2e\`, incl. stack start) | ${wall ? `${wall} s` : "not measured (run `make figures`)"} |`,
    "",
  ]
  writeFileSync(path.join(ROOT, "docs/dashboard-figures.md"), lines.join("\n"))
  console.log(lines.join("\n"))
})
