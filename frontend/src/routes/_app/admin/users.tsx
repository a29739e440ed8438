import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { api, type Schemas, unwrap } from "@/api/client"
import { useCurrentUser } from "@/auth/useCurrentUser"
import { ConfirmButton } from "@/components/ConfirmDialog"
import { CreateForm, createErrors } from "@/components/CreateForm"
import { ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { Cell, DataTable } from "@/components/ui/DataTable"
import { Field, inputClass, TextField } from "@/components/ui/Field"
import { formatDateTime } from "@/lib/format"

export const Route = createFileRoute("/_app/admin/users")({
  component: UsersPage,
})

const ROLES: Schemas["UserRole"][] = ["admin", "user", "viewer"]
const usersKey = ["admin", "users"] as const

function UsersPage() {
  const me = useCurrentUser()
  const queryClient = useQueryClient()
  const [notice, setNotice] = useState<string | null>(null)
  const users = useQuery({
    queryKey: usersKey,
    queryFn: () => unwrap(api.GET("/api/v1/auth/users")),
  })
  const done = (message: string) => {
    setNotice(message)
    return queryClient.invalidateQueries({ queryKey: usersKey })
  }
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas["UserUpdate"] }) =>
      unwrap(
        api.PUT("/api/v1/auth/users/{user_id}", {
          params: { path: { user_id: id } },
          body,
        }),
      ),
    onSuccess: (data) => done(`${data.user.username} updated.`),
    onError: (error) => setNotice(error.message),
  })
  const remove = useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.DELETE("/api/v1/auth/users/{user_id}", {
          params: { path: { user_id: id } },
        }),
      ),
    onSuccess: (data) => done(`${data.deleted_user.username} deleted.`),
    onError: (error) => setNotice(error.message),
  })

  return (
    <div className="space-y-6">
      <h1 className="font-semibold text-2xl">Users</h1>
      <CreateUserForm onCreated={(name) => done(`${name} created.`)} />
      <output aria-live="polite" className="block text-slate-800 text-sm">
        {notice}
      </output>
      {users.isPending ? (
        <Loading label="Loading users…" />
      ) : users.isError ? (
        <ErrorState error={users.error} retry={() => users.refetch()} />
      ) : (
        <DataTable
          caption="Users"
          columns={["Username", "Email", "Role", "State", "Created", "Actions"]}
        >
          {users.data.users.map((user) => {
            const self = user.id === me.id
            return (
              <tr key={user.id}>
                <Cell className="font-medium">
                  {user.username}
                  {self ? " (you)" : ""}
                </Cell>
                <Cell>{user.email}</Cell>
                <Cell>
                  <select
                    aria-label={`Role of ${user.username}`}
                    className={inputClass}
                    value={user.role}
                    disabled={self || update.isPending}
                    onChange={(event) =>
                      update.mutate({
                        id: user.id,
                        body: {
                          role: event.target.value as Schemas["UserRole"],
                        },
                      })
                    }
                  >
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {role}
                      </option>
                    ))}
                  </select>
                </Cell>
                <Cell>{user.is_active ? "active" : "deactivated"}</Cell>
                <Cell>{formatDateTime(user.created_at)}</Cell>
                <Cell>
                  <div className="flex gap-2">
                    <Button
                      variant="secondary"
                      disabled={self || update.isPending}
                      aria-label={`${user.is_active ? "Deactivate" : "Activate"} ${user.username}`}
                      onClick={() =>
                        update.mutate({
                          id: user.id,
                          body: { is_active: !user.is_active },
                        })
                      }
                    >
                      {user.is_active ? "Deactivate" : "Activate"}
                    </Button>
                    <ConfirmButton
                      disabled={self}
                      aria-label={`Delete ${user.username}`}
                      title={`Delete ${user.username}?`}
                      message="The account is removed and signed out at once. Jobs it created stay."
                      confirmLabel="Delete user"
                      onConfirm={() => remove.mutate(user.id)}
                    >
                      Delete
                    </ConfirmButton>
                  </div>
                </Cell>
              </tr>
            )
          })}
        </DataTable>
      )}
    </div>
  )
}

function CreateUserForm({ onCreated }: { onCreated: (name: string) => void }) {
  const empty = {
    username: "",
    email: "",
    password: "",
    role: "viewer" as const,
  }
  const [form, setForm] = useState<Schemas["UserCreate"]>(empty)
  const create = useMutation({
    mutationFn: (body: Schemas["UserCreate"]) =>
      unwrap(api.POST("/api/v1/auth/register", { body })),
    onSuccess: (data) => {
      setForm(empty)
      onCreated(data.user.username)
    },
  })
  const { fieldErrors, formError } = createErrors(create.error)
  const set =
    (key: keyof Schemas["UserCreate"]) =>
    (event: { target: { value: string } }) =>
      setForm({ ...form, [key]: event.target.value })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate(form)
  }
  return (
    <CreateForm
      id="create-user"
      title="Create a user"
      columns="lg:grid-cols-5"
      onSubmit={submit}
      submitLabel="Create user"
      pending={create.isPending}
      error={formError}
    >
      <TextField
        label="Username"
        autoComplete="off"
        value={form.username}
        onChange={set("username")}
        hint="3–80 letters, digits or _."
        error={fieldErrors.username}
      />
      <TextField
        label="Email"
        type="email"
        autoComplete="off"
        value={form.email}
        onChange={set("email")}
        error={fieldErrors.email}
      />
      <TextField
        label="Password"
        type="password"
        autoComplete="new-password"
        value={form.password}
        onChange={set("password")}
        hint="At least 8 characters."
        error={fieldErrors.password}
      />
      <Field label="Role" error={fieldErrors.role}>
        {(control) => (
          <select
            className={inputClass}
            value={form.role}
            onChange={set("role")}
            {...control}
          >
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        )}
      </Field>
    </CreateForm>
  )
}
