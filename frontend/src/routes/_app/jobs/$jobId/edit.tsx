import { useQuery } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { api, unwrap } from "@/api/client"
import { can } from "@/auth/roles"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { ErrorState, Forbidden, Loading } from "@/components/states"
import { JobEditor } from "@/features/jobs/JobEditor"

export const Route = createFileRoute("/_app/jobs/$jobId/edit")({
  component: EditJobPage,
})

function EditJobPage() {
  const { jobId } = Route.useParams()
  const user = useCurrentUser()
  const job = useQuery({
    queryKey: ["jobs", "detail", jobId],
    queryFn: async () =>
      (
        await unwrap(
          api.GET("/api/v1/jobs/{job_id}", {
            params: { path: { job_id: jobId } },
          }),
        )
      ).job,
  })
  return (
    <div className="space-y-4">
      <h1 className="font-semibold text-2xl">
        Edit {job.data ? job.data.name : "job"}
      </h1>
      {job.isPending ? (
        <Loading />
      ) : job.isError ? (
        <ErrorState error={job.error} retry={() => job.refetch()} />
      ) : can.changeJob(user, job.data) ? (
        <JobEditor job={job.data} />
      ) : (
        <Forbidden what="the job editor for this job" />
      )}
    </div>
  )
}
