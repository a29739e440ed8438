import { useMutation } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { api, unwrap } from "@/api/client"
import { RequireRole } from "@/auth/RequireRole"
import { can } from "@/auth/roles"
import { Button } from "@/components/ui/Button"
import { Cell, DataTable } from "@/components/ui/DataTable"
import { Field, inputClass, TextField } from "@/components/ui/Field"
import {
  type ImportResultTable,
  importResultTable,
  type RowOutcome,
} from "@/import/results"

export const Route = createFileRoute("/_app/import")({
  component: () => (
    <RequireRole allowed={can.manageJobs} what="importing jobs">
      <ImportPage />
    </RequireRole>
  ),
})

const COLUMNS =
  "Job Name, Cron Schedule (JST), Status, Target URL, Repo, GitHub Owner, Workflow Name, Category, End Date, PIC Team, Request Body, Branch"
const POLICY_COLUMNS =
  "Max Retries, Min Backoff Seconds, Max Backoff Seconds, Max Doublings, Max Retry Duration Seconds, Concurrency Policy (allow/forbid), Catchup (latest/all/none), Misfire Grace Seconds"

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
    checked.table.created > 0
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
          {COLUMNS}. A job needs an existing PIC team. Optional policy columns
          (empty cells keep the defaults): {POLICY_COLUMNS}.
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
            {dryRunDone ? `Import ${checked?.table.created} jobs` : "Import"}
          </Button>
        </div>
      </form>
      <output aria-live="polite" className="block font-medium text-slate-900">
        {checked?.table.summary}
      </output>
      {checked ? <ResultTable table={checked.table} /> : null}
    </div>
  )
}

const OUTCOMES: Record<RowOutcome, { label: string; style: string }> = {
  created: { label: "Created", style: "bg-green-100 text-green-900" },
  "would create": { label: "Would create", style: "bg-blue-100 text-blue-900" },
  error: { label: "Error", style: "bg-red-100 text-red-900" },
}

function ResultTable({ table }: { table: ImportResultTable }) {
  return (
    <section aria-labelledby="import-rows" className="space-y-2">
      <h2 id="import-rows" className="font-semibold text-lg">
        Rows ({table.rows.length})
      </h2>
      <DataTable
        caption="What became of each row"
        columns={["Row", "Name", "Outcome", "Details"]}
      >
        {table.rows.map((row) => {
          const outcome = OUTCOMES[row.outcome]
          return (
            <tr key={row.row}>
              <Cell>{row.row}</Cell>
              <Cell>{row.name ?? "—"}</Cell>
              <Cell>
                <span
                  className={`inline-block whitespace-nowrap rounded px-2 py-0.5 font-medium text-xs ${outcome.style}`}
                >
                  {outcome.label}
                </span>
              </Cell>
              <Cell
                className={
                  row.outcome === "error" ? "text-red-900" : "break-all"
                }
              >
                {row.detail}
              </Cell>
            </tr>
          )
        })}
      </DataTable>
    </section>
  )
}
