import type { Schemas } from "@/api/client"
import { ExecutionLink, JobLink } from "@/components/links"
import { StatusBadge } from "@/components/StatusBadge"
import { Cell, DataTable } from "@/components/ui/DataTable"
import { formatDateTime, formatDuration } from "@/lib/format"

type Execution = Schemas["ExecutionRead"]

/** Executions newest first; each row links to the execution's detail page. */
export function ExecutionsTable({
  executions,
  caption,
  showJob = true,
}: {
  executions: Execution[]
  caption: string
  showJob?: boolean
}) {
  return (
    <DataTable
      caption={caption}
      columns={[
        "Slot",
        showJob ? "Job" : null,
        "Status",
        "Trigger",
        "Type",
        "Attempt",
        "Response",
        "Duration",
      ]}
    >
      {executions.map((execution) => (
        <tr key={execution.id}>
          <Cell>
            <ExecutionLink executionId={execution.id}>
              {formatDateTime(execution.scheduled_for)}
            </ExecutionLink>
          </Cell>
          {showJob ? (
            <Cell>
              <JobLink jobId={execution.job_id}>{execution.job_name}</JobLink>
            </Cell>
          ) : null}
          <Cell>
            <StatusBadge status={execution.status} />
          </Cell>
          <Cell>{execution.trigger_type}</Cell>
          <Cell>
            {execution.execution_type === "github_actions"
              ? "GitHub Actions"
              : "webhook"}
          </Cell>
          <Cell>{execution.attempt}</Cell>
          <Cell>{execution.response_status ?? "—"}</Cell>
          <Cell>{formatDuration(execution.duration_seconds)}</Cell>
        </tr>
      ))}
    </DataTable>
  )
}
