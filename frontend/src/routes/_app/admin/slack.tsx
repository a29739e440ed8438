import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { createFileRoute } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import { ApiError, api, type Schemas, unwrap } from "@/api/client"
import { ErrorState, Loading } from "@/components/states"
import { Button } from "@/components/ui/Button"
import { CheckboxField } from "@/components/ui/Checkbox"
import { TextField } from "@/components/ui/Field"

export const Route = createFileRoute("/_app/admin/slack")({
  component: SlackPage,
})

const slackKey = ["admin", "slack"] as const

function SlackPage() {
  const query = useQuery({
    queryKey: slackKey,
    queryFn: () => unwrap(api.GET("/api/v1/settings/slack")),
  })
  return (
    <div className="max-w-2xl space-y-6">
      <div>
        <h1 className="font-semibold text-2xl">Slack</h1>
        <p className="text-slate-700">
          When enabled, failed runs (and successes of jobs that ask for it) are
          posted to this incoming webhook, mentioning the job's PIC team.
        </p>
      </div>
      {query.isPending ? (
        <Loading label="Loading Slack settings…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => query.refetch()} />
      ) : (
        <SlackForm settings={query.data.slack_settings} />
      )}
    </div>
  )
}

function SlackForm({ settings }: { settings: Schemas["SlackSettingsRead"] }) {
  const queryClient = useQueryClient()
  const [enabled, setEnabled] = useState(settings.is_enabled)
  const [webhookUrl, setWebhookUrl] = useState(settings.webhook_url ?? "")
  const [channel, setChannel] = useState(settings.channel ?? "")
  const save = useMutation({
    mutationFn: (body: Schemas["SlackSettingsUpdate"]) =>
      unwrap(api.PUT("/api/v1/settings/slack", { body })),
    onSuccess: (data) =>
      queryClient.setQueryData(slackKey, {
        slack_settings: data.slack_settings,
      }),
  })
  const errors = save.error instanceof ApiError ? save.error.fieldErrors() : {}
  const formError =
    save.error && Object.keys(errors).length === 0 ? save.error.message : null
  const submit = (event: FormEvent) => {
    event.preventDefault()
    save.mutate({
      is_enabled: enabled,
      webhook_url: webhookUrl,
      channel,
    })
  }
  return (
    <form
      onSubmit={submit}
      noValidate
      className="space-y-4 rounded-lg border border-slate-200 bg-white p-5"
    >
      <CheckboxField
        role="switch"
        label="Post to Slack"
        checked={enabled}
        onChange={(event) => setEnabled(event.target.checked)}
        hint="Needs a webhook URL."
      />
      <TextField
        label="Webhook URL"
        type="url"
        inputMode="url"
        placeholder="https://hooks.slack.com/services/…"
        value={webhookUrl}
        onChange={(event) => setWebhookUrl(event.target.value)}
        error={errors.webhook_url}
      />
      <TextField
        label="Channel"
        placeholder="#alerts"
        value={channel}
        onChange={(event) => setChannel(event.target.value)}
        hint="Optional: overrides the webhook's default channel."
        error={errors.channel}
      />
      {formError ? (
        <p role="alert" className="text-red-700 text-sm">
          {formError}
        </p>
      ) : null}
      <div className="flex items-center gap-3">
        <Button type="submit" disabled={save.isPending}>
          Save Slack settings
        </Button>
        <output aria-live="polite" className="text-green-900 text-sm">
          {save.isSuccess ? "Slack settings saved." : null}
        </output>
      </div>
    </form>
  )
}
