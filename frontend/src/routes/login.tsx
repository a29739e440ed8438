import { useQueryClient } from "@tanstack/react-query"
import { createFileRoute, redirect, useRouter } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { session } from "@/api/client"
import { safeRedirect } from "@/auth/redirect"
import { LoginError } from "@/auth/session"
import { currentUserQuery } from "@/auth/useCurrentUser"
import { Button } from "@/components/ui/Button"
import { TextField } from "@/components/ui/Field"

interface LoginSearch {
  redirect?: string
}

export const Route = createFileRoute("/login")({
  validateSearch: (search: Record<string, unknown>): LoginSearch =>
    typeof search.redirect === "string" ? { redirect: search.redirect } : {},
  beforeLoad: ({ search }) => {
    if (session.isSignedIn)
      throw redirect({ href: safeRedirect(search.redirect) })
  },
  component: LoginPage,
})

function LoginPage() {
  const { redirect: target } = Route.useSearch()
  const router = useRouter()
  const queryClient = useQueryClient()
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    setBusy(true)
    setError(null)
    try {
      const user = await session.login(
        String(form.get("login") ?? "").trim(),
        String(form.get("password") ?? ""),
      )
      queryClient.setQueryData(currentUserQuery.queryKey, user)
      await router.navigate({ href: safeRedirect(target), replace: true })
    } catch (caught) {
      setError(
        caught instanceof LoginError
          ? caught.message
          : "The service cannot be reached; try again in a moment.",
      )
      setBusy(false)
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form
        onSubmit={submit}
        aria-labelledby="sign-in-title"
        className="w-full max-w-sm space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm"
      >
        <h1 id="sign-in-title" className="font-semibold text-xl">
          Sign in to Cron Job Service
        </h1>
        {target && target !== "/" ? (
          <p className="text-slate-700 text-sm">
            Your session ended. Sign in to continue where you were.
          </p>
        ) : null}
        <TextField
          label="Username or email"
          name="login"
          autoComplete="username"
          required
          autoFocus
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
        />
        {error ? (
          <p role="alert" className="text-red-700 text-sm">
            {error}
          </p>
        ) : null}
        <Button type="submit" disabled={busy} className="w-full">
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </form>
    </main>
  )
}
