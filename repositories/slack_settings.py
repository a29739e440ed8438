from __future__ import annotations

import uuid

from models.slack_settings import SlackSettings
from repositories.base import BaseRepository

# The service-wide settings are one row with a well-known key, so the first reads of several
# requests or processes at once create it once (the primary key decides).
SLACK_SETTINGS_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


class SlackSettingsRepository(BaseRepository[SlackSettings]):
    model = SlackSettings

    async def get_current(self) -> SlackSettings | None:
        return await self.get(SLACK_SETTINGS_ID)

    async def get_enabled(self) -> SlackSettings | None:
        """The settings while Slack is enabled with a webhook URL; None otherwise."""
        settings = await self.get_current()
        if settings is None or not settings.is_enabled or not settings.webhook_url:
            return None
        return settings

    async def get_or_create(self) -> SlackSettings:
        """The settings, created disabled on first read."""
        existing = await self.get_current()
        if existing is not None:
            return existing
        created = await self.create_unless_duplicate({"id": SLACK_SETTINGS_ID})
        if created is not None:
            return created
        raced = await self.get_current()
        assert raced is not None, "the primary key collided, so the row exists"
        return raced
