import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { type FormEvent, useState } from "react"
import { ApiError } from "@/api/client"
import { ConfirmButton } from "@/components/ConfirmDialog"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { TextField } from "@/components/ui/Field"
import type { TaxonomyFields, TaxonomyItem, TaxonomyKind } from "./taxonomies"

/** Create, rename, disable and re-enable the categories or the PIC teams. */
export function TaxonomyAdmin({ kind }: { kind: TaxonomyKind }) {
  const queryClient = useQueryClient()
  const [notice, setNotice] = useState<string | null>(null)
  const items = useQuery({ queryKey: kind.queryKey, queryFn: kind.list })
  const done = (message: string) => {
    setNotice(message)
    // Job filters and the job editor list these too.
    return queryClient.invalidateQueries()
  }
  const toggle = useMutation({
    mutationFn: (item: TaxonomyItem) =>
      item.is_active
        ? kind.disable(item.id)
        : kind.update(item.id, { is_active: true }),
    onSuccess: (_, item) =>
      done(`${item.name} ${item.is_active ? "disabled" : "enabled"}.`),
    onError: (error) => setNotice(error.message),
  })

  return (
    <div className="space-y-6">
      <h1 className="font-semibold text-2xl">{kind.title}</h1>
      <ItemForm
        kind={kind}
        title={`Create a ${kind.singular}`}
        submitLabel={`Create ${kind.singular}`}
        initial={{ name: "", slack_handle: "" }}
        save={kind.create}
        onSaved={(fields) => done(`${fields.name} created.`)}
      />
      <output aria-live="polite" className="block text-slate-800 text-sm">
        {notice}
      </output>
      {items.isPending ? (
        <Loading label={`Loading ${kind.title.toLowerCase()}…`} />
      ) : items.isError ? (
        <ErrorState error={items.error} retry={() => items.refetch()} />
      ) : items.data.length === 0 ? (
        <EmptyState title={`No ${kind.title.toLowerCase()} yet`}>
          <p>
            Every job needs a {kind.singular}. Create the first one with the
            form above.
          </p>
        </EmptyState>
      ) : (
        <ul
          aria-label={kind.title}
          className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white"
        >
          {items.data.map((item) => (
            <ItemRow
              key={item.id}
              kind={kind}
              item={item}
              onToggle={() => toggle.mutate(item)}
              onRenamed={(name) => done(`Renamed to ${name}.`)}
            />
          ))}
        </ul>
      )}
    </div>
  )
}

function ItemRow({
  kind,
  item,
  onToggle,
  onRenamed,
}: {
  kind: TaxonomyKind
  item: TaxonomyItem
  onToggle: () => void
  onRenamed: (name: string) => void
}) {
  const [editing, setEditing] = useState(false)
  const builtIn = item.slug === "general" && !kind.withSlackHandle
  return (
    <li className="space-y-3 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <div className="min-w-0 flex-1">
          <span className="font-medium">{item.name}</span>{" "}
          <span className="text-slate-700 text-sm">
            ({item.slug}
            {item.slack_handle ? ` · Slack ${item.slack_handle}` : ""})
          </span>{" "}
          {item.is_active ? null : (
            <span className="rounded-full bg-slate-200 px-2 py-0.5 font-medium text-slate-900 text-xs">
              disabled
            </span>
          )}
        </div>
        {builtIn ? (
          <span className="text-slate-700 text-sm">
            Built in: cannot be renamed or disabled.
          </span>
        ) : (
          <div className="flex gap-2">
            <Button
              variant="secondary"
              aria-expanded={editing}
              aria-label={`Rename ${item.name}`}
              onClick={() => setEditing(!editing)}
            >
              Rename
            </Button>
            {item.is_active ? (
              <ConfirmButton
                variant="secondary"
                aria-label={`Disable ${item.name}`}
                title={`Disable ${item.name}?`}
                message={`Jobs that use it keep it; new jobs can no longer choose this ${kind.singular}. You can enable it again.`}
                confirmLabel="Disable"
                onConfirm={onToggle}
              >
                Disable
              </ConfirmButton>
            ) : (
              <Button
                variant="secondary"
                aria-label={`Enable ${item.name}`}
                onClick={onToggle}
              >
                Enable
              </Button>
            )}
          </div>
        )}
      </div>
      {editing ? (
        <ItemForm
          kind={kind}
          title={`Rename ${item.name}`}
          submitLabel="Save"
          initial={{ name: item.name, slack_handle: item.slack_handle ?? "" }}
          save={(fields) => kind.update(item.id, fields)}
          onSaved={(fields) => {
            setEditing(false)
            onRenamed(fields.name)
          }}
        />
      ) : null}
    </li>
  )
}

function ItemForm({
  kind,
  title,
  submitLabel,
  initial,
  save,
  onSaved,
}: {
  kind: TaxonomyKind
  title: string
  submitLabel: string
  initial: TaxonomyFields
  save: (fields: TaxonomyFields) => Promise<unknown>
  onSaved: (fields: TaxonomyFields) => void
}) {
  const [fields, setFields] = useState(initial)
  const mutation = useMutation({
    mutationFn: save,
    onSuccess: (_, saved) => {
      setFields(initial)
      onSaved(saved)
    },
  })
  const errors =
    mutation.error instanceof ApiError ? mutation.error.fieldErrors() : {}
  const nameError =
    errors.name ??
    (mutation.error && Object.keys(errors).length === 0
      ? mutation.error.message
      : undefined)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    mutation.mutate(kind.withSlackHandle ? fields : { name: fields.name })
  }
  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label={title}
      className="grid gap-4 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-3"
    >
      <TextField
        label="Name"
        value={fields.name}
        onChange={(event) => setFields({ ...fields, name: event.target.value })}
        hint="The slug follows the name."
        error={nameError}
      />
      {kind.withSlackHandle ? (
        <TextField
          label="Slack handle"
          value={fields.slack_handle ?? ""}
          onChange={(event) =>
            setFields({ ...fields, slack_handle: event.target.value })
          }
          hint="Who Slack alerts mention, e.g. @data-oncall."
          error={errors.slack_handle}
        />
      ) : null}
      <div className="flex items-end">
        <Button type="submit" disabled={mutation.isPending}>
          {submitLabel}
        </Button>
      </div>
    </form>
  )
}
