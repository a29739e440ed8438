import { Link } from "@tanstack/react-router"
import type { ReactNode } from "react"
import { ApiError } from "@/api/client"
import { Button } from "@/components/ui/Button"

/** Loading, error, "not allowed" and "not found" states shared by every page. */

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <output
      aria-live="polite"
      className="flex items-center gap-3 p-6 text-slate-700"
    >
      <span
        aria-hidden="true"
        className="size-4 animate-spin rounded-full border-2 border-slate-300 border-t-blue-700"
      />
      {label}
    </output>
  )
}

function StateBox({
  title,
  children,
  tone = "neutral",
}: {
  title: string
  children?: ReactNode
  tone?: "neutral" | "danger"
}) {
  const border = tone === "danger" ? "border-red-300" : "border-slate-200"
  return (
    <section
      aria-label={title}
      className={`mx-auto my-8 max-w-xl rounded-lg border ${border} bg-white p-6 shadow-sm`}
    >
      <h2 className="mb-2 font-semibold text-lg">{title}</h2>
      <div className="space-y-3 text-slate-700">{children}</div>
    </section>
  )
}

export function Forbidden({ what = "this page" }: { what?: string }) {
  return (
    <StateBox title="Not allowed">
      <p>
        Your role is not allowed to use {what}. Ask an admin if you need it.
      </p>
      <Link className="text-blue-700 underline" to="/">
        Back to home
      </Link>
    </StateBox>
  )
}

export function NotFound({ what = "This page" }: { what?: string }) {
  return (
    <StateBox title="Not found">
      <p>{what} does not exist, or it was deleted.</p>
      <Link className="text-blue-700 underline" to="/">
        Back to home
      </Link>
    </StateBox>
  )
}

export function ErrorState({
  error,
  retry,
}: {
  error: unknown
  retry?: () => void
}) {
  if (error instanceof ApiError && error.status === 403) return <Forbidden />
  if (error instanceof ApiError && error.status === 404) return <NotFound />
  const message =
    error instanceof Error ? error.message : "Something went wrong."
  return (
    <StateBox title="Something went wrong" tone="danger">
      <p role="alert">{message}</p>
      {retry ? (
        <Button variant="secondary" onClick={retry}>
          Try again
        </Button>
      ) : null}
    </StateBox>
  )
}

export function EmptyState({
  title,
  children,
}: {
  title: string
  children?: ReactNode
}) {
  return <StateBox title={title}>{children}</StateBox>
}
