import { useQuery } from "@tanstack/react-query"
import { api, unwrap } from "@/api/client"
import { Field, inputClass } from "@/components/ui/Field"
import { formatInZone } from "@/lib/time"
import { useDebounced } from "@/lib/useDebounced"

const PREVIEW_COUNT = 10

/**
 * The cron expression with, as you type (debounced), the API's verdict and human description
 * and the next 10 runs in the job's zone.
 */
export function CronField({
  value,
  timezone,
  onChange,
  error,
}: {
  value: string
  timezone: string
  onChange: (expression: string) => void
  error?: string | undefined
}) {
  const expression = useDebounced(value.trim(), 400)
  const zone = useDebounced(timezone.trim(), 400)
  const validation = useQuery({
    queryKey: ["validate-cron", expression, zone],
    queryFn: () =>
      unwrap(
        api.POST("/api/v1/jobs/validate-cron", {
          body: { cron_expression: expression, timezone: zone || null },
        }),
      ),
    enabled: expression !== "",
    staleTime: Number.POSITIVE_INFINITY,
  })
  const valid = validation.data?.valid === true
  const preview = useQuery({
    queryKey: ["cron-preview", expression, zone],
    queryFn: () =>
      unwrap(
        api.POST("/api/v1/jobs/cron-preview", {
          body: {
            cron_expression: expression,
            timezone: zone || null,
            count: PREVIEW_COUNT,
          },
        }),
      ),
    enabled: valid,
    staleTime: 30_000,
  })
  const verdict =
    validation.data?.valid === false ? validation.data.error : undefined

  return (
    <div className="space-y-2">
      <Field
        label="Schedule (cron)"
        hint="Five fields: minute hour day-of-month month day-of-week, e.g. 0 2 * * *"
        error={error ?? verdict ?? undefined}
      >
        {(control) => (
          <input
            {...control}
            name="cron_expression"
            className={`${inputClass} font-mono`}
            value={value}
            onChange={(event) => onChange(event.target.value)}
          />
        )}
      </Field>
      <output aria-live="polite" className="block text-sm">
        {valid && validation.data?.description ? (
          <span className="font-medium text-green-800">
            {validation.data.description}
          </span>
        ) : null}
      </output>
      {valid && preview.data ? (
        <div className="text-sm">
          <h3 className="font-medium">
            Next {preview.data.next_runs.length} runs ({preview.data.timezone})
          </h3>
          <ol
            aria-label="Next runs"
            className="mt-1 grid grid-cols-2 gap-x-4 font-mono text-slate-800"
          >
            {preview.data.next_runs.map((run) => (
              <li key={run}>{formatInZone(run, preview.data.timezone)}</li>
            ))}
          </ol>
        </div>
      ) : null}
    </div>
  )
}
