import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { api, type Schemas, unwrap } from "@/api/client"
import { expiryLabel, parseExpiryDays } from "@/apiKeys/keys"
import { NewKeyPanel } from "@/apiKeys/NewKeyPanel"
import { ConfirmButton } from "@/components/ConfirmDialog"
import { CreateForm, createErrors } from "@/components/CreateForm"
import { EmptyState, ErrorState, Loading } from "@/components/states"
import { Cell, DataTable } from "@/components/ui/DataTable"
import { Field, inputClass, TextField } from "@/components/ui/Field"
import { formatDateTime } from "@/lib/format"

export const Route = createFileRoute("/_app/api-keys")({
  component: ApiKeysPage,
})

const keysKey = ["api-keys"] as const

function ApiKeysPage() {
  const queryClient = useQueryClient()
  const [created, setCreated] = useState<Schemas["ApiKeyCreated"] | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const keys = useQuery({
    queryKey: keysKey,
    queryFn: () => unwrap(api.GET("/api/v1/auth/api-keys")),
  })
  const revoke = useMutation({
    mutationFn: (key: Schemas["ApiKeyRead"]) =>
      unwrap(
        api.DELETE("/api/v1/auth/api-keys/{key_id}", {
          params: { path: { key_id: key.id } },
        }),
      ).then(() => key),
    onSuccess: (key) => {
      setNotice(`Key “${key.name}” revoked: it stops working at once.`)
      return queryClient.invalidateQueries({ queryKey: keysKey })
    },
    onError: (error) => setNotice(error.message),
  })
  const now = new Date()

  return (
    <div className="max-w-4xl space-y-6">
      <div>
        <h1 className="font-semibold text-2xl">API keys</h1>
        <p className="text-slate-700">
          Keys let scripts and CI call the API as you, with your role:
          <code className="mx-1">Authorization: Bearer cj_…</code>. A read key
          may only read.
        </p>
      </div>
      {created ? (
        <NewKeyPanel
          name={created.api_key.name}
          secret={created.key}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <CreateKeyForm
        onCreated={(body) => {
          setCreated(body)
          setNotice(null)
          return queryClient.invalidateQueries({ queryKey: keysKey })
        }}
      />
      <output aria-live="polite" className="block text-slate-800 text-sm">
        {notice}
      </output>
      {keys.isPending ? (
        <Loading label="Loading API keys…" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} retry={() => keys.refetch()} />
      ) : keys.data.api_keys.length === 0 ? (
        <EmptyState title="No API keys yet">
          Create one above for a script or a CI pipeline.
        </EmptyState>
      ) : (
        <DataTable
          caption="Your API keys"
          columns={[
            "Name",
            "Scope",
            "Key",
            "Created",
            "Expires",
            "Last used",
            "Actions",
          ]}
        >
          {keys.data.api_keys.map((key) => (
            <tr key={key.id}>
              <Cell className="font-medium">{key.name}</Cell>
              <Cell>{key.scope}</Cell>
              <Cell className="font-mono">{key.prefix}…</Cell>
              <Cell>{formatDateTime(key.created_at)}</Cell>
              <Cell>{expiryLabel(key, now)}</Cell>
              <Cell>
                {key.last_used_at ? formatDateTime(key.last_used_at) : "never"}
              </Cell>
              <Cell>
                <ConfirmButton
                  aria-label={`Revoke ${key.name}`}
                  title={`Revoke “${key.name}”?`}
                  message="Scripts using this key are refused from their next request."
                  confirmLabel="Revoke key"
                  onConfirm={() => revoke.mutate(key)}
                >
                  Revoke
                </ConfirmButton>
              </Cell>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  )
}

function CreateKeyForm({
  onCreated,
}: {
  onCreated: (body: Schemas["ApiKeyCreated"]) => unknown
}) {
  const [name, setName] = useState("")
  const [scope, setScope] = useState<Schemas["ApiKeyScope"]>("read")
  const [days, setDays] = useState("90")
  const [daysError, setDaysError] = useState<string | undefined>()
  const create = useMutation({
    mutationFn: (body: Schemas["ApiKeyCreate"]) =>
      unwrap(api.POST("/api/v1/auth/api-keys", { body })),
    onSuccess: (body) => {
      setName("")
      return onCreated(body)
    },
  })
  const { fieldErrors, formError } = createErrors(create.error)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const expires = parseExpiryDays(days)
    if (expires === "invalid") {
      setDaysError("A whole number of days from 1 to 3650, or empty.")
      return
    }
    setDaysError(undefined)
    create.mutate({ name, scope, expires_in_days: expires })
  }
  return (
    <CreateForm
      id="create-key"
      title="Create a key"
      columns="lg:grid-cols-4"
      onSubmit={submit}
      submitLabel="Create key"
      pending={create.isPending}
      error={formError}
    >
      <TextField
        label="Name"
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        hint="What the key is for."
        error={fieldErrors.name}
      />
      <Field label="Scope" error={fieldErrors.scope}>
        {(control) => (
          <select
            className={inputClass}
            value={scope}
            onChange={(event) =>
              setScope(event.target.value as Schemas["ApiKeyScope"])
            }
            {...control}
          >
            <option value="read">read (GET only)</option>
            <option value="write">write</option>
          </select>
        )}
      </Field>
      <TextField
        label="Expires in (days)"
        inputMode="numeric"
        value={days}
        onChange={(event) => setDays(event.target.value)}
        hint="Empty: never."
        error={daysError ?? fieldErrors.expires_in_days}
      />
    </CreateForm>
  )
}
