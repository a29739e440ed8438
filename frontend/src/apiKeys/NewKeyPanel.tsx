import { useState } from "react"
import { Button } from "@/components/ui/Button"

/**
 * The key just created, shown this once: the service keeps only its hash. Copy puts it on the
 * clipboard; Done hides it for good.
 */
export function NewKeyPanel({
  name,
  secret,
  onDone,
}: {
  name: string
  secret: string
  onDone: () => void
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
      aria-labelledby="new-key"
      className="space-y-3 rounded-lg border border-amber-300 bg-amber-50 p-4"
    >
      <h2 id="new-key" className="font-semibold text-lg">
        Your new key “{name}”
      </h2>
      <p className="text-slate-800 text-sm">
        Copy it now: it is shown only this once and cannot be retrieved later.
        Send it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      <label className="block text-slate-900 text-sm">
        <span className="mb-1 block font-medium">API key</span>
        <input
          readOnly
          value={secret}
          onFocus={(event) => event.target.select()}
          className="w-full rounded-md border border-slate-400 bg-white px-3 py-2 font-mono text-sm"
        />
      </label>
      <div className="flex items-center gap-3">
        <Button onClick={copy}>Copy key</Button>
        <Button variant="secondary" onClick={onDone}>
          Done
        </Button>
        <output aria-live="polite" className="text-slate-800 text-sm">
          {copied === "yes"
            ? "Copied to the clipboard."
            : copied === "failed"
              ? "Copying failed: select the key and copy it yourself."
              : null}
        </output>
      </div>
    </section>
  )
}
