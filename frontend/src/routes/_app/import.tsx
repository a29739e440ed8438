import { useMutation } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { api, unwrap } from "@/api/client"
import { RequireRole } from "@/auth/RequireRole"
import { can } from "@/auth/roles"
import { Button } from "@/components/ui/Button"
import { Field, inputClass, TextField } from "@/components/ui/Field"
import { type ImportResultTable, importResultTable } from "@/import/results"

export const Route = createFileRoute("/_app/import")({
  component: () => (
    <RequireRole allowed={can.manageJobs} what="importing jobs">
      <ImportPage />
    </RequireRole>
  ),
})

const COLUMNS =
  "Job Name, Cron Schedule (JST), Status, Target URL, Repo, GitHub Owner, Workflow Name, Category, End Date, PIC Team, Request Body, Branch"

function upload(file: File, defaultOwner: string, dryRun: boolean) {
  return unwrap(
    api.POST("/api/v1/jobs/bulk-upload", {
      // The typed body documents the fields; the request itself is multipart form data.
      body: {
        file: file.name,
        default_github_owner: defaultOwner,
        dry_run: dryRun,
      },
      bodySerializer: () => {
        const form = new FormData()
        form.append("file", file)
        form.append("dry_run", String(dryRun))
        if (defaultOwner.trim())
          form.append("default_github_owner", defaultOwner)
        return form
      },
    }),
  )
}

function ImportPage() {
  const [file, setFile] = useState<File | null>(null)
  const [owner, setOwner] = useState("")
  const [checked, setChecked] = useState<{
    file: File
    table: ImportResultTable
    dryRun: boolean
  } | null>(null)
  const run = useMutation({
    mutationFn: ({ dryRun }: { dryRun: boolean }) => {
      if (!file) throw new Error("Choose a CSV file first.")
      return upload(file, owner, dryRun).then((result) => ({
        file,
        table: importResultTable(result),
        dryRun: result.dry_run,
      }))
    },
    onSuccess: setChecked,
    onMutate: () => setChecked(null),
  })

  const dryRunDone =
    checked?.dryRun === true &&
    checked.file === file &&
    checked.table.created.length > 0
  const submit = (event: FormEvent) => {
    event.preventDefault()
    run.mutate({ dryRun: true })
  }
  const fileError = run.error?.message

  return (
    <div className="space-y-6">
      <div>
        <h1 className="font-semibold text-2xl">Import jobs from CSV</h1>
        <p className="max-w-3xl text-slate-700">
          First a dry run checks every row and saves nothing; then import the
          rows that passed. Columns (header names are not case-sensitive):{" "}
          {COLUMNS}. A job needs an existing PIC team.
        </p>
      </div>
      <form
        onSubmit={submit}
        className="grid max-w-3xl gap-4 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2"
      >
        <Field label="CSV file" error={fileError}>
          {(control) => (
            <input
              type="file"
              accept=".csv,text/csv"
              className={inputClass}
              onChange={(event) => {
                setFile(event.target.files?.[0] ?? null)
                setChecked(null)
                run.reset()
              }}
              {...control}
            />
          )}
        </Field>
        <TextField
          label="Default GitHub owner"
          hint="For rows whose Repo names only the repository."
          value={owner}
          onChange={(event) => setOwner(event.target.value)}
        />
        <div className="flex flex-wrap gap-3 sm:col-span-2">
          <Button type="submit" disabled={!file || run.isPending}>
            {run.isPending && run.variables?.dryRun
              ? "Checking…"
              : "Check file (dry run)"}
          </Button>
          <Button
            variant="secondary"
            disabled={!dryRunDone || run.isPending}
            onClick={() => run.mutate({ dryRun: false })}
          >
            {dryRunDone
              ? `Import ${checked?.table.created.length} jobs`
              : "Import"}
          </Button>
        </div>
      </form>
      <output aria-live="polite" className="block font-medium text-slate-900">
        {checked?.table.summary}
      </output>
      {checked ? (
        <ResultTables table={checked.table} dryRun={checked.dryRun} />
      ) : null}
    </div>
  )
}

function ResultTables({
  table,
  dryRun,
}: {
  table: ImportResultTable
  dryRun: boolean
}) {
  const th = "px-3 py-2 text-left font-semibold"
  const td = "px-3 py-2 align-top"
  return (
    <div className="space-y-6">
      {table.errors.length > 0 ? (
        <section aria-labelledby="row-errors" className="space-y-2">
          <h2 id="row-errors" className="font-semibold text-lg">
            Rows with errors ({table.errors.length})
          </h2>
          <div className="overflow-x-auto rounded-lg border border-red-300 bg-white">
            <table className="min-w-full divide-y divide-slate-200 text-sm">
              <thead className="bg-red-50 text-slate-900">
                <tr>
                  <th scope="col" className={th}>
                    Row
                  </th>
                  <th scope="col" className={th}>
                    Name
                  </th>
                  <th scope="col" className={th}>
                    Error
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200">
                {table.errors.map((error) => (
                  <tr key={`${error.row}-${error.error}`}>
                    <td className={td}>{error.row}</td>
                    <td className={td}>{error.name ?? "—"}</td>
                    <td className={`${td} text-red-900`}>{error.error}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
      {table.created.length > 0 ? (
        <section aria-labelledby="row-jobs" className="space-y-2">
          <h2 id="row-jobs" className="font-semibold text-lg">
            {dryRun ? "Jobs that would be created" : "Jobs created"} (
            {table.created.length})
          </h2>
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table className="min-w-full divide-y divide-slate-200 text-sm">
              <thead className="bg-slate-100 text-slate-900">
                <tr>
                  <th scope="col" className={th}>
                    Name
                  </th>
                  <th scope="col" className={th}>
                    Schedule
                  </th>
                  <th scope="col" className={th}>
                    Target
                  </th>
                  <th scope="col" className={th}>
                    PIC team
                  </th>
                  <th scope="col" className={th}>
                    Category
                  </th>
                  <th scope="col" className={th}>
                    State
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200">
                {table.created.map((row) => (
                  <tr key={row.key}>
                    <td className={td}>{row.name}</td>
                    <td className={td}>{row.schedule}</td>
                    <td className={`${td} break-all`}>{row.target}</td>
                    <td className={td}>{row.team}</td>
                    <td className={td}>{row.category}</td>
                    <td className={td}>{row.state}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </div>
  )
}
