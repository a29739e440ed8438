import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { useNavigate } from "@tanstack/react-router"
import { type FormEvent, type ReactNode, useState } from "react"
import { ApiError, api, type Schemas, unwrap } from "@/api/client"
import { categoriesQuery, picTeamsQuery } from "@/api/queries"
import { can } from "@/auth/roles"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { Field, inputClass, TextField } from "@/components/ui/Field"
import { localZone } from "@/lib/time"
import { CronField } from "./CronField"
import { HeadersField } from "./HeadersField"
import {
  type HeaderRow,
  headersBody,
  rowsFromJob,
  testRunHeaders,
} from "./headers"
import { SigningSecretOnce } from "./SigningSecret"
import { TimezoneField } from "./TimezoneField"

type Job = Schemas["JobRead"]
type Method = Schemas["HttpMethod"]
type Concurrency = Schemas["ConcurrencyPolicy"]
type Catchup = Schemas["CatchupPolicy"]
type Kind = "webhook" | "github"

interface FormState {
  name: string
  kind: Kind
  target_url: string
  http_method: Method
  github_owner: string
  github_repo: string
  github_workflow_name: string
  cron_expression: string
  timezone: string
  end_date: string
  category: string
  pic_team: string
  metadata: string
  timeout_seconds: string
  max_retries: string
  min_backoff_seconds: string
  max_backoff_seconds: string
  max_doublings: string
  max_retry_duration_seconds: string
  concurrency_policy: Concurrency
  catchup: Catchup
  misfire_grace_seconds: string
  enable_email_notifications: boolean
  notification_emails: string
  notify_on_success: boolean
  is_active: boolean
}

const METHODS: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"]

function oneYearFromToday(): string {
  const date = new Date()
  date.setFullYear(date.getFullYear() + 1)
  return date.toISOString().slice(0, 10)
}

function initialState(job: Job | undefined): FormState {
  return {
    name: job?.name ?? "",
    kind: job && !job.target_url ? "github" : "webhook",
    target_url: job?.target_url ?? "",
    http_method: job?.http_method ?? "POST",
    github_owner: job?.github_owner ?? "",
    github_repo: job?.github_repo ?? "",
    github_workflow_name: job?.github_workflow_name ?? "",
    cron_expression: job?.cron_expression ?? "0 2 * * *",
    timezone: job?.timezone ?? localZone,
    end_date: job?.end_date ?? oneYearFromToday(),
    category: job?.category ?? "",
    pic_team: job?.pic_team ?? "",
    metadata: JSON.stringify(job?.metadata ?? {}, null, 2),
    timeout_seconds: String(job?.timeout_seconds ?? 30),
    max_retries: String(job?.max_retries ?? 0),
    min_backoff_seconds: optionalText(job?.min_backoff_seconds),
    max_backoff_seconds: optionalText(job?.max_backoff_seconds),
    max_doublings: String(job?.max_doublings ?? 5),
    max_retry_duration_seconds: String(job?.max_retry_duration_seconds ?? 0),
    concurrency_policy: job?.concurrency_policy ?? "allow",
    catchup: job?.catchup ?? "latest",
    misfire_grace_seconds: optionalText(job?.misfire_grace_seconds),
    enable_email_notifications: job?.enable_email_notifications ?? false,
    notification_emails: (job?.notification_emails ?? []).join(", "),
    notify_on_success: job?.notify_on_success ?? false,
    is_active: job?.is_active ?? true,
  }
}

type JsonObject = Record<string, Schemas["JsonValue"]>

/** A nullable number as the text of its field (empty: the service's default). */
function optionalText(value: number | null | undefined): string {
  return value === null || value === undefined ? "" : String(value)
}

/** The text of a field whose empty value means the service's default. */
export function optionalNumber(text: string): number | null {
  return text.trim() === "" ? null : Number(text)
}

const CONCURRENCY_OPTIONS: [Concurrency, string][] = [
  ["allow", "Allow: every slot runs"],
  ["forbid", "Forbid: skip a slot while the previous run is going"],
]
const CATCHUP_OPTIONS: [Catchup, string][] = [
  ["latest", "Latest: run the newest missed slot"],
  ["all", "All: run each missed slot (at most 100)"],
  ["none", "None: run no missed slot"],
]

/** The metadata text as a JSON object, or the reason it is not one. */
export function parseMetadata(text: string): {
  value?: JsonObject
  error?: string
} {
  if (text.trim() === "") return { value: {} }
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { error: 'Metadata must be a JSON object, e.g. {"key": "value"}.' }
    }
    return { value: value as JsonObject }
  } catch (error) {
    return { error: `Not valid JSON: ${(error as Error).message}` }
  }
}

function targetFields(form: FormState) {
  return form.kind === "webhook"
    ? {
        target_url: form.target_url.trim(),
        http_method: form.http_method,
        github_owner: null,
        github_repo: null,
        github_workflow_name: null,
      }
    : {
        target_url: null,
        http_method: form.http_method,
        github_owner: form.github_owner.trim() || null,
        github_repo: form.github_repo.trim(),
        github_workflow_name: form.github_workflow_name.trim(),
      }
}

/** The top-level fields whose control on the form shows their 422 messages, by target type. */
const SCHEDULE_AND_RUN_CONTROLS = [
  "name",
  "metadata",
  "timezone",
  "end_date",
  "cron_expression",
  "pic_team",
  "category",
  "timeout_seconds",
  "max_retries",
  "min_backoff_seconds",
  "max_backoff_seconds",
  "max_doublings",
  "max_retry_duration_seconds",
  "concurrency_policy",
  "catchup",
  "misfire_grace_seconds",
  "notification_emails",
]
export const FIELD_CONTROLS: Record<Kind, ReadonlySet<string>> = {
  webhook: new Set([
    ...SCHEDULE_AND_RUN_CONTROLS,
    "http_method",
    "target_url",
    "headers",
  ]),
  github: new Set([
    ...SCHEDULE_AND_RUN_CONTROLS,
    "github_owner",
    "github_repo",
    "github_workflow_name",
  ]),
}

/**
 * 422 details beside their top-level field's control (`metadata.a.b` beside Metadata; every
 * message of a field, one a line), and those of a field with no control on the form (`is_active`,
 * the whole body) as lines for the form's alert, so none is lost.
 */
export function placeErrors(
  error: unknown,
  controls: ReadonlySet<string>,
): { byField: Record<string, string>; unplaced: string[] } {
  const byField: Record<string, string> = {}
  const unplaced: string[] = []
  if (!(error instanceof ApiError)) return { byField, unplaced }
  for (const { field, message } of error.fieldMessages()) {
    const topLevel = field.split(".")[0] ?? field
    if (controls.has(topLevel)) {
      const earlier = byField[topLevel]
      byField[topLevel] = earlier ? `${earlier}\n${message}` : message
    } else {
      unplaced.push(field === "body" ? message : `${field}: ${message}`)
    }
  }
  return { byField, unplaced }
}

/** 422 details below `headers`, keyed by the rest of their path (`0.name`; `""`: the list). */
function headerErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {}
  const byPath: Record<string, string> = {}
  for (const [path, message] of Object.entries(error.fieldErrors())) {
    if (path === "headers" || path.startsWith("headers.")) {
      byPath[path.replace(/^headers\.?/, "")] ??= message
    }
  }
  return byPath
}

/** Create (no `job`) or edit a job. */
export function JobEditor({ job }: { job?: Job }) {
  const user = useCurrentUser()
  const teams = useQuery(picTeamsQuery)
  const categories = useQuery(categoriesQuery)
  if (teams.isPending || categories.isPending) return <Loading />
  if (teams.isError)
    return <ErrorState error={teams.error} retry={() => teams.refetch()} />
  if (categories.isError) {
    return (
      <ErrorState error={categories.error} retry={() => categories.refetch()} />
    )
  }
  const activeTeams = teams.data.filter((team) => team.is_active)
  if (!job && activeTeams.length === 0) {
    return (
      <EmptyState title="No PIC team yet">
        <p>
          Every job belongs to a PIC team (the people in charge when it fails),
          and none exists yet.
        </p>
        {can.administer(user) ? (
          <a href="/admin" className="text-blue-700 underline">
            Create a PIC team in Admin
          </a>
        ) : (
          <p>Ask an admin to create one, then come back.</p>
        )}
      </EmptyState>
    )
  }
  return (
    <EditorForm
      job={job}
      teams={activeTeams}
      categories={categories.data.filter((category) => category.is_active)}
    />
  )
}

function EditorForm({
  job,
  teams,
  categories,
}: {
  job: Job | undefined
  teams: Schemas["PicTeamRead"][]
  categories: Schemas["JobCategoryRead"][]
}) {
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const [form, setForm] = useState<FormState>(() => ({
    ...initialState(job),
    pic_team: job?.pic_team ?? teams[0]?.slug ?? "",
    category: job?.category ?? categories[0]?.slug ?? "",
  }))
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) =>
    setForm((previous) => ({ ...previous, [key]: value }))
  const metadata = parseMetadata(form.metadata)
  const [headerRows, setHeaderRows] = useState<HeaderRow[]>(() =>
    rowsFromJob(job?.headers),
  )
  // The new job's signing secret: shown once, before leaving the editor.
  const [created, setCreated] = useState<{ secret: string } | null>(null)

  const save = useMutation({
    mutationFn: async () => {
      const body = {
        name: form.name.trim(),
        ...targetFields(form),
        cron_expression: form.cron_expression.trim(),
        timezone: form.timezone.trim() || null,
        end_date: form.end_date,
        category: form.category || null,
        pic_team: form.pic_team,
        metadata: metadata.value ?? {},
        // GitHub jobs send no headers: switching to one clears them.
        headers: form.kind === "webhook" ? headersBody(headerRows) : [],
        timeout_seconds: Number(form.timeout_seconds),
        max_retries: Number(form.max_retries),
        min_backoff_seconds: optionalNumber(form.min_backoff_seconds),
        max_backoff_seconds: optionalNumber(form.max_backoff_seconds),
        max_doublings: Number(form.max_doublings),
        max_retry_duration_seconds: Number(form.max_retry_duration_seconds),
        concurrency_policy: form.concurrency_policy,
        catchup: form.catchup,
        misfire_grace_seconds: optionalNumber(form.misfire_grace_seconds),
        enable_email_notifications: form.enable_email_notifications,
        notification_emails: form.notification_emails
          .split(/[\s,]+/)
          .filter((address) => address !== ""),
        notify_on_success: form.notify_on_success,
        is_active: form.is_active,
      }
      return job
        ? unwrap(
            api.PATCH("/api/v1/jobs/{job_id}", {
              params: { path: { job_id: job.id } },
              body,
            }),
          )
        : unwrap(api.POST("/api/v1/jobs", { body }))
    },
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ["jobs"] })
      const secret = (saved as Partial<Schemas["JobCreatedResponse"]>)
        .signing_secret
      if (!job && secret) {
        setCreated({ secret })
        return
      }
      await navigate({ to: "/jobs" })
    },
  })
  const { byField: fieldErrors, unplaced } = placeErrors(
    save.error,
    FIELD_CONTROLS[form.kind],
  )
  const numbers = { form, set, errors: fieldErrors }

  if (created) {
    return (
      <div className="max-w-3xl space-y-4">
        <p role="status" className="rounded-md bg-green-50 p-3 text-green-900">
          Job created.
        </p>
        <SigningSecretOnce secret={created.secret}>
          <Button onClick={() => navigate({ to: "/jobs" })}>Done</Button>
        </SigningSecretOnce>
      </div>
    )
  }

  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (metadata.error) return
    save.mutate()
  }

  return (
    <form onSubmit={submit} noValidate className="max-w-3xl space-y-6">
      {save.error ? (
        <div role="alert" className="rounded-md bg-red-50 p-3 text-red-800">
          <p>
            {Object.keys(fieldErrors).length > 0
              ? "Some fields need a change; see the messages beside them."
              : unplaced.length > 0
                ? "The job was not saved:"
                : save.error.message}
          </p>
          {unplaced.length > 0 ? (
            <ul className="mt-1 list-disc pl-5">
              {unplaced.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <Section title="Job">
        <TextField
          label="Name"
          name="name"
          required
          value={form.name}
          onChange={(event) => set("name", event.target.value)}
          error={fieldErrors.name}
        />
      </Section>

      <Section title="Target">
        <fieldset className="flex gap-4">
          <legend className="sr-only">Target type</legend>
          {(
            [
              ["webhook", "Webhook"],
              ["github", "GitHub Actions workflow"],
            ] as const
          ).map(([kind, label]) => (
            <label key={kind} className="flex items-center gap-2">
              <input
                type="radio"
                name="kind"
                checked={form.kind === kind}
                onChange={() => set("kind", kind)}
              />
              {label}
            </label>
          ))}
        </fieldset>
        {form.kind === "webhook" ? (
          <div className="grid gap-3 sm:grid-cols-[8rem_1fr]">
            <Field label="Method" error={fieldErrors.http_method}>
              {(control) => (
                <select
                  {...control}
                  className={inputClass}
                  value={form.http_method}
                  onChange={(event) =>
                    set("http_method", event.target.value as Method)
                  }
                >
                  {METHODS.map((method) => (
                    <option key={method}>{method}</option>
                  ))}
                </select>
              )}
            </Field>
            <TextField
              label="Webhook URL"
              name="target_url"
              type="url"
              placeholder="https://example.com/hook"
              value={form.target_url}
              onChange={(event) => set("target_url", event.target.value)}
              error={fieldErrors.target_url}
            />
          </div>
        ) : (
          <div className="grid gap-3 sm:grid-cols-3">
            <TextField
              label="Owner"
              hint="Empty: the service's default owner."
              value={form.github_owner}
              onChange={(event) => set("github_owner", event.target.value)}
              error={fieldErrors.github_owner}
            />
            <TextField
              label="Repository"
              value={form.github_repo}
              onChange={(event) => set("github_repo", event.target.value)}
              error={fieldErrors.github_repo}
            />
            <TextField
              label="Workflow file"
              placeholder="backup.yml"
              value={form.github_workflow_name}
              onChange={(event) =>
                set("github_workflow_name", event.target.value)
              }
              error={fieldErrors.github_workflow_name}
            />
          </div>
        )}
        <MetadataField
          value={form.metadata}
          onChange={(value) => set("metadata", value)}
          error={metadata.error ?? fieldErrors.metadata}
        />
        {form.kind === "webhook" ? (
          <HeadersField
            rows={headerRows}
            onChange={setHeaderRows}
            errors={headerErrors(save.error)}
          />
        ) : null}
        <TestRun
          form={form}
          metadata={metadata.value}
          headerRows={form.kind === "webhook" ? headerRows : []}
        />
      </Section>

      <Section title="Schedule">
        <div className="grid gap-3 sm:grid-cols-2">
          <TimezoneField
            value={form.timezone}
            onChange={(zone) => set("timezone", zone)}
            error={fieldErrors.timezone}
          />
          <TextField
            label="End date"
            name="end_date"
            type="date"
            hint="The last day the job runs, in its time zone."
            value={form.end_date}
            onChange={(event) => set("end_date", event.target.value)}
            error={fieldErrors.end_date}
          />
        </div>
        <CronField
          value={form.cron_expression}
          timezone={form.timezone}
          onChange={(expression) => set("cron_expression", expression)}
          error={fieldErrors.cron_expression}
        />
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={form.is_active}
            onChange={(event) => set("is_active", event.target.checked)}
          />
          Active (runs on schedule)
        </label>
      </Section>

      <Section title="Ownership">
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="PIC team" error={fieldErrors.pic_team}>
            {(control) => (
              <select
                {...control}
                className={inputClass}
                value={form.pic_team}
                onChange={(event) => set("pic_team", event.target.value)}
              >
                {teams.map((team) => (
                  <option key={team.slug} value={team.slug}>
                    {team.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Category" error={fieldErrors.category}>
            {(control) => (
              <select
                {...control}
                className={inputClass}
                value={form.category}
                onChange={(event) => set("category", event.target.value)}
              >
                {categories.length === 0 ? (
                  <option value="">general</option>
                ) : null}
                {categories.map((category) => (
                  <option key={category.slug} value={category.slug}>
                    {category.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      </Section>

      <Section title="Runs and notifications">
        <div className="grid gap-3 sm:grid-cols-2">
          <NumberField
            name="timeout_seconds"
            label="Timeout (seconds)"
            min={1}
            {...numbers}
          />
          <NumberField
            name="max_retries"
            label="Retries"
            min={0}
            max={10}
            hint="0–10 further attempts after a failure (5xx, 429, timeouts…)."
            {...numbers}
          />
        </div>
        <div className="grid gap-3 sm:grid-cols-2">
          <NumberField
            name="min_backoff_seconds"
            label="Minimum backoff (seconds)"
            min={0}
            max={3600}
            hint="Longest wait before the first retry; each retry doubles it. Empty: the service default."
            {...numbers}
          />
          <NumberField
            name="max_backoff_seconds"
            label="Maximum backoff (seconds)"
            min={0}
            max={3600}
            hint="No wait is longer, a target's Retry-After included. Empty: the service default."
            {...numbers}
          />
          <NumberField
            name="max_doublings"
            label="Maximum doublings"
            min={0}
            max={16}
            hint="How many times the wait doubles before it stays the same."
            {...numbers}
          />
          <NumberField
            name="max_retry_duration_seconds"
            label="Retry window (seconds)"
            min={0}
            hint="No retry starts later than this after the slot. 0: no limit."
            {...numbers}
          />
        </div>
        <div className="grid gap-3 sm:grid-cols-2">
          <ChoiceField
            label="Overlapping runs"
            hint="What a slot does while the previous run (or its retry) is still going."
            options={CONCURRENCY_OPTIONS}
            value={form.concurrency_policy}
            onChange={(value) => set("concurrency_policy", value)}
            error={fieldErrors.concurrency_policy}
          />
          <ChoiceField
            label="Missed slots"
            hint="Slots that came due together after the scheduler was away."
            options={CATCHUP_OPTIONS}
            value={form.catchup}
            onChange={(value) => set("catchup", value)}
            error={fieldErrors.catchup}
          />
          <NumberField
            name="misfire_grace_seconds"
            label="Misfire grace (seconds)"
            min={1}
            hint="A slot later than this is recorded as missed, never run. Empty: the service default."
            {...numbers}
          />
        </div>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={form.enable_email_notifications}
            onChange={(event) =>
              set("enable_email_notifications", event.target.checked)
            }
          />
          Email when a run fails
        </label>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={form.notify_on_success}
            onChange={(event) => set("notify_on_success", event.target.checked)}
          />
          Also notify on success
        </label>
        <TextField
          label="Notification emails"
          hint="Comma-separated; empty: the owner."
          value={form.notification_emails}
          onChange={(event) => set("notification_emails", event.target.value)}
          error={fieldErrors.notification_emails}
        />
      </Section>

      <div className="flex gap-2">
        <Button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : job ? "Save changes" : "Create job"}
        </Button>
        <Button variant="secondary" onClick={() => navigate({ to: "/jobs" })}>
          Cancel
        </Button>
      </div>
    </form>
  )
}

type NumberKey = {
  [K in keyof FormState]: string extends FormState[K] ? K : never
}[keyof FormState]

/** A labelled number input bound to one of the form's fields (kept as the text typed). */
function NumberField({
  name,
  label,
  hint,
  min,
  max,
  form,
  set,
  errors,
}: {
  name: NumberKey
  label: string
  hint?: string
  min: number
  max?: number
  form: FormState
  set: (key: NumberKey, value: string) => void
  errors: Record<string, string>
}) {
  return (
    <TextField
      label={label}
      type="number"
      min={min}
      max={max}
      hint={hint}
      value={form[name]}
      onChange={(event) => set(name, event.target.value)}
      error={errors[name]}
    />
  )
}

/** A labelled select over fixed `[value, label]` options. */
function ChoiceField<T extends string>({
  label,
  hint,
  options,
  value,
  onChange,
  error,
}: {
  label: string
  hint: string
  options: [T, string][]
  value: T
  onChange: (value: T) => void
  error?: string | undefined
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => (
        <select
          {...control}
          className={inputClass}
          value={value}
          onChange={(event) => onChange(event.target.value as T)}
        >
          {options.map(([option, text]) => (
            <option key={option} value={option}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  )
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section
      aria-label={title}
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4"
    >
      <h2 className="font-semibold text-lg">{title}</h2>
      {children}
    </section>
  )
}

function MetadataField({
  value,
  onChange,
  error,
}: {
  value: string
  onChange: (value: string) => void
  error?: string | undefined
}) {
  return (
    <Field
      label="Metadata (JSON)"
      hint="The webhook's JSON body, or the workflow's inputs."
      error={error}
    >
      {(control) => (
        <textarea
          {...control}
          name="metadata"
          rows={5}
          spellCheck={false}
          className={`${inputClass} font-mono`}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  )
}

/** Calls the target once now (nothing stored) and shows its answer. */
function TestRun({
  form,
  metadata,
  headerRows,
}: {
  form: FormState
  metadata: JsonObject | undefined
  headerRows: HeaderRow[]
}) {
  const { headers, skipped } = testRunHeaders(headerRows)
  const trial = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/jobs/test-run", {
          body: {
            ...targetFields(form),
            metadata: metadata ?? {},
            headers,
            timeout_seconds: Number(form.timeout_seconds),
          },
        }),
      ),
  })
  return (
    <div className="space-y-2">
      <Button
        variant="secondary"
        disabled={trial.isPending || metadata === undefined}
        onClick={() => trial.mutate()}
      >
        {trial.isPending ? "Testing…" : "Test run"}
      </Button>
      {skipped > 0 ? (
        <p className="text-slate-600 text-sm">
          A test run cannot send stored secret values ({skipped} header
          {skipped === 1 ? "" : "s"} left out); replace one to include it.
        </p>
      ) : null}
      <output aria-live="polite" className="block text-sm">
        {trial.data ? (
          <span className={trial.data.ok ? "text-green-800" : "text-red-800"}>
            {trial.data.ok ? "Success" : "Failed"}
            {trial.data.status_code !== null
              ? ` (HTTP ${trial.data.status_code})`
              : ""}
            : {trial.data.message}
          </span>
        ) : trial.error ? (
          <span className="text-red-800">{trial.error.message}</span>
        ) : null}
      </output>
    </div>
  )
}
