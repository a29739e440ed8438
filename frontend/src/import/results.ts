import type { Schemas } from "@/api/client"

type BulkUploadResponse = Schemas["BulkUploadResponse"]
type ImportedJob = Schemas["BulkUploadJob"]

export type RowOutcome = "created" | "would create" | "error"

/** One CSV row and what became of it. */
export interface ImportRow {
  /** The row number a spreadsheet shows (the header is row 1). */
  row: number
  name: string | null
  outcome: RowOutcome
  /** The error's message, or what the job is: schedule, target, team, category, state. */
  detail: string
}

export interface ImportResultTable {
  /** One sentence for the live region: what happened, or what would. */
  summary: string
  /** Every processed row, created or refused, in row order. */
  rows: ImportRow[]
  /** Rows that were (on a dry run: would be) created. */
  created: number
}

function target(job: ImportedJob): string {
  if (job.target_url) return `${job.http_method} ${job.target_url}`
  return `GitHub ${job.github_owner}/${job.github_repo} · ${job.github_workflow_name}`
}

function whatItIs(job: ImportedJob): string {
  return [
    `${job.cron_expression} (${job.timezone})`,
    target(job),
    `team ${job.pic_team}`,
    `category ${job.category}`,
    job.is_active ? "active" : "paused",
  ].join(" · ")
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`
}

/** The bulk-upload answer as the import page's per-row table and its summary. */
export function importResultTable(
  result: BulkUploadResponse,
): ImportResultTable {
  const { stats } = result
  const jobs = plural(result.created_count, "job", "jobs")
  const failing = plural(result.error_count, "row has", "rows have")
  const skipped =
    stats.removed_empty_row_count > 0
      ? ` ${plural(stats.removed_empty_row_count, "empty row was", "empty rows were")} skipped.`
      : ""
  const summary = result.dry_run
    ? `Dry run of ${plural(stats.processed_row_count, "row", "rows")}: ${jobs} would be created, ${failing} errors. Nothing was saved.${skipped}`
    : `Imported: ${jobs} created, ${failing} errors.${skipped}`
  const created: ImportRow[] = result.jobs.map((job) => ({
    row: job.row,
    name: job.name,
    outcome: result.dry_run ? "would create" : "created",
    detail: whatItIs(job),
  }))
  const refused: ImportRow[] = result.errors.map((error) => ({
    row: error.row,
    name: error.name,
    outcome: "error",
    detail: error.error,
  }))
  return {
    summary,
    rows: [...created, ...refused].sort((a, b) => a.row - b.row),
    created: created.length,
  }
}
