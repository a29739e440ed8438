import { queryOptions, useQuery } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { lazy, type ReactNode, Suspense } from "react"
import { api, type Schemas, unwrap } from "@/api/client"
import { JobLink } from "@/components/links"
import {
  EXECUTION_STATUSES,
  STATUS_LABELS,
  StatusBadge,
} from "@/components/StatusBadge"
import { ErrorState, Loading } from "@/components/states"
import {
  countdown,
  formatInZone,
  formatLocal,
  formatPercent,
  localZone,
  useNow,
} from "@/lib/time"

const RunsPerHourChart = lazy(
  () => import("@/components/charts/RunsPerHourChart"),
)

export const summaryQuery = queryOptions({
  queryKey: ["dashboard", "summary", localZone],
  queryFn: () =>
    unwrap(
      api.GET("/api/v1/dashboard/summary", {
        params: { query: { timezone: localZone } },
      }),
    ),
  refetchInterval: 30_000,
})

export const Route = createFileRoute("/_app/")({
  component: HomePage,
})

function HomePage() {
  const summary = useQuery(summaryQuery)
  return (
    <div className="space-y-6">
      <h1 className="font-semibold text-2xl">Home</h1>
      {summary.isPending ? (
        <Loading label="Loading the summary…" />
      ) : summary.isError ? (
        <ErrorState error={summary.error} retry={() => summary.refetch()} />
      ) : (
        <Summary data={summary.data} />
      )}
    </div>
  )
}

function Summary({ data }: { data: Schemas["DashboardSummary"] }) {
  return (
    <>
      <section aria-label="Figures">
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
          <Figure label="Active jobs" value={data.jobs.active} />
          <Figure label="Paused jobs" value={data.jobs.paused} />
          <Figure label="Runs today" value={data.today.total} />
          <Figure label="Failures today" value={data.today.failed} />
          <Figure
            label="Success, 24 h"
            value={formatPercent(data.last_24h.success_rate)}
          />
          <Figure
            label="Success, 7 days"
            value={formatPercent(data.last_7d.success_rate)}
          />
        </dl>
      </section>
      <Panel title="Runs per hour, last 24 hours">
        <Suspense fallback={<Loading label="Loading the chart…" />}>
          <RunsPerHourChart buckets={data.runs_per_hour} />
        </Suspense>
        <RunsTable buckets={data.runs_per_hour} />
      </Panel>
      <div className="grid gap-6 lg:grid-cols-3">
        <Panel title="Failing jobs">
          <FailingJobs jobs={data.failing_jobs} />
        </Panel>
        <Panel title="Running now">
          <RunningNow executions={data.running} />
        </Panel>
        <Panel title="Next runs">
          <Upcoming runs={data.upcoming} />
        </Panel>
      </div>
    </>
  )
}

function Figure({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4">
      <dt className="text-slate-700 text-sm">{label}</dt>
      <dd className="mt-1 font-semibold text-2xl">{value}</dd>
    </div>
  )
}

function Panel({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section
      aria-label={title}
      className="rounded-lg border border-slate-200 bg-white p-4"
    >
      <h2 className="mb-3 font-semibold text-lg">{title}</h2>
      {children}
    </section>
  )
}

/** The chart's numbers as a table, for screen readers and for anyone who wants the figures. */
function RunsTable({ buckets }: { buckets: Schemas["HourBucket"][] }) {
  return (
    <details className="mt-3 text-sm">
      <summary className="cursor-pointer text-slate-700">
        Show the figures as a table
      </summary>
      <table className="mt-2 w-full text-left">
        <thead>
          <tr>
            <th scope="col">Hour ({localZone})</th>
            {EXECUTION_STATUSES.map((key) => (
              <th scope="col" key={key}>
                {STATUS_LABELS[key]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {buckets.map((bucket) => (
            <tr key={bucket.hour}>
              <td>{formatInZone(bucket.hour, localZone)}</td>
              {EXECUTION_STATUSES.map((key) => (
                <td key={key}>{bucket[key]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
}

function FailingJobs({ jobs }: { jobs: Schemas["FailingJob"][] }) {
  if (jobs.length === 0) {
    return <p className="text-slate-700">No job is failing.</p>
  }
  return (
    <ul className="space-y-2">
      {jobs.map((job) => (
        <li key={job.id} className="flex items-center justify-between gap-2">
          <JobLink jobId={job.id}>{job.name}</JobLink>
          <span className="text-red-700 text-sm">
            {job.consecutive_failures} failed in a row
          </span>
        </li>
      ))}
    </ul>
  )
}

function RunningNow({
  executions,
}: {
  executions: Schemas["ExecutionRead"][]
}) {
  if (executions.length === 0) {
    return <p className="text-slate-700">Nothing is running.</p>
  }
  return (
    <ul className="space-y-2">
      {executions.map((execution) => (
        <li
          key={execution.id}
          className="flex items-center justify-between gap-2"
        >
          <span>{execution.job_name}</span>
          <span className="flex items-center gap-2 text-sm">
            <StatusBadge status={execution.status} />
            {execution.started_at ? (
              <span title={formatLocal(execution.started_at)}>
                since {formatInZone(execution.started_at, localZone)}
              </span>
            ) : null}
          </span>
        </li>
      ))}
    </ul>
  )
}

function Upcoming({ runs }: { runs: Schemas["UpcomingRun"][] }) {
  const now = useNow(1000)
  if (runs.length === 0) {
    return <p className="text-slate-700">No run is scheduled.</p>
  }
  return (
    <ol className="space-y-2">
      {runs.map((run) => (
        <li
          key={`${run.job_id}-${run.at}`}
          className="flex items-center justify-between gap-2"
        >
          <span>{run.job_name}</span>
          <span className="text-right text-sm">
            <time dateTime={run.at} title={formatLocal(run.at)}>
              {formatInZone(run.at, run.timezone)} {run.timezone}
            </time>
            <span className="block text-slate-700">
              {countdown(Date.parse(run.at), now)}
            </span>
          </span>
        </li>
      ))}
    </ol>
  )
}
