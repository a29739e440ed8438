import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { ApiError, api, type Schemas, unwrap } from "@/api/client"
import { currentUserQuery, useCurrentUser } from "@/auth/useCurrentUser"
import { ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { CheckboxField } from "@/components/ui/Checkbox"
import { TextField } from "@/components/ui/Field"
import { TimezoneField } from "@/features/jobs/TimezoneField"
import {
  browserAlertsSwitch,
  browserPermission,
} from "@/notifications/browserAlerts"
import { preferencesQuery } from "@/notifications/queries"

export const Route = createFileRoute("/_app/profile")({
  component: ProfilePage,
})

function ProfilePage() {
  const user = useCurrentUser()
  return (
    <div className="max-w-2xl space-y-8">
      <div>
        <h1 className="font-semibold text-2xl">Profile</h1>
        <p className="text-slate-700">
          Signed in as <span className="font-medium">{user.username}</span>{" "}
          (role: {user.role}).
        </p>
      </div>
      <EmailForm />
      <TimezoneForm />
      <PasswordForm />
      <NotificationPreferencesForm />
    </div>
  )
}

function useUpdateSelf() {
  const user = useCurrentUser()
  const queryClient = useQueryClient()
  return useMutation({
    mutationFn: (body: Schemas["UserUpdate"]) =>
      unwrap(
        api.PUT("/api/v1/auth/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body,
        }),
      ),
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: currentUserQuery.queryKey }),
  })
}

function errorFor(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined
  return error.fieldErrors()[field] ?? error.body?.message ?? error.message
}

function Section({
  id,
  title,
  children,
}: {
  id: string
  title: string
  children: React.ReactNode
}) {
  return (
    <section
      aria-labelledby={id}
      className="space-y-4 rounded-lg border border-slate-200 bg-white p-5"
    >
      <h2 id={id} className="font-semibold text-lg">
        {title}
      </h2>
      {children}
    </section>
  )
}

/** A form that saves one field of the signed-in user's account. */
function useSelfField(field: "email" | "timezone") {
  const user = useCurrentUser()
  const [value, setValue] = useState(user[field])
  const update = useUpdateSelf()
  const submit = (event: FormEvent) => {
    event.preventDefault()
    update.mutate({ [field]: value })
  }
  return {
    value,
    setValue,
    update,
    submit,
    unchanged: value === user[field],
    error: update.isError ? errorFor(update.error, field) : undefined,
  }
}

/** The submit button and the polite "saved" line under a profile form. */
function SaveRow({
  label,
  disabled,
  saved,
}: {
  label: string
  disabled: boolean
  saved: string | null
}) {
  return (
    <div className="flex items-center gap-3">
      <Button type="submit" disabled={disabled}>
        {label}
      </Button>
      <output aria-live="polite" className="text-green-900 text-sm">
        {saved}
      </output>
    </div>
  )
}

function EmailForm() {
  const email = useSelfField("email")
  return (
    <Section id="email-title" title="Email">
      <form onSubmit={email.submit} className="space-y-3" noValidate>
        <TextField
          label="Email address"
          type="email"
          autoComplete="email"
          required
          value={email.value}
          onChange={(event) => email.setValue(event.target.value)}
          error={email.error}
          hint="Alert emails and digests go here."
        />
        <SaveRow
          label="Save email"
          disabled={email.update.isPending || email.unchanged}
          saved={email.update.isSuccess ? "Email saved." : null}
        />
      </form>
    </Section>
  )
}

function TimezoneForm() {
  const timezone = useSelfField("timezone")
  return (
    <Section id="timezone-title" title="Time zone">
      <form onSubmit={timezone.submit} className="space-y-3" noValidate>
        <p className="text-slate-700 text-sm">
          Your daily digest and weekly report cover your own days, midnight to
          midnight, in this zone, and arrive in the morning there.
        </p>
        <TimezoneField
          value={timezone.value}
          onChange={timezone.setValue}
          error={timezone.error}
        />
        <SaveRow
          label="Save time zone"
          disabled={timezone.update.isPending || timezone.unchanged}
          saved={timezone.update.isSuccess ? "Time zone saved." : null}
        />
      </form>
    </Section>
  )
}

function PasswordForm() {
  const [password, setPassword] = useState("")
  const [repeat, setRepeat] = useState("")
  const [mismatch, setMismatch] = useState(false)
  const update = useUpdateSelf()
  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (password !== repeat) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    update.mutate(
      { password },
      {
        onSuccess: () => {
          setPassword("")
          setRepeat("")
        },
      },
    )
  }
  return (
    <Section id="password-title" title="Password">
      <form onSubmit={submit} className="space-y-3" noValidate>
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          hint="At least 8 characters."
          error={
            update.isError ? errorFor(update.error, "password") : undefined
          }
        />
        <TextField
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={(event) => setRepeat(event.target.value)}
          error={mismatch ? "The two passwords differ." : undefined}
        />
        <SaveRow
          label="Change password"
          disabled={update.isPending || !password}
          saved={update.isSuccess ? "Password changed." : null}
        />
      </form>
    </Section>
  )
}

type PreferenceKey = keyof Schemas["NotificationPreferences"]

const EMAIL_PREFERENCES: { key: PreferenceKey; label: string; hint: string }[] =
  [
    {
      key: "email_on_job_failure",
      label: "Email when a job of mine fails",
      hint: "Sent after the last retry of a failed run.",
    },
    {
      key: "email_on_job_success",
      label: "Email when a job of mine succeeds",
      hint: "Only for jobs that ask to notify on success.",
    },
    {
      key: "email_on_job_disabled",
      label: "Email when the service pauses a job of mine",
      hint: "For example when it passed its end date.",
    },
    {
      key: "daily_digest",
      label: "Daily digest",
      hint: "One email each morning about the previous day's runs, in your time zone. None on a day with nothing to report.",
    },
    {
      key: "weekly_report",
      label: "Weekly report",
      hint: "One email each Monday morning about the previous week, job by job, against the week before.",
    },
  ]

function NotificationPreferencesForm() {
  const user = useCurrentUser()
  const queryClient = useQueryClient()
  const query = useQuery(preferencesQuery(user.id))
  const [notice, setNotice] = useState<string | null>(null)
  const save = useMutation({
    mutationFn: (body: Schemas["NotificationPreferencesUpdate"]) =>
      unwrap(
        api.PUT("/api/v1/auth/users/{user_id}/preferences", {
          params: { path: { user_id: user.id } },
          body,
        }),
      ),
    // The switch moves at once; a refusal puts it back.
    onMutate: async (body) => {
      const key = preferencesQuery(user.id).queryKey
      const before = queryClient.getQueryData(key)
      await queryClient.cancelQueries({ queryKey: key })
      if (before) {
        const preferences = { ...before.preferences }
        for (const [name, value] of Object.entries(body)) {
          if (typeof value === "boolean")
            preferences[name as PreferenceKey] = value
        }
        queryClient.setQueryData(key, { ...before, preferences })
      }
      return { before }
    },
    onSuccess: (data) => {
      queryClient.setQueryData(preferencesQuery(user.id).queryKey, data)
      setNotice("Preferences saved.")
    },
    onError: (error, _body, context) => {
      if (context?.before)
        queryClient.setQueryData(
          preferencesQuery(user.id).queryKey,
          context.before,
        )
      setNotice(error.message)
    },
  })

  const permission = browserPermission()
  const setBrowserAlerts = async (on: boolean) => {
    const decided = await browserAlertsSwitch(on)
    if (decided) {
      save.mutate({ browser_notifications: decided.save })
    } else {
      setNotice(
        "Your browser blocks notifications for this site, so the switch stays off. Allow notifications in the browser's site settings, then turn it on again.",
      )
    }
  }

  return (
    <Section id="preferences-title" title="Notification preferences">
      {query.isPending ? (
        <Loading label="Loading preferences…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => query.refetch()} />
      ) : (
        <fieldset className="space-y-4" disabled={save.isPending}>
          <legend className="sr-only">Notification preferences</legend>
          {EMAIL_PREFERENCES.map(({ key, label, hint }) => (
            <CheckboxField
              key={key}
              label={label}
              hint={hint}
              checked={query.data.preferences[key]}
              onChange={(event) => save.mutate({ [key]: event.target.checked })}
            />
          ))}
          <CheckboxField
            role="switch"
            label="Browser notifications"
            hint={
              permission === "unsupported"
                ? "This browser has no notifications."
                : "While the dashboard is open, new notifications also pop up as browser notifications. Turning this on asks the browser's permission."
            }
            disabled={permission === "unsupported"}
            checked={query.data.preferences.browser_notifications}
            onChange={(event) => void setBrowserAlerts(event.target.checked)}
          />
        </fieldset>
      )}
      <output aria-live="polite" className="block text-slate-800 text-sm">
        {notice}
      </output>
    </Section>
  )
}
