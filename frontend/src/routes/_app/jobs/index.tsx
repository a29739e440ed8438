import {
  keepPreviousData,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query"
import { createFileRoute, Link, useNavigate } from "@tanstack/react-router"
import { type ReactNode, useEffect, useState } from "react"
import { api, type Operations, type Schemas, unwrap } from "@/api/client"
import { categoriesQuery, picTeamsQuery, usersQuery } from "@/api/queries"
import { can } from "@/auth/roles"
import type { User } from "@/auth/session"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { ExecutionLink, JobLink } from "@/components/links"
import { Pagination } from "@/components/Pagination"
import { STATUS_LABELS, StatusBadge } from "@/components/StatusBadge"
import { ErrorState, Loading } from "@/components/states"
import { Button, buttonClass } from "@/components/ui/Button"
import { ConfirmDialog } from "@/components/ui/ConfirmDialog"
import { Field, inputClass } from "@/components/ui/Field"
import { formatInZone, formatLocal } from "@/lib/time"
import { useDebounced } from "@/lib/useDebounced"

type Job = Schemas["JobRead"]
type ColumnKey = keyof Schemas["JobsTableColumns"]
type Sort = NonNullable<
  Operations["list_jobs_api_v1_jobs_get"]["parameters"]["query"]
>["sort"]

const PER_PAGE = 20

interface JobsSearch {
  page?: number
  search?: string
  category?: string
  pic_team?: string
  status?: "active" | "paused"
  owner?: string
  sort?: Sort
}

export const Route = createFileRoute("/_app/jobs/")({
  validateSearch: (raw: Record<string, unknown>): JobsSearch => {
    const text = (key: string) =>
      typeof raw[key] === "string" && raw[key] !== ""
        ? (raw[key] as string)
        : undefined
    const page = Number(raw.page)
    return {
      page: Number.isInteger(page) && page > 1 ? page : undefined,
      search: text("search"),
      category: text("category"),
      pic_team: text("pic_team"),
      status:
        raw.status === "active" || raw.status === "paused"
          ? raw.status
          : undefined,
      owner: text("owner"),
      sort: text("sort") as Sort | undefined,
    }
  },
  component: JobsPage,
})

const jobsQuery = (search: JobsSearch) =>
  queryOptions({
    queryKey: ["jobs", search],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/jobs", {
          params: {
            query: {
              page: search.page ?? 1,
              per_page: PER_PAGE,
              search: search.search,
              category: search.category,
              pic_team: search.pic_team,
              is_active:
                search.status === undefined
                  ? undefined
                  : search.status === "active",
              created_by: search.owner,
              sort: search.sort,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
    // A run in progress finishes on its own: look again until no row's last run is running.
    refetchInterval: (query) =>
      query.state.data?.jobs.some(
        (job) => job.last_execution?.status === "running",
      )
        ? 3_000
        : false,
  })

const preferencesQuery = (user: User) =>
  queryOptions({
    queryKey: ["ui-preferences", user.id],
    queryFn: async () =>
      (
        await unwrap(
          api.GET("/api/v1/auth/users/{user_id}/ui-preferences", {
            params: { path: { user_id: user.id } },
          }),
        )
      ).preferences.jobs_table_columns,
  })

interface Column {
  key: ColumnKey
  label: string
  sort?: Sort
  render: (job: Job, owners: Map<string, string>) => ReactNode
}

const COLUMNS: Column[] = [
  {
    key: "name",
    label: "Name",
    sort: "name",
    render: (job) => (
      <JobLink jobId={job.id} className="font-medium text-blue-800 underline">
        {job.name}
      </JobLink>
    ),
  },
  {
    key: "cron_expression",
    label: "Schedule",
    render: (job) => <code>{job.cron_expression}</code>,
  },
  { key: "timezone", label: "Time zone", render: (job) => job.timezone },
  { key: "target", label: "Target", render: (job) => <Target job={job} /> },
  { key: "category", label: "Category", render: (job) => job.category },
  { key: "pic_team", label: "PIC team", render: (job) => job.pic_team },
  {
    key: "end_date",
    label: "End date",
    sort: "end_date",
    render: (job) => job.end_date,
  },
  {
    key: "is_active",
    label: "State",
    render: (job) => (job.is_active ? "Active" : "Paused"),
  },
  {
    key: "last_execution_status",
    label: "Last status",
    render: (job) => <LastStatus job={job} />,
  },
  {
    key: "last_execution_at",
    label: "Last run",
    sort: "last_execution_at",
    render: (job) => <LastRun job={job} />,
  },
  {
    key: "next_execution_at",
    label: "Next run",
    sort: "next_execution_at",
    render: (job) =>
      job.next_execution_at ? (
        <time
          dateTime={job.next_execution_at}
          title={formatLocal(job.next_execution_at)}
        >
          {formatInZone(job.next_execution_at, job.timezone)}
        </time>
      ) : (
        "—"
      ),
  },
  {
    key: "created_by",
    label: "Owner",
    render: (job, owners) =>
      job.created_by ? (owners.get(job.created_by) ?? "—") : "—",
  },
]

function Target({ job }: { job: Job }) {
  if (job.target_url) {
    return (
      <span className="break-all">
        {job.http_method} {job.target_url}
      </span>
    )
  }
  return (
    <span>
      GitHub {job.github_owner}/{job.github_repo} · {job.github_workflow_name}
    </span>
  )
}

/** The latest execution's status as a badge linking to that execution; the time on hover. */
function LastStatus({ job }: { job: Job }) {
  const last = job.last_execution
  if (!last) return <>—</>
  const at = last.completed_at ?? last.started_at ?? last.scheduled_for
  const status = STATUS_LABELS[last.status]
  return (
    <ExecutionLink
      executionId={last.id}
      className=""
      title={formatLocal(at)}
      aria-label={`${status}: latest execution of ${job.name}`}
    >
      <StatusBadge status={last.status} />
    </ExecutionLink>
  )
}

function LastRun({ job }: { job: Job }) {
  if (!job.last_execution_at) return <>—</>
  return (
    <time
      dateTime={job.last_execution_at}
      title={formatLocal(job.last_execution_at)}
    >
      {formatInZone(job.last_execution_at, job.timezone)}
    </time>
  )
}

function JobsPage() {
  const search = Route.useSearch()
  const navigate = useNavigate({ from: Route.fullPath })
  const user = useCurrentUser()
  const jobs = useQuery(jobsQuery(search))
  const preferences = useQuery(preferencesQuery(user))
  const owners = useOwners(user)

  const setSearch = (changes: Partial<JobsSearch>) =>
    navigate({
      search: (previous) => ({ ...previous, page: undefined, ...changes }),
    })

  const visible = COLUMNS.filter(
    (column) => preferences.data?.[column.key] ?? true,
  )

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="font-semibold text-2xl">Jobs</h1>
        <div className="flex gap-2">
          <ColumnChooser user={user} columns={preferences.data} />
          {can.manageJobs(user) ? (
            <Link to="/jobs/new" className={buttonClass("primary")}>
              New job
            </Link>
          ) : null}
        </div>
      </div>
      <Filters
        search={search}
        onChange={setSearch}
        owners={owners}
        user={user}
      />
      {jobs.isPending ? (
        <Loading label="Loading jobs…" />
      ) : jobs.isError ? (
        <ErrorState error={jobs.error} retry={() => jobs.refetch()} />
      ) : jobs.data.jobs.length === 0 ? (
        <p className="rounded-lg border border-slate-200 bg-white p-6 text-slate-700">
          No job matches.{" "}
          {can.manageJobs(user) ? (
            <Link to="/jobs/new" className="text-blue-700 underline">
              Create one
            </Link>
          ) : null}
        </p>
      ) : (
        <>
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">
                Jobs, page {jobs.data.page} of{" "}
                {Math.max(1, jobs.data.total_pages)}
              </caption>
              <thead className="border-slate-200 border-b bg-slate-50">
                <tr>
                  {visible.map((column) => (
                    <SortableHeader
                      key={column.key}
                      column={column}
                      sort={search.sort}
                      onSort={(sort) => setSearch({ sort })}
                    />
                  ))}
                  <th scope="col" className="px-3 py-2">
                    Actions
                  </th>
                </tr>
              </thead>
              <tbody>
                {jobs.data.jobs.map((job) => (
                  <tr
                    key={job.id}
                    className="border-slate-100 border-b align-top"
                  >
                    {visible.map((column) => (
                      <td key={column.key} className="px-3 py-2">
                        {column.render(job, owners)}
                      </td>
                    ))}
                    <td className="px-3 py-2">
                      <RowActions job={job} user={user} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pagination
            label="Job pages"
            page={jobs.data.page}
            total={jobs.data.total}
            totalPages={jobs.data.total_pages}
            onPage={(page) =>
              navigate({ search: (previous) => ({ ...previous, page }) })
            }
          />
        </>
      )}
    </div>
  )
}

/** Owner names for admins (who may list users); everyone else knows only their own id. */
function useOwners(user: User): Map<string, string> {
  const users = useQuery({ ...usersQuery, enabled: can.administer(user) })
  const names = new Map<string, string>([[user.id, user.username]])
  for (const other of users.data ?? []) names.set(other.id, other.username)
  return names
}

function SortableHeader({
  column,
  sort,
  onSort,
}: {
  column: Column
  sort: Sort | undefined
  onSort: (sort: Sort | undefined) => void
}) {
  if (!column.sort) {
    return (
      <th scope="col" className="px-3 py-2">
        {column.label}
      </th>
    )
  }
  const ascending = sort === column.sort
  const descending = sort === `-${column.sort}`
  const next = (ascending ? `-${column.sort}` : column.sort) as Sort
  return (
    <th
      scope="col"
      className="px-3 py-2"
      aria-sort={ascending ? "ascending" : descending ? "descending" : "none"}
    >
      <button
        type="button"
        className="font-semibold underline-offset-2 hover:underline"
        onClick={() => onSort(next)}
      >
        {column.label}
        <span aria-hidden="true">
          {ascending ? " ▲" : descending ? " ▼" : ""}
        </span>
      </button>
    </th>
  )
}

function Filters({
  search,
  onChange,
  owners,
  user,
}: {
  search: JobsSearch
  onChange: (changes: Partial<JobsSearch>) => void
  owners: Map<string, string>
  user: User
}) {
  const categories = useQuery(categoriesQuery)
  const teams = useQuery(picTeamsQuery)
  const [text, setText] = useState(search.search ?? "")
  const settled = useDebounced(text, 300)
  useEffect(() => {
    if ((settled || undefined) !== search.search)
      onChange({ search: settled || undefined })
  }, [settled, search.search, onChange])

  return (
    <search className="grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-5">
      <Field label="Search by name">
        {(control) => (
          <input
            {...control}
            type="search"
            className={inputClass}
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
        )}
      </Field>
      <SelectFilter
        label="Category"
        value={search.category}
        options={(categories.data ?? []).map((c) => [c.slug, c.name])}
        onChange={(category) => onChange({ category })}
      />
      <SelectFilter
        label="PIC team"
        value={search.pic_team}
        options={(teams.data ?? []).map((t) => [t.slug, t.name])}
        onChange={(pic_team) => onChange({ pic_team })}
      />
      <SelectFilter
        label="State"
        value={search.status}
        options={[
          ["active", "Active"],
          ["paused", "Paused"],
        ]}
        onChange={(status) =>
          onChange({ status: status as JobsSearch["status"] })
        }
      />
      <SelectFilter
        label="Owner"
        value={search.owner}
        options={
          can.administer(user)
            ? [...owners.entries()]
            : [[user.id, `${user.username} (me)`]]
        }
        onChange={(owner) => onChange({ owner })}
      />
    </search>
  )
}

function SelectFilter({
  label,
  value,
  options,
  onChange,
}: {
  label: string
  value: string | undefined
  options: [string, string][]
  onChange: (value: string | undefined) => void
}) {
  return (
    <Field label={label}>
      {(control) => (
        <select
          {...control}
          className={inputClass}
          value={value ?? ""}
          onChange={(event) => onChange(event.target.value || undefined)}
        >
          <option value="">All</option>
          {options.map(([key, name]) => (
            <option key={key} value={key}>
              {name}
            </option>
          ))}
        </select>
      )}
    </Field>
  )
}

function ColumnChooser({
  user,
  columns,
}: {
  user: User
  columns: Schemas["JobsTableColumns"] | undefined
}) {
  const queryClient = useQueryClient()
  const key = preferencesQuery(user).queryKey
  const save = useMutation({
    mutationFn: (next: Schemas["JobsTableColumns"]) =>
      unwrap(
        api.PUT("/api/v1/auth/users/{user_id}/ui-preferences", {
          params: { path: { user_id: user.id } },
          body: { jobs_table_columns: { ...next } },
        }),
      ),
    // A refetch still in flight (the page looks again when it is shown) would
    // otherwise land after the optimistic value and put the box back.
    onMutate: async (next) => {
      const before = queryClient.getQueryData(key)
      await queryClient.cancelQueries({ queryKey: key })
      queryClient.setQueryData(key, next)
      return { before }
    },
    onError: (_error, _next, context) => {
      if (context?.before) queryClient.setQueryData(key, context.before)
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  })
  const [open, setOpen] = useState(false)
  // The box shows the choice at once: the cache gets it only after a refetch in flight
  // is cancelled, and a box that flips back for that moment loses the click.
  const [pending, setPending] = useState<Schemas["JobsTableColumns"] | null>(
    null,
  )
  if (!columns) return null
  const shown = pending ?? columns
  return (
    <div className="relative">
      <Button
        variant="secondary"
        aria-expanded={open}
        aria-controls="column-chooser"
        onClick={() => setOpen(!open)}
      >
        Columns
      </Button>
      <fieldset
        id="column-chooser"
        hidden={!open}
        className="absolute right-0 z-10 mt-1 w-56 space-y-1 rounded-lg border border-slate-200 bg-white p-3 shadow-lg"
      >
        <legend className="sr-only">Visible columns</legend>
        {COLUMNS.map((column) => (
          <label key={column.key} className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={shown[column.key]}
              onChange={(event) => {
                const next = { ...shown, [column.key]: event.target.checked }
                setPending(next)
                save.mutate(next, {
                  onSettled: () =>
                    setPending((current) =>
                      current === next ? null : current,
                    ),
                })
              }}
            />
            {column.label}
          </label>
        ))}
        {save.isError ? (
          <p role="alert" className="text-red-700 text-sm">
            Could not save: {save.error.message}
          </p>
        ) : null}
      </fieldset>
    </div>
  )
}

function RowActions({ job, user }: { job: Job; user: User }) {
  const queryClient = useQueryClient()
  const [confirming, setConfirming] = useState(false)
  const [notice, setNotice] = useState<string | null>(null)
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["jobs"] })
  const path = { params: { path: { job_id: job.id } } }
  const runNow = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/jobs/{job_id}/execute", path)),
    onSuccess: () => setNotice("Run started"),
    onError: (error) => setNotice(error.message),
    onSettled: refresh,
  })
  const toggle = useMutation({
    mutationFn: () =>
      unwrap(
        job.is_active
          ? api.POST("/api/v1/jobs/{job_id}/pause", path)
          : api.POST("/api/v1/jobs/{job_id}/resume", path),
      ),
    onError: (error) => setNotice(error.message),
    onSettled: refresh,
  })
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/jobs/{job_id}", path)),
    onSuccess: () => setConfirming(false),
    onError: (error) => setNotice(error.message),
    onSettled: refresh,
  })
  if (!can.changeJob(user, job)) return null
  return (
    <div className="flex flex-wrap gap-1">
      <Button
        variant="secondary"
        aria-label={`Run ${job.name} now`}
        disabled={runNow.isPending}
        onClick={() => runNow.mutate()}
      >
        Run now
      </Button>
      <Button
        variant="secondary"
        aria-label={`${job.is_active ? "Pause" : "Resume"} ${job.name}`}
        disabled={toggle.isPending}
        onClick={() => toggle.mutate()}
      >
        {job.is_active ? "Pause" : "Resume"}
      </Button>
      <Link
        to="/jobs/$jobId/edit"
        params={{ jobId: job.id }}
        aria-label={`Edit ${job.name}`}
        className={buttonClass("secondary")}
      >
        Edit
      </Link>
      <Button
        variant="danger"
        aria-label={`Delete ${job.name}`}
        onClick={() => setConfirming(true)}
      >
        Delete
      </Button>
      {notice ? (
        <output className="basis-full text-slate-700 text-xs">{notice}</output>
      ) : null}
      {confirming ? (
        <ConfirmDialog
          title={`Delete ${job.name}?`}
          confirmLabel="Delete"
          busy={remove.isPending}
          onConfirm={() => remove.mutate()}
          onCancel={() => setConfirming(false)}
        >
          The job and all its executions are deleted. This cannot be undone.
        </ConfirmDialog>
      ) : null}
    </div>
  )
}
