import { useQuery } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { api, unwrap } from "@/api/client"
import { CancelRunButton } from "@/components/executions/CancelRunButton"
import { JobLink } from "@/components/links"
import { StatusBadge } from "@/components/StatusBadge"
import { ErrorState, Loading } from "@/components/states"
import { formatDateTime, formatDuration, formatLateness } from "@/lib/format"

export const Route = createFileRoute("/_app/executions/$executionId")({
  component: ExecutionDetailPage,
})

function ExecutionDetailPage() {
  const { executionId } = Route.useParams()
  const query = useQuery({
    queryKey: ["executions", "detail", executionId],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/executions/{execution_id}", {
          params: { path: { execution_id: executionId } },
        }),
      ),
    // A running execution finishes on its own: look again until it has.
    refetchInterval: (q) =>
      q.state.data?.execution.status === "running" ? 3_000 : false,
  })

  if (query.isPending) return <Loading label="Loading the execution…" />
  if (query.isError)
    return <ErrorState error={query.error} retry={() => query.refetch()} />

  const execution = query.data.execution
  const rows: [string, string][] = [
    ["Slot", formatDateTime(execution.scheduled_for)],
    ["Started", formatDateTime(execution.started_at)],
    ["Ended", formatDateTime(execution.completed_at)],
    ["Duration", formatDuration(execution.duration_seconds)],
    ["Lateness", formatLateness(execution.lateness_ms)],
    ["Attempt", String(execution.attempt)],
    ["Trigger", execution.trigger_type],
    [
      "Type",
      execution.execution_type === "github_actions"
        ? "GitHub Actions"
        : "webhook",
    ],
    ["Target", execution.target ?? "—"],
    ["Response status", String(execution.response_status ?? "—")],
  ]
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline gap-3">
        <h1 className="font-semibold text-2xl">Execution</h1>
        <StatusBadge status={execution.status} />
      </div>
      <CancelRunButton execution={execution} />
      <p className="text-slate-700">
        Of job <JobLink jobId={execution.job_id}>{execution.job_name}</JobLink>
      </p>
      <dl className="grid gap-x-6 gap-y-2 rounded-lg border border-slate-200 bg-white p-4 text-sm sm:grid-cols-[max-content_1fr]">
        {rows.map(([term, value]) => (
          <div key={term} className="contents">
            <dt className="font-medium text-slate-900">{term}</dt>
            <dd className="break-all text-slate-800">{value}</dd>
          </div>
        ))}
      </dl>
      <section aria-labelledby="error-title" className="space-y-2">
        <h2 id="error-title" className="font-semibold text-lg">
          Error
        </h2>
        {execution.error_message ? (
          <pre className="overflow-x-auto whitespace-pre-wrap rounded-lg border border-red-300 bg-red-50 p-3 text-red-900 text-sm">
            {execution.error_message}
          </pre>
        ) : (
          <p className="text-slate-700">No error.</p>
        )}
      </section>
      <section aria-labelledby="output-title" className="space-y-2">
        <h2 id="output-title" className="font-semibold text-lg">
          Output
        </h2>
        {execution.output ? (
          <pre className="overflow-x-auto whitespace-pre-wrap rounded-lg border border-slate-200 bg-white p-3 text-slate-900 text-sm">
            {execution.output}
          </pre>
        ) : (
          <p className="text-slate-700">
            The target sent no response body (the first 4 KiB of it is kept).
          </p>
        )}
      </section>
    </div>
  )
}
