import {
  keepPreviousData,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query"
import { createFileRoute, Link } from "@tanstack/react-router"
import { useState } from "react"
import { api, type Schemas, unwrap } from "@/api/client"
import { ConfirmButton } from "@/components/ConfirmDialog"
import { ExecutionLink, JobLink } from "@/components/links"
import { Pagination } from "@/components/Pagination"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { CheckboxField } from "@/components/ui/Checkbox"
import { formatDateTime } from "@/lib/format"
import { pageParam } from "@/lib/search"
import { notificationKeys } from "@/notifications/queries"

const PER_PAGE = 20

export const Route = createFileRoute("/_app/notifications")({
  validateSearch: (
    search: Record<string, unknown>,
  ): { page?: number; unread?: boolean } => ({
    page: pageParam(search.page),
    unread: search.unread === true || search.unread === "true" || undefined,
  }),
  component: NotificationsPage,
})

const TYPE_TONES: Record<Schemas["NotificationType"], string> = {
  info: "bg-blue-100 text-blue-900",
  success: "bg-green-100 text-green-900",
  warning: "bg-amber-100 text-amber-900",
  error: "bg-red-100 text-red-900",
}

function NotificationsPage() {
  const { page = 1, unread = false } = Route.useSearch()
  const navigate = Route.useNavigate()
  const queryClient = useQueryClient()
  const [outcome, setOutcome] = useState<string | null>(null)

  const list = useQuery({
    queryKey: notificationKeys.page(page, unread),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/notifications", {
          params: {
            query: { page, per_page: PER_PAGE, unread_only: unread },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  })

  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: notificationKeys.all })
  const onError = (error: Error) => setOutcome(error.message)
  const markRead = useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.PUT("/api/v1/notifications/{notification_id}/read", {
          params: { path: { notification_id: id } },
        }),
      ),
    onSuccess: () => refresh(),
    onError,
  })
  const remove = useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.DELETE("/api/v1/notifications/{notification_id}", {
          params: { path: { notification_id: id } },
        }),
      ),
    onSuccess: () => {
      setOutcome("Notification deleted.")
      return refresh()
    },
    onError,
  })
  const markAll = useMutation({
    mutationFn: () => unwrap(api.PUT("/api/v1/notifications/read-all")),
    onSuccess: (data) => {
      setOutcome(`${data.updated_count} marked as read.`)
      return refresh()
    },
    onError,
  })
  const deleteRead = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/notifications/delete-read")),
    onSuccess: (data) => {
      setOutcome(`${data.deleted_count} read notifications deleted.`)
      return refresh()
    },
    onError,
  })

  return (
    <div className="space-y-6">
      <h1 className="font-semibold text-2xl">Notifications</h1>
      <div className="flex flex-wrap items-center gap-4">
        <CheckboxField
          label="Unread only"
          checked={unread}
          onChange={(event) =>
            navigate({
              search: { page: 1, unread: event.target.checked || undefined },
            })
          }
        />
        <Button
          variant="secondary"
          onClick={() => markAll.mutate()}
          disabled={markAll.isPending}
        >
          Mark all read
        </Button>
        <ConfirmButton
          variant="secondary"
          title="Delete read notifications?"
          message="Every notification you have already read is deleted. Unread ones stay."
          confirmLabel="Delete read"
          onConfirm={() => deleteRead.mutate()}
        >
          Delete read
        </ConfirmButton>
      </div>
      <output aria-live="polite" className="block text-slate-800 text-sm">
        {outcome}
      </output>
      {list.isPending ? (
        <Loading label="Loading notifications…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => list.refetch()} />
      ) : list.data.notifications.length === 0 ? (
        <EmptyState
          title={unread ? "No unread notifications" : "No notifications"}
        >
          <p>
            You are told here when one of your jobs fails, is paused by the
            service or, if the job asks for it, succeeds. Email and browser
            alerts are chosen in your{" "}
            <Link to="/profile" className="text-blue-800 underline">
              profile
            </Link>
            .
          </p>
        </EmptyState>
      ) : (
        <>
          <ul
            aria-label="Notifications"
            className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white"
          >
            {list.data.notifications.map((item) => (
              <li
                key={item.id}
                className={`flex flex-wrap items-start gap-3 p-4 ${item.is_read ? "" : "bg-blue-50"}`}
              >
                <div className="min-w-0 flex-1 space-y-1">
                  <div className="flex flex-wrap items-center gap-2">
                    <span
                      className={`rounded-full px-2 py-0.5 font-medium text-xs ${TYPE_TONES[item.type]}`}
                    >
                      {item.type}
                    </span>
                    <h2 className="font-semibold">{item.title}</h2>
                    {item.is_read ? null : (
                      <span className="font-medium text-blue-900 text-xs">
                        unread
                      </span>
                    )}
                  </div>
                  <p className="text-slate-800">{item.message}</p>
                  <p className="text-slate-700 text-sm">
                    {formatDateTime(item.created_at)}
                    {item.related_job_id ? (
                      <>
                        {" · "}
                        <JobLink jobId={item.related_job_id}>the job</JobLink>
                      </>
                    ) : null}
                    {item.related_execution_id ? (
                      <>
                        {" · "}
                        <ExecutionLink executionId={item.related_execution_id}>
                          the execution
                        </ExecutionLink>
                      </>
                    ) : null}
                  </p>
                </div>
                <div className="flex gap-2">
                  {item.is_read ? null : (
                    <Button
                      variant="secondary"
                      aria-label={`Mark read: ${item.title}`}
                      onClick={() => markRead.mutate(item.id)}
                    >
                      Mark read
                    </Button>
                  )}
                  <Button
                    variant="ghost"
                    aria-label={`Delete: ${item.title}`}
                    onClick={() => remove.mutate(item.id)}
                  >
                    Delete
                  </Button>
                </div>
              </li>
            ))}
          </ul>
          <Pagination
            page={list.data.page}
            totalPages={list.data.total_pages}
            total={list.data.total}
            onPage={(next) =>
              navigate({ search: { page: next, unread: unread || undefined } })
            }
            label="Notification pages"
          />
        </>
      )}
    </div>
  )
}
