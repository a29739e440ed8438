"""Service-wide settings (admin only): Slack."""

from __future__ import annotations

from api.deps import AdminUser, SettingsServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.settings import (
    SlackSettingsEnvelope,
    SlackSettingsRead,
    SlackSettingsUpdate,
    SlackSettingsUpdated,
)

router = ApiRouter(prefix="/settings", tags=["settings"])


@router.get(
    "/slack",
    summary="Slack settings (admin; created disabled on first read)",
    response_model=SlackSettingsEnvelope,
    responses=error_responses(401, 403),
)
async def get_slack_settings(
    _admin: AdminUser, service: SettingsServiceDep
) -> SlackSettingsEnvelope:
    settings = await service.get_slack()
    return SlackSettingsEnvelope(slack_settings=SlackSettingsRead.model_validate(settings))


@router.put(
    "/slack",
    summary="Change the Slack settings (admin)",
    description=(
        "Partial: fields left out keep their value. Strings are trimmed; an empty string or "
        "null clears `webhook_url` or `channel`. Failed runs, recoveries and auto-pauses are "
        "posted while Slack is enabled."
    ),
    response_model=SlackSettingsUpdated,
    responses=error_responses(400, 401, 403, descriptions={400: "Enabled without a `webhook_url`"}),
)
async def update_slack_settings(
    body: SlackSettingsUpdate, admin: AdminUser, service: SettingsServiceDep
) -> SlackSettingsUpdated:
    settings = await service.update_slack(admin, body)
    return SlackSettingsUpdated(
        message="Slack settings updated",
        slack_settings=SlackSettingsRead.model_validate(settings),
    )
