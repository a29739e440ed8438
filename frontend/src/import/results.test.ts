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
    category: "general",
    pic_team: "ops",
    end_date: "2027-01-01",
    enable_email_notifications: false,
    notification_emails: [],
    notify_on_success: false,
    timeout_seconds: 30,
    max_retries: 0,
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
  it("maps a dry run to rows that would be created and the row errors", () => {
    const table = importResultTable(answer({}))

    expect(table.summary).toBe(
      "Dry run of 3 rows: 2 jobs would be created, 1 row has errors. Nothing was saved. 1 empty row was skipped.",
    )
    expect(
      table.created.map((row) => [row.name, row.target, row.state]),
    ).toEqual([
      ["nightly", "POST https://example.com/hook", "active"],
      ["deploy", "GitHub acme/site · deploy.yml", "paused"],
    ])
    expect(table.created[0]?.schedule).toBe("0 2 * * * (Asia/Tokyo)")
    expect(new Set(table.created.map((row) => row.key)).size).toBe(2)
    expect(table.errors).toEqual([
      { row: 3, name: "broken", error: "cron_expression: bad" },
    ])
  })

  it("says what was saved on a real import, errors in row order", () => {
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
          { row: 2, name: "a", error: "y" },
        ],
        jobs: [job({})],
      }),
    )

    expect(table.summary).toBe("Imported: 1 job created, 2 rows have errors.")
    expect(table.errors.map((error) => error.row)).toEqual([2, 4])
  })
})
