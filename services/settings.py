"""Service-wide settings kept in the database (Slack), changed by admins at run time."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import AuditAction, AuditResource
from core.errors import InvalidInput
from models.slack_settings import SlackSettings
from models.user import User
from repositories.slack_settings import SlackSettingsRepository
from schemas.settings import SlackSettingsUpdate
from services.audit import AuditService, field_changes

logger = logging.getLogger("services.settings")


class SettingsService:
    def __init__(self, session: AsyncSession, *, audit: AuditService | None = None) -> None:
        self.slack = SlackSettingsRepository(session)
        self.audit = audit or AuditService(session)

    async def get_slack(self) -> SlackSettings:
        return await self.slack.get_or_create()

    async def update_slack(self, actor: User, data: SlackSettingsUpdate) -> SlackSettings:
        settings = await self.slack.get_or_create()
        changes = data.model_dump(exclude_unset=True)
        enabled = changes.get("is_enabled", settings.is_enabled)
        if enabled and changes.get("webhook_url", settings.webhook_url) is None:
            raise InvalidInput(
                "webhook_url is required when Slack is enabled.", title="Invalid settings"
            )
        before = {field: getattr(settings, field) for field in changes}
        await self.slack.update(settings, changes)
        # The webhook URL is a credential: the entry says only that it changed.
        diff = field_changes(before, changes, secret={"webhook_url"})
        if diff:
            await self.audit.record(
                AuditAction.SLACK_SETTINGS_UPDATED,
                AuditResource.SLACK_SETTINGS,
                settings.id,
                changes=diff,
            )
        # Never the webhook URL: it is a credential.
        logger.info(
            "Slack settings changed by %s: %s (enabled: %s)",
            actor.id,
            ",".join(sorted(changes)) or "nothing",
            settings.is_enabled,
        )
        return settings
