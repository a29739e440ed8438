import { describe, expect, it } from "vitest"
import type { Schemas } from "@/api/client"
import { importResultTable } from "./results"

type ImportedJob = Schemas["BulkUploadJob"]

function job(overrides: Partial<ImportedJob>): ImportedJob {
  return {
    row: 2,
    id: "00000000-0000-0000-0000-000000000001",
    name: "nightly",
    cron_expression: "0 2 * * *",
    timezone: "Asia/Tokyo",
    target_url: "https://example.com/hook",
    http_method: "POST",
    github_owner: null,
    github_repo: null,
    github_workflow_name: null,
    metadata: {},
    headers: [],
    signing_secret_rotated_at: null,
    category: "general",
    pic_team: "ops",
    end_date: "2027-01-01",
    enable_email_notifications: false,
    notification_emails: [],
    notify_on_success: false,
    timeout_seconds: 30,
    max_retries: 0,
    min_backoff_seconds: null,
    max_backoff_seconds: null,
    max_doublings: 5,
    max_retry_duration_seconds: 0,
    concurrency_policy: "allow",
    catchup: "latest",
    misfire_grace_seconds: null,
    created_by: null,
    is_active: true,
    created_at: "2026-12-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    last_execution_at: null,
    last_execution: null,
    next_execution_at: null,
    ...overrides,
  }
}

const answer = (
  overrides: Partial<Schemas["BulkUploadResponse"]>,
): Schemas["BulkUploadResponse"] => ({
  dry_run: true,
  stats: {
    original_row_count: 4,
    removed_empty_row_count: 1,
    processed_row_count: 3,
  },
  created_count: 2,
  error_count: 1,
  errors: [{ row: 3, name: "broken", error: "cron_expression: bad" }],
  jobs: [
    job({}),
    job({
      row: 4,
      name: "deploy",
      target_url: null,
      github_owner: "acme",
      github_repo: "site",
      github_workflow_name: "deploy.yml",
      is_active: false,
    }),
  ],
  ...overrides,
})

describe("importResultTable", () => {
  it("merges a dry run's jobs and row errors into one table in row order", () => {
    const table = importResultTable(answer({}))

    expect(table.summary).toBe(
      "Dry run of 3 rows: 2 jobs would be created, 1 row has errors. Nothing was saved. 1 empty row was skipped.",
    )
    expect(table.created).toBe(2)
    expect(table.rows.map((row) => [row.row, row.name, row.outcome])).toEqual([
      [2, "nightly", "would create"],
      [3, "broken", "error"],
      [4, "deploy", "would create"],
    ])
    expect(table.rows[0]?.detail).toBe(
      "0 2 * * * (Asia/Tokyo) · POST https://example.com/hook · team ops · category general · active",
    )
    expect(table.rows[1]?.detail).toBe("cron_expression: bad")
    expect(table.rows[2]?.detail).toContain("GitHub acme/site · deploy.yml")
    expect(table.rows[2]?.detail).toContain("paused")
  })

  it("says what was saved on a real import, every row in order", () => {
    const table = importResultTable(
      answer({
        dry_run: false,
        created_count: 1,
        error_count: 2,
        stats: {
          original_row_count: 3,
          removed_empty_row_count: 0,
          processed_row_count: 3,
        },
        errors: [
          { row: 4, name: "b", error: "x" },
          { row: 2, name: null, error: "y" },
        ],
        jobs: [job({ row: 3 })],
      }),
    )

    expect(table.summary).toBe("Imported: 1 job created, 2 rows have errors.")
    expect(table.rows.map((row) => [row.row, row.name, row.outcome])).toEqual([
      [2, null, "error"],
      [3, "nightly", "created"],
      [4, "b", "error"],
    ])
  })
})
