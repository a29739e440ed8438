import { queryOptions, useQuery } from "@tanstack/react-query"
import { createFileRoute, Link } from "@tanstack/react-router"
import { api, type Schemas, unwrap } from "@/api/client"
import { jobQuery } from "@/api/queries"
import { can } from "@/auth/roles"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { ExecutionsTable } from "@/components/executions/ExecutionsTable"
import { Pagination } from "@/components/Pagination"
import { EXECUTION_STATUSES } from "@/components/StatusBadge"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Field, inputClass } from "@/components/ui/Field"
import { RotateSigningSecret } from "@/features/jobs/SigningSecret"
import {
  formatDateTime,
  formatDuration,
  formatLateness,
  formatPercent,
} from "@/lib/format"
import { oneOf, pageParam } from "@/lib/search"

const PER_PAGE = 20

export const Route = createFileRoute("/_app/jobs/$jobId/")({
  validateSearch: (
    search: Record<string, unknown>,
  ): { status?: Schemas["ExecutionStatus"] | undefined; page?: number } => ({
    status: oneOf(search.status, EXECUTION_STATUSES),
    page: pageParam(search.page),
  }),
  component: JobDetailPage,
})

const statsQuery = (jobId: string) =>
  queryOptions({
    queryKey: ["jobs", jobId, "stats"],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/jobs/{job_id}/executions/stats", {
          params: { path: { job_id: jobId } },
        }),
      ),
  })

const historyQuery = (
  jobId: string,
  status: Schemas["ExecutionStatus"] | undefined,
  page: number,
) =>
  queryOptions({
    queryKey: ["jobs", jobId, "executions", { status, page }],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/jobs/{job_id}/executions", {
          params: {
            path: { job_id: jobId },
            query: {
              status: status ? [status] : undefined,
              page,
              limit: PER_PAGE,
            },
          },
        }),
      ),
    placeholderData: (previous) => previous,
    // A run in progress finishes on its own: look again until none is running.
    refetchInterval: (query) =>
      query.state.data?.executions.some((e) => e.status === "running")
        ? 3_000
        : false,
  })

function JobDetailPage() {
  const { jobId } = Route.useParams()
  const user = useCurrentUser()
  const job = useQuery(jobQuery(jobId))

  if (job.isPending) return <Loading label="Loading the job…" />
  if (job.isError)
    return <ErrorState error={job.error} retry={() => job.refetch()} />

  const data = job.data.job
  return (
    <div className="space-y-8">
      <div className="flex flex-wrap items-baseline gap-3">
        <h1 className="font-semibold text-2xl">{data.name}</h1>
        <span
          className={`rounded-full px-2 py-0.5 font-medium text-xs ${data.is_active ? "bg-green-100 text-green-900" : "bg-slate-200 text-slate-900"}`}
        >
          {data.is_active ? "active" : "paused"}
        </span>
      </div>
      <JobSettings job={data} />
      {data.target_url && can.changeJob(user, data) ? (
        <RotateSigningSecret jobId={jobId} />
      ) : null}
      <JobStatistics jobId={jobId} />
      <JobHistory jobId={jobId} />
    </div>
  )
}

function retrySummary(job: Schemas["JobRead"]): string {
  if (job.max_retries === 0) return "none"
  const bound = (value: number | null) =>
    value === null ? "default" : `${value} s`
  const duration =
    job.max_retry_duration_seconds === 0
      ? ""
      : `, within ${job.max_retry_duration_seconds} s of the slot`
  return `${job.max_retries}, backoff ${bound(job.min_backoff_seconds)} to ${bound(
    job.max_backoff_seconds,
  )}, ${job.max_doublings} doublings${duration}`
}

function JobSettings({ job }: { job: Schemas["JobRead"] }) {
  const target = job.target_url
    ? `${job.http_method} ${job.target_url}`
    : `GitHub Actions ${job.github_owner}/${job.github_repo} · ${job.github_workflow_name}`
  const rows: [string, string][] = [
    ["Schedule", `${job.cron_expression} (${job.timezone})`],
    ["Target", target],
    ["Next run", formatDateTime(job.next_execution_at, job.timezone)],
    ["Last run", formatDateTime(job.last_execution_at, job.timezone)],
    ["End date", job.end_date],
    ["Category", job.category],
    ["PIC team", job.pic_team],
    ["Timeout", `${job.timeout_seconds} s`],
    ["Retries", retrySummary(job)],
    [
      "Overlap",
      job.concurrency_policy === "forbid"
        ? "forbid (a slot due while a run is going is skipped)"
        : "allow",
    ],
    [
      "Catch-up",
      `${job.catchup}, grace ${
        job.misfire_grace_seconds === null
          ? "service default"
          : `${job.misfire_grace_seconds} s`
      }`,
    ],
    [
      "Request headers",
      job.headers
        .map(
          (header) =>
            `${header.name}: ${header.secret ? "set (secret)" : header.value}`,
        )
        .join(" · ") || "none",
    ],
    [
      "Email notifications",
      job.enable_email_notifications
        ? job.notification_emails.join(", ") || "on (owner only)"
        : "off",
    ],
    ["Notify on success", job.notify_on_success ? "yes" : "no"],
    ["Created", formatDateTime(job.created_at)],
  ]
  const metadata = JSON.stringify(job.metadata, null, 2)
  return (
    <section aria-labelledby="settings-title" className="space-y-3">
      <h2 id="settings-title" className="font-semibold text-lg">
        Settings
      </h2>
      <dl className="grid gap-x-6 gap-y-2 rounded-lg border border-slate-200 bg-white p-4 text-sm sm:grid-cols-[max-content_1fr]">
        {rows.map(([term, value]) => (
          <div key={term} className="contents">
            <dt className="font-medium text-slate-900">{term}</dt>
            <dd className="break-all text-slate-800">{value}</dd>
          </div>
        ))}
        <div className="contents">
          <dt className="font-medium text-slate-900">Metadata</dt>
          <dd>
            <pre className="overflow-x-auto rounded bg-slate-100 p-2 text-slate-900 text-xs">
              {metadata}
            </pre>
          </dd>
        </div>
      </dl>
    </section>
  )
}

function JobStatistics({ jobId }: { jobId: string }) {
  const stats = useQuery(statsQuery(jobId))
  return (
    <section aria-labelledby="stats-title" className="space-y-3">
      <h2 id="stats-title" className="font-semibold text-lg">
        Statistics
      </h2>
      {stats.isPending ? (
        <Loading label="Loading statistics…" />
      ) : stats.isError ? (
        <ErrorState error={stats.error} retry={() => stats.refetch()} />
      ) : (
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-5">
          {(
            [
              ["Runs", String(stats.data.statistics.total_executions)],
              ["Succeeded", String(stats.data.statistics.success_count)],
              ["Failed", String(stats.data.statistics.failed_count)],
              [
                "Success rate",
                formatPercent(stats.data.statistics.success_rate),
              ],
              [
                "Average duration",
                formatDuration(stats.data.statistics.average_duration_seconds),
              ],
              [
                "Duration p50 / p95",
                `${formatDuration(stats.data.statistics.p50_duration_seconds)} / ${formatDuration(
                  stats.data.statistics.p95_duration_seconds,
                )}`,
              ],
              [
                "Lateness p50 / p95",
                `${formatLateness(stats.data.statistics.p50_lateness_ms)} / ${formatLateness(
                  stats.data.statistics.p95_lateness_ms,
                )}`,
              ],
              ["Skipped", String(stats.data.statistics.skipped_count)],
              ["Cancelled", String(stats.data.statistics.cancelled_count)],
            ] as const
          ).map(([term, value]) => (
            <div
              key={term}
              className="rounded-lg border border-slate-200 bg-white p-3"
            >
              <dt className="text-slate-700 text-sm">{term}</dt>
              <dd className="font-semibold text-xl">{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  )
}

function JobHistory({ jobId }: { jobId: string }) {
  const { status, page = 1 } = Route.useSearch()
  const navigate = Route.useNavigate()
  const history = useQuery(historyQuery(jobId, status, page))

  return (
    <section aria-labelledby="history-title" className="space-y-3">
      <h2 id="history-title" className="font-semibold text-lg">
        Execution history
      </h2>
      <div className="max-w-xs">
        <Field label="Status">
          {(control) => (
            <select
              className={inputClass}
              value={status ?? ""}
              onChange={(event) =>
                navigate({
                  search: {
                    status: oneOf(event.target.value, EXECUTION_STATUSES),
                    page: 1,
                  },
                })
              }
              {...control}
            >
              <option value="">Any status</option>
              {EXECUTION_STATUSES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {history.isPending ? (
        <Loading label="Loading executions…" />
      ) : history.isError ? (
        <ErrorState error={history.error} retry={() => history.refetch()} />
      ) : history.data.executions.length === 0 ? (
        <EmptyState title={status ? `No ${status} runs` : "No runs yet"}>
          <p>
            {status
              ? "No execution of this job has that status. Choose another status, or any status."
              : "This job has not run yet. Runs appear here at each scheduled slot, or when someone with the right role runs it now from the jobs list."}
          </p>
          {status ? null : (
            <Link to="/executions" className="text-blue-800 underline">
              See every job's executions
            </Link>
          )}
        </EmptyState>
      ) : (
        <>
          <ExecutionsTable
            executions={history.data.executions}
            caption={`Executions of ${history.data.job_name}`}
            showJob={false}
          />
          <Pagination
            page={history.data.page ?? 1}
            totalPages={history.data.total_pages}
            total={history.data.total_executions}
            estimated={history.data.total_is_estimate}
            hasNext={history.data.next_cursor != null}
            onPage={(next) => navigate({ search: { status, page: next } })}
            label="Execution history pages"
          />
        </>
      )}
    </section>
  )
}
