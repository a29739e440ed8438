"""Who may do what: every authorization rule of the service, in one place.

Services call these before acting, and the API's role dependencies (`AdminUser`, `EditorUser`
in api/deps.py) are built on them, so a rule and its message exist once. Each raises Forbidden
(403) when the rule refuses; `is_admin` answers without raising.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from core.enums import UserRole
from core.errors import Forbidden
from models.job import Job
from models.notification import Notification
from models.user import User

ADMINS = frozenset({UserRole.ADMIN})
EDITORS = frozenset({UserRole.ADMIN, UserRole.USER})
"""Roles that may create and change jobs (viewers only read)."""
ADMIN_ONLY_USER_FIELDS = frozenset({"role", "is_active"})


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
