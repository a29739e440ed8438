"""Who may do what: every authorization rule of the service, in one place.

Services call these before acting, and the API's role dependencies (`AdminUser`, `EditorUser`
in api/deps.py) are built on them, so a rule and its message exist once. Each raises Forbidden
(403) when the rule refuses; `is_admin` answers without raising.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from core.enums import ApiKeyScope, UserRole
from core.errors import Forbidden
from models.api_key import ApiKey
from models.job import Job
from models.notification import Notification
from models.user import User

ADMINS = frozenset({UserRole.ADMIN})
EDITORS = frozenset({UserRole.ADMIN, UserRole.USER})
"""Roles that may create and change jobs (viewers only read)."""
ADMIN_ONLY_USER_FIELDS = frozenset({"role", "is_active"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""What a `read` API key may call."""


def is_admin(actor: User) -> bool:
    return actor.role is UserRole.ADMIN


def require_role(actor: User, roles: Collection[UserRole]) -> None:
    if actor.role not in roles:
        names = " or ".join(sorted(roles))
        raise Forbidden(f"This action needs the {names} role.")


def require_editor(actor: User) -> None:
    require_role(actor, EDITORS)


def require_job_change(actor: User, job: Job) -> None:
    """Editors change the jobs they created; admins change any job."""
    require_editor(actor)
    if not is_admin(actor) and job.created_by != actor.id:
        raise Forbidden("You can only change jobs you created.")


def require_signing_secret_rotation(actor: User, job: Job) -> None:
    """A job's signing secret is rotated (and so seen) by its owner or an admin only."""
    require_job_change(actor, job)


def require_self_or_admin(actor: User, user_id: uuid.UUID, message: str) -> None:
    """A user's profile and preferences: the user themself, or an admin."""
    if actor.id != user_id and not is_admin(actor):
        raise Forbidden(message)


def require_user_fields(actor: User, fields: Collection[str]) -> None:
    """Only admins change a user's role or active flag."""
    sent = sorted(ADMIN_ONLY_USER_FIELDS.intersection(fields))
    if sent and not is_admin(actor):
        raise Forbidden(f"Only an admin can change {' and '.join(sent)}.")


def require_own_notification(actor: User, notification: Notification) -> None:
    """Notifications are their user's alone, admins included."""
    if notification.user_id != actor.id:
        raise Forbidden("You can only change your own notifications.")


def require_key_scope(api_key: ApiKey | None, method: str) -> None:
    """A `read` key only reads; a token or a `write` key may call anything its user may."""
    if api_key is not None and api_key.scope is ApiKeyScope.READ and method not in SAFE_METHODS:
        raise Forbidden(
            f"This API key has the read scope: it may only use {', '.join(sorted(SAFE_METHODS))}."
            " Create a key with the write scope to make changes.",
            title="API key scope",
        )


def refuse_api_key(api_key: ApiKey | None, action: str) -> None:
    """What only a signed-in person may do (create keys, change a password, log out): a leaked
    key must not be able to mint more keys or lock its owner out."""
    if api_key is not None:
        raise Forbidden(
            f"An API key cannot {action}; sign in with a password to do that.",
            title="Not with an API key",
        )


def require_own_api_key(actor: User, api_key: ApiKey) -> None:
    """Keys are their user's; admins may list and revoke anyone's."""
    if api_key.user_id != actor.id and not is_admin(actor):
        raise Forbidden("You can only revoke your own API keys.")


def require_job_owner_or_admin(actor: User, job: Job) -> None:
    """A job's history (its audit entries): its owner, or an admin."""
    if job.created_by != actor.id and not is_admin(actor):
        raise Forbidden("Only the job's owner or an admin can read its audit log.")
