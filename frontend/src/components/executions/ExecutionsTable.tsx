import { Link } from "@tanstack/react-router"
import type { Schemas } from "@/api/client"
import { StatusBadge } from "@/components/StatusBadge"
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
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
      <table className="min-w-full divide-y divide-slate-200 text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-100 text-left text-slate-900">
          <tr>
            <th scope="col" className="px-3 py-2 font-semibold">
              Slot
            </th>
            {showJob ? (
              <th scope="col" className="px-3 py-2 font-semibold">
                Job
              </th>
            ) : null}
            <th scope="col" className="px-3 py-2 font-semibold">
              Status
            </th>
            <th scope="col" className="px-3 py-2 font-semibold">
              Trigger
            </th>
            <th scope="col" className="px-3 py-2 font-semibold">
              Type
            </th>
            <th scope="col" className="px-3 py-2 font-semibold">
              Attempt
            </th>
            <th scope="col" className="px-3 py-2 font-semibold">
              Response
            </th>
            <th scope="col" className="px-3 py-2 font-semibold">
              Duration
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200">
          {executions.map((execution) => (
            <tr key={execution.id}>
              <td className="px-3 py-2">
                <Link
                  to="/executions/$executionId"
                  params={{ executionId: execution.id }}
                  className="text-blue-800 underline"
                >
                  {formatDateTime(execution.scheduled_for)}
                </Link>
              </td>
              {showJob ? (
                <td className="px-3 py-2">
                  <Link
                    to="/jobs/$jobId"
                    params={{ jobId: execution.job_id }}
                    className="text-blue-800 underline"
                  >
                    {execution.job_name}
                  </Link>
                </td>
              ) : null}
              <td className="px-3 py-2">
                <StatusBadge status={execution.status} />
              </td>
              <td className="px-3 py-2">{execution.trigger_type}</td>
              <td className="px-3 py-2">
                {execution.execution_type === "github_actions"
                  ? "GitHub Actions"
                  : "webhook"}
              </td>
              <td className="px-3 py-2">{execution.attempt}</td>
              <td className="px-3 py-2">{execution.response_status ?? "—"}</td>
              <td className="px-3 py-2">
                {formatDuration(execution.duration_seconds)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
