import type { Schemas } from "@/api/client"

type BulkUploadResponse = Schemas["BulkUploadResponse"]
type Job = Schemas["JobRead"]

export interface CreatedRow {
  key: string
  name: string
  schedule: string
  target: string
  team: string
  category: string
  state: "active" | "paused"
}

export interface ImportResultTable {
  /** One sentence for the live region: what happened, or what would. */
  summary: string
  created: CreatedRow[]
  errors: Schemas["BulkUploadRowError"][]
}

function target(job: Job): string {
  if (job.target_url) return `${job.http_method} ${job.target_url}`
  return `GitHub ${job.github_owner}/${job.github_repo} · ${job.github_workflow_name}`
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`
}

/** The bulk-upload answer as the import page's two tables and its summary. */
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
  return {
    summary,
    created: result.jobs.map((job, index) => ({
      // Dry-run previews carry ids that were never stored; the position keeps keys unique.
      key: `${index}-${job.id}`,
      name: job.name,
      schedule: `${job.cron_expression} (${job.timezone})`,
      target: target(job),
      team: job.pic_team,
      category: job.category,
      state: job.is_active ? "active" : "paused",
    })),
    errors: [...result.errors].sort((a, b) => a.row - b.row),
  }
}
