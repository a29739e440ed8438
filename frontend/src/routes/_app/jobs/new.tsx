import { createFileRoute } from "@tanstack/react-router"
import { RequireRole } from "@/auth/RequireRole"
import { can } from "@/auth/roles"
import { JobEditor } from "@/features/jobs/JobEditor"

export const Route = createFileRoute("/_app/jobs/new")({
  component: NewJobPage,
})

function NewJobPage() {
  return (
    <div className="space-y-4">
      <h1 className="font-semibold text-2xl">New job</h1>
      <RequireRole allowed={can.manageJobs} what="the job editor">
        <JobEditor />
      </RequireRole>
    </div>
  )
}
