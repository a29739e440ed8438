import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { api, type Schemas, unwrap } from "@/api/client"
import { jobQuery } from "@/api/queries"
import { can } from "@/auth/roles"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { ConfirmButton } from "@/components/ConfirmDialog"

/**
 * Cancels a running execution (its job's owner or an admin; nobody else is offered it): the call
 * is abandoned wherever it runs, no retry follows, no failure alert is sent.
 */
export function CancelRunButton({
  execution,
}: {
  execution: Schemas["ExecutionRead"]
}) {
  const user = useCurrentUser()
  const queryClient = useQueryClient()
  const job = useQuery({
    ...jobQuery(execution.job_id),
    enabled: execution.status === "running",
  })
  const cancel = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/executions/{execution_id}/cancel", {
          params: { path: { execution_id: execution.id } },
        }),
      ),
    onSettled: async () => {
      await queryClient.invalidateQueries({ queryKey: ["executions"] })
      await queryClient.invalidateQueries({ queryKey: ["jobs"] })
    },
  })
  if (execution.status !== "running" || !job.data) return null
  if (!can.changeJob(user, job.data.job)) return null
  return (
    <div className="flex flex-wrap items-center gap-3">
      <ConfirmButton
        title="Cancel this run?"
        message="The call in flight is abandoned and no retry follows. The run is recorded as cancelled; nobody is alerted."
        confirmLabel="Cancel the run"
        onConfirm={() => cancel.mutate()}
        disabled={cancel.isPending}
      >
        {cancel.isPending ? "Cancelling…" : "Cancel run"}
      </ConfirmButton>
      {cancel.error ? (
        <p role="alert" className="text-red-800">
          {cancel.error.message}
        </p>
      ) : null}
    </div>
  )
}
