import type { Schemas } from "@/api/client"

type Status = Schemas["ExecutionRead"]["status"]

export const STATUS_LABELS: Record<Status, string> = {
  success: "Success",
  failed: "Failed",
  missed: "Missed",
  running: "Running",
  skipped: "Skipped",
  cancelled: "Cancelled",
}

const STYLES: Record<Status, string> = {
  success: "bg-green-100 text-green-900",
  failed: "bg-red-100 text-red-900",
  missed: "bg-amber-100 text-amber-900",
  running: "bg-blue-100 text-blue-900",
  skipped: "bg-slate-100 text-slate-800",
  cancelled: "bg-purple-100 text-purple-900",
}

/** An execution status as text on a tinted pill (the word carries the meaning, not the colour). */
export function StatusBadge({ status }: { status: Status }) {
  return (
    <span
      className={`inline-block rounded px-2 py-0.5 font-medium text-xs ${STYLES[status]}`}
    >
      {STATUS_LABELS[status]}
    </span>
  )
}

/** Every status, in the order filters offer them. */
export const EXECUTION_STATUSES: Status[] = [
  "running",
  "success",
  "failed",
  "missed",
  "skipped",
  "cancelled",
]
