from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TypeVar

from sqlalchemy import or_, select

from core.enums import AlertKind
from models.user import User
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

    async def digest_subscribers(self) -> list[tuple[User, UserNotificationPreferences]]:
        """Active users with the daily digest or the weekly report switched on."""
        statement = (
            select(User, UserNotificationPreferences)
            .join(UserNotificationPreferences, UserNotificationPreferences.user_id == User.id)
            .where(
                User.is_active,
                or_(
                    UserNotificationPreferences.daily_digest,
                    UserNotificationPreferences.weekly_report,
                ),
            )
            .order_by(User.id)
        )
        return [(user, preferences) for user, preferences in await self.session.execute(statement)]

    async def wanted_digests(
        self, wanted: Collection[tuple[uuid.UUID, AlertKind]]
    ) -> set[tuple[uuid.UUID, AlertKind]]:
        """Which of the (user, digest kind) pairs an active user still has switched on."""
        user_ids = {user_id for user_id, _ in wanted}
        if not user_ids:
            return set()
        statement = (
            select(UserNotificationPreferences)
            .join(User, User.id == UserNotificationPreferences.user_id)
            .where(User.is_active, UserNotificationPreferences.user_id.in_(user_ids))
        )
        switched_on = set()
        for preferences in (await self.session.execute(statement)).scalars():
            if preferences.daily_digest:
                switched_on.add((preferences.user_id, AlertKind.DAILY_DIGEST))
            if preferences.weekly_report:
                switched_on.add((preferences.user_id, AlertKind.WEEKLY_REPORT))
        return switched_on & set(wanted)


class UiPreferencesRepository(_PerUserRepository[UserUiPreferences]):
    model = UserUiPreferences
