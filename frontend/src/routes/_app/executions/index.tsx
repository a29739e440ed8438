import { keepPreviousData, useQuery } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { api, type Schemas, unwrap } from "@/api/client"
import { ExecutionsTable } from "@/components/executions/ExecutionsTable"
import { Pagination } from "@/components/Pagination"
import { EXECUTION_STATUSES } from "@/components/StatusBadge"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { Field, inputClass } from "@/components/ui/Field"
import { dateParam, oneOf, pageParam } from "@/lib/search"

const PER_PAGE = 25
const TRIGGERS: Schemas["TriggerType"][] = ["scheduled", "manual"]
const TYPES: Schemas["ExecutionType"][] = ["webhook", "github_actions"]

interface ExecutionFilters {
  status?: Schemas["ExecutionStatus"] | undefined
  trigger?: Schemas["TriggerType"] | undefined
  type?: Schemas["ExecutionType"] | undefined
  from?: string | undefined
  to?: string | undefined
  page?: number
}

export const Route = createFileRoute("/_app/executions/")({
  validateSearch: (search: Record<string, unknown>): ExecutionFilters => ({
    status: oneOf(search.status, EXECUTION_STATUSES),
    trigger: oneOf(search.trigger, TRIGGERS),
    type: oneOf(search.type, TYPES),
    from: dateParam(search.from),
    to: dateParam(search.to),
    page: pageParam(search.page),
  }),
  component: ExecutionsPage,
})

function ExecutionsPage() {
  const filters = Route.useSearch()
  const navigate = Route.useNavigate()
  const list = useQuery({
    queryKey: ["executions", filters],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/executions", {
          params: {
            query: {
              status: filters.status ? [filters.status] : undefined,
              trigger_type: filters.trigger,
              execution_type: filters.type,
              from: filters.from,
              to: filters.to,
              page: filters.page ?? 1,
              limit: PER_PAGE,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  })

  const setFilter = (change: Partial<ExecutionFilters>) =>
    navigate({ search: { ...filters, ...change, page: change.page ?? 1 } })
  const filtered = Boolean(
    filters.status ||
      filters.trigger ||
      filters.type ||
      filters.from ||
      filters.to,
  )

  return (
    <div className="space-y-6">
      <h1 className="font-semibold text-2xl">Executions</h1>
      <fieldset className="grid gap-4 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-3 lg:grid-cols-6">
        <legend className="px-1 font-medium text-sm">Filters</legend>
        <SelectFilter
          label="Status"
          anyLabel="Any status"
          value={filters.status}
          options={EXECUTION_STATUSES}
          onChange={(value) =>
            setFilter({ status: oneOf(value, EXECUTION_STATUSES) })
          }
        />
        <SelectFilter
          label="Trigger"
          anyLabel="Any trigger"
          value={filters.trigger}
          options={TRIGGERS}
          onChange={(value) => setFilter({ trigger: oneOf(value, TRIGGERS) })}
        />
        <SelectFilter
          label="Type"
          anyLabel="Any type"
          value={filters.type}
          options={TYPES}
          onChange={(value) => setFilter({ type: oneOf(value, TYPES) })}
        />
        <Field label="From (slot date)">
          {(control) => (
            <input
              type="date"
              className={inputClass}
              value={filters.from ?? ""}
              onChange={(event) =>
                setFilter({ from: dateParam(event.target.value) })
              }
              {...control}
            />
          )}
        </Field>
        <Field label="To (inclusive)">
          {(control) => (
            <input
              type="date"
              className={inputClass}
              value={filters.to ?? ""}
              onChange={(event) =>
                setFilter({ to: dateParam(event.target.value) })
              }
              {...control}
            />
          )}
        </Field>
        <div className="flex items-end">
          <Button
            variant="secondary"
            disabled={!filtered}
            onClick={() => navigate({ search: {} })}
          >
            Clear filters
          </Button>
        </div>
      </fieldset>
      {list.isPending ? (
        <Loading label="Loading executions…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => list.refetch()} />
      ) : list.data.executions.length === 0 ? (
        <EmptyState
          title={filtered ? "No executions match" : "No executions yet"}
        >
          <p>
            {filtered
              ? "Nothing ran with these filters. Widen the date range or clear the filters."
              : "Executions appear here when a job runs at its scheduled slot or is run now from the jobs list."}
          </p>
        </EmptyState>
      ) : (
        <>
          <ExecutionsTable
            executions={list.data.executions}
            caption="Executions, newest slot first"
          />
          <Pagination
            page={list.data.page ?? 1}
            totalPages={list.data.total_pages}
            total={list.data.total}
            estimated={list.data.total_is_estimate}
            hasNext={list.data.next_cursor != null}
            onPage={(page) => setFilter({ page })}
            label="Execution pages"
          />
        </>
      )}
    </div>
  )
}

function SelectFilter<T extends string>({
  label,
  anyLabel,
  value,
  options,
  onChange,
}: {
  label: string
  anyLabel: string
  value: T | undefined
  options: readonly T[]
  onChange: (value: string) => void
}) {
  return (
    <Field label={label}>
      {(control) => (
        <select
          className={inputClass}
          value={value ?? ""}
          onChange={(event) => onChange(event.target.value)}
          {...control}
        >
          <option value="">{anyLabel}</option>
          {options.map((option) => (
            <option key={option} value={option}>
              {option.replace("_", " ")}
            </option>
          ))}
        </select>
      )}
    </Field>
  )
}
