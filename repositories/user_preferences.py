from __future__ import annotations

import uuid
from typing import TypeVar

from models.user_preferences import UserNotificationPreferences, UserUiPreferences
from repositories.base import BaseRepository

PreferencesT = TypeVar("PreferencesT", UserNotificationPreferences, UserUiPreferences)


class _PerUserRepository(BaseRepository[PreferencesT]):
    """A table with at most one row per user (`user_id` unique)."""

    async def get_for_user(self, user_id: uuid.UUID) -> PreferencesT | None:
        return await self.get_by(self.model.user_id == user_id)

    async def get_or_create(self, user_id: uuid.UUID) -> PreferencesT:
        """The user's row, created with the column defaults when missing. Two first reads at
        once both end with the same row."""
        existing = await self.get_for_user(user_id)
        if existing is not None:
            return existing
        created = await self.create_unless_duplicate({"user_id": user_id})
        if created is not None:
            return created
        raced = await self.get_for_user(user_id)
        assert raced is not None, "the unique constraint fired, so the row exists"
        return raced


class NotificationPreferencesRepository(_PerUserRepository[UserNotificationPreferences]):
    model = UserNotificationPreferences


class UiPreferencesRepository(_PerUserRepository[UserUiPreferences]):
    model = UserUiPreferences
