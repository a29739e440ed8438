"""User accounts and their preferences: who may see and change what."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import AuditAction, AuditResource, UserRole
from core.errors import Conflict, InvalidInput, NotFound
from core.security import hash_password
from models.api_key import ApiKey
from models.user import User
from models.user_preferences import UserNotificationPreferences
from repositories.base import UniqueViolation
from repositories.refresh_token import RefreshTokenRepository
from repositories.user import UserRepository
from repositories.user_preferences import (
    NotificationPreferencesRepository,
    UiPreferencesRepository,
)
from schemas.user import (
    JobsTableColumns,
    NotificationPreferencesUpdate,
    UiPreferencesUpdate,
    UserCreate,
    UserUpdate,
)
from services import authz
from services.audit import REDACTED, AuditService, field_changes

logger = logging.getLogger("services.user")


@dataclass(frozen=True, slots=True)
class UserUpdateResult:
    user: User
    updated_fields: list[str]


class UserService:
    def __init__(
        self,
        session: AsyncSession,
        default_timezone: str | None = None,
        *,
        audit: AuditService | None = None,
    ) -> None:
        # The zone of users created without one (SCHEDULER_TIMEZONE); None: the model's default.
        self.default_timezone = default_timezone
        self.audit = audit or AuditService(session)
        self.users = UserRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.notification_preferences = NotificationPreferencesRepository(session)
        self.ui_preferences = UiPreferencesRepository(session)

    # --- accounts ------------------------------------------------------------------------------

    async def register(self, data: UserCreate) -> User:
        user = await self._create(data)
        await self._record_registered(user)
        logger.info("registered user %s (%s)", user.id, user.role, extra={"user_id": str(user.id)})
        return user

    async def ensure_admin(self, data: UserCreate) -> User | None:
        """Create `data` as an admin unless an admin exists already (start-up bootstrap).

        Several processes may start at once: one creates the admin, the others find it.
        """
        if await self.users.admin_exists():
            return None
        admin = await self.users.create_unless_duplicate(
            await self._new_user_values(data.model_copy(update={"role": UserRole.ADMIN}))
        )
        if admin is None:
            if await self.users.admin_exists():
                return None
            raise Conflict(
                "The first admin's username or email belongs to another user.",
                title="Admin not created",
            )
        await self._record_registered(admin)
        logger.info("created the first admin %s", admin.id, extra={"user_id": str(admin.id)})
        return admin

    async def list_users(self) -> Sequence[User]:
        return await self.users.get_multi(order_by=(User.created_at, User.username))

    async def get_user(self, actor: User, user_id: uuid.UUID) -> User:
        authz.require_self_or_admin(actor, user_id, "You can only view your own profile.")
        return await self._get(user_id)

    async def update_user(
        self, actor: User, user_id: uuid.UUID, data: UserUpdate, *, api_key: ApiKey | None = None
    ) -> UserUpdateResult:
        """`api_key`: the key the actor called with, if any (a key cannot change passwords)."""
        authz.require_self_or_admin(actor, user_id, "You can only update your own profile.")
        authz.require_user_fields(actor, data.model_fields_set)
        if "password" in data.model_fields_set:
            authz.refuse_api_key(api_key, "change a password")
        changes = data.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInput(
                "Send at least one of email, password, timezone, role or is_active.",
                title="No valid fields to update",
            )
        user = await self._get(user_id)
        if user.id == actor.id and (
            changes.get("role", user.role) != user.role or changes.get("is_active") is False
        ):
            # The last admin could otherwise lock everyone out of user management.
            raise InvalidInput(
                "Admins cannot demote or deactivate themselves; ask another admin.",
                title="Cannot change your own role or status",
            )

        before = {field: getattr(user, field) for field in changes if field != "password"}
        values = dict(changes)
        if data.password is not None:
            del values["password"]
            values["password_hash"] = await hash_password(data.password.get_secret_value())
        try:
            await self.users.update(user, values)
        except UniqueViolation as exc:
            raise _duplicate(exc) from exc
        if data.password is not None or data.is_active is False:
            # A new password or a deactivation ends every session: refresh tokens stop working.
            await self.refresh_tokens.revoke_all(user.id)
        updated_fields = [field for field in UserUpdate.model_fields if field in changes]
        # A new password is recorded as changed, never with a value (hash or text).
        diff = field_changes(before, {k: v for k, v in changes.items() if k != "password"})
        if data.password is not None:
            diff["password"] = {"before": REDACTED, "after": REDACTED}
        if diff:
            await self.audit.record(
                AuditAction.USER_UPDATED, AuditResource.USER, user.id, changes=diff
            )
        logger.info(
            "user %s updated %s by %s",
            user.id,
            ",".join(updated_fields),
            actor.id,
            extra={"user_id": str(user.id)},
        )
        return UserUpdateResult(user=user, updated_fields=updated_fields)

    async def delete_user(self, actor: User, user_id: uuid.UUID) -> User:
        if user_id == actor.id:
            raise InvalidInput(
                "Admins cannot delete their own account; ask another admin.",
                title="Cannot delete your own account",
            )
        user = await self._get(user_id)
        await self.users.delete(user)
        await self.audit.record(
            AuditAction.USER_DELETED,
            AuditResource.USER,
            user.id,
            details={"username": user.username, "email": user.email, "role": user.role},
        )
        logger.info("user %s deleted by %s", user.id, actor.id, extra={"user_id": str(user.id)})
        return user

    # --- preferences ---------------------------------------------------------------------------

    async def get_notification_preferences(
        self, actor: User, user_id: uuid.UUID
    ) -> UserNotificationPreferences:
        await self._require_preferences_access(actor, user_id)
        return await self.notification_preferences.get_or_create(user_id)

    async def update_notification_preferences(
        self, actor: User, user_id: uuid.UUID, data: NotificationPreferencesUpdate
    ) -> UserNotificationPreferences:
        await self._require_preferences_access(actor, user_id)
        preferences = await self.notification_preferences.get_or_create(user_id)
        return await self.notification_preferences.update(
            preferences, data.model_dump(exclude_unset=True, exclude_none=True)
        )

    async def get_ui_preferences(self, actor: User, user_id: uuid.UUID) -> JobsTableColumns:
        await self._require_preferences_access(actor, user_id)
        stored = await self.ui_preferences.get_for_user(user_id)
        return JobsTableColumns.model_validate(stored.jobs_table_columns if stored else {})

    async def update_ui_preferences(
        self, actor: User, user_id: uuid.UUID, data: UiPreferencesUpdate
    ) -> JobsTableColumns:
        await self._require_preferences_access(actor, user_id)
        columns = JobsTableColumns.model_validate(data.jobs_table_columns)
        preferences = await self.ui_preferences.get_or_create(user_id)
        # Only the known columns the user set are stored; the others follow the defaults.
        await self.ui_preferences.update(
            preferences, {"jobs_table_columns": columns.model_dump(exclude_unset=True)}
        )
        return columns

    # --- helpers -------------------------------------------------------------------------------

    async def _create(self, data: UserCreate) -> User:
        try:
            return await self.users.create(await self._new_user_values(data))
        except UniqueViolation as exc:
            raise _duplicate(exc) from exc

    async def _record_registered(self, user: User) -> None:
        await self.audit.record(
            AuditAction.USER_REGISTERED,
            AuditResource.USER,
            user.id,
            details={"username": user.username, "email": user.email, "role": user.role},
        )

    async def _get(self, user_id: uuid.UUID) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("User not found.", title="User not found")
        return user

    async def _new_user_values(self, data: UserCreate) -> dict[str, object]:
        values: dict[str, object] = {
            "username": data.username,
            "email": data.email,
            "password_hash": await hash_password(data.password.get_secret_value()),
            "role": data.role,
        }
        timezone = data.timezone or self.default_timezone
        if timezone is not None:
            values["timezone"] = timezone
        return values

    async def _require_preferences_access(self, actor: User, user_id: uuid.UUID) -> None:
        authz.require_self_or_admin(actor, user_id, "You can only access your own preferences.")
        # An admin may name any id; preferences of nobody do not exist.
        await self._get(user_id)


def _duplicate(exc: UniqueViolation) -> Conflict:
    # PostgreSQL names the constraint (uq_user_email); SQLite names the column (user.email).
    if "email" in (exc.constraint or ""):
        return Conflict("A user with this email already exists.", title="Email already exists")
    return Conflict("A user with this username already exists.", title="Username already exists")
