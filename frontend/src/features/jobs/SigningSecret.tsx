import { useMutation, useQueryClient } from "@tanstack/react-query"
import { useState } from "react"
import { api, unwrap } from "@/api/client"
import { ConfirmButton } from "@/components/ConfirmDialog"
import { Button } from "@/components/ui/Button"

/** A signing secret the service shows this once, with a copy button. */
export function SigningSecretOnce({
  secret,
  children,
}: {
  secret: string
  children?: React.ReactNode
}) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied("yes")
    } catch {
      setCopied("failed")
    }
  }
  return (
    <section
      aria-label="Signing secret"
      className="space-y-2 rounded-lg border border-amber-400 bg-amber-50 p-4"
    >
      <h2 className="font-semibold text-lg">Signing secret</h2>
      <p className="text-slate-800 text-sm">
        Calls to the target are signed with this secret (Standard Webhooks).
        Store it with the receiver now: it is not shown again.
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <code
          data-testid="signing-secret"
          className="select-all break-all rounded bg-white px-2 py-1 font-mono text-slate-900 text-sm"
        >
          {secret}
        </code>
        <Button variant="secondary" onClick={copy}>
          Copy
        </Button>
        <output aria-live="polite" className="text-sm">
          {copied === "yes"
            ? "Copied"
            : copied === "failed"
              ? "Copy failed: select the text and copy it"
              : ""}
        </output>
      </div>
      {children}
    </section>
  )
}

/** "Rotate signing secret" (owner or admin): a new secret, shown once; the old one keeps
 * signing calls for a day so the receiver can switch. */
export function RotateSigningSecret({ jobId }: { jobId: string }) {
  const queryClient = useQueryClient()
  const rotate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/jobs/{job_id}/signing-secret", {
          params: { path: { job_id: jobId } },
        }),
      ),
    onSuccess: () =>
      queryClient.invalidateQueries({ queryKey: ["jobs", jobId] }),
  })
  return (
    <div className="space-y-2">
      <ConfirmButton
        variant="secondary"
        title="Rotate the signing secret?"
        message="A new secret is made and shown once. Calls are signed with the previous one as well for the overlap (24 hours by default), then with the new one only."
        confirmLabel="Rotate"
        disabled={rotate.isPending}
        onConfirm={() => rotate.mutate()}
      >
        Rotate signing secret
      </ConfirmButton>
      {rotate.error ? (
        <p role="alert" className="text-red-800 text-sm">
          {rotate.error.message}
        </p>
      ) : null}
      {rotate.data ? (
        <SigningSecretOnce secret={rotate.data.signing_secret}>
          {rotate.data.previous_secret_valid_until ? (
            <p className="text-slate-800 text-sm">
              The previous secret also signs calls until{" "}
              {new Date(
                rotate.data.previous_secret_valid_until,
              ).toLocaleString()}
              .
            </p>
          ) : null}
        </SigningSecretOnce>
      ) : null}
    </div>
  )
}
