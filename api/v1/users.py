from __future__ import annotations

import uuid

from api.deps import AdminUser, CurrentPrincipal, CurrentUser, UserServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.user import (
    DeletedUser,
    NotificationPreferences,
    NotificationPreferencesResponse,
    NotificationPreferencesUpdate,
    UiPreferences,
    UiPreferencesResponse,
    UiPreferencesUpdate,
    UserDeletedResponse,
    UserListResponse,
    UserOut,
    UserResponse,
    UserUpdate,
    UserUpdatedResponse,
)

router = ApiRouter(prefix="/auth/users", tags=["users"])

_SELF_OR_ADMIN_ERRORS = error_responses(
    401, 403, 404, descriptions={403: "Another user's, and the caller is not an admin"}
)


@router.get(
    "",
    summary="List users (admin)",
    response_model=UserListResponse,
    responses=error_responses(401, 403),
)
async def list_users(_admin: AdminUser, service: UserServiceDep) -> UserListResponse:
    users = await service.list_users()
    return UserListResponse(count=len(users), users=[UserOut.model_validate(u) for u in users])


@router.get(
    "/{user_id:uuid}",
    summary="A user (self, or any user for admins)",
    response_model=UserResponse,
    responses=_SELF_OR_ADMIN_ERRORS,
)
async def get_user(user_id: uuid.UUID, actor: CurrentUser, service: UserServiceDep) -> UserResponse:
    user = await service.get_user(actor, user_id)
    return UserResponse(user=UserOut.model_validate(user))


@router.put(
    "/{user_id:uuid}",
    summary=(
        "Update a user: email, password and time zone for oneself; also role and is_active "
        "for admins"
    ),
    description=(
        "A new password or a deactivation also revokes every refresh token of the user. "
        "Admins cannot demote or deactivate themselves. `timezone` (IANA, e.g. "
        "`Europe/Berlin`; an unknown zone is a 422) is the zone whose days the daily digest "
        "and the weekly report cover."
    ),
    response_model=UserUpdatedResponse,
    responses=error_responses(
        400,
        401,
        403,
        404,
        409,
        descriptions={
            400: "Nothing to update, or an admin demoting or deactivating themselves",
            403: (
                "Another user's profile, `role`/`is_active` sent by a non-admin, or a password"
                " sent with an API key"
            ),
            409: "The email is taken",
        },
    ),
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: CurrentPrincipal, service: UserServiceDep
) -> UserUpdatedResponse:
    result = await service.update_user(principal.user, user_id, body, api_key=principal.api_key)
    return UserUpdatedResponse(
        message="User updated successfully",
        updated_fields=result.updated_fields,
        user=UserOut.model_validate(result.user),
    )


@router.delete(
    "/{user_id:uuid}",
    summary="Delete a user (admin)",
    description="The user's jobs stay, with `created_by` cleared; their notifications go.",
    response_model=UserDeletedResponse,
    responses=error_responses(
        400, 401, 403, 404, descriptions={400: "An admin deleting their own account"}
    ),
)
async def delete_user(
    user_id: uuid.UUID, admin: AdminUser, service: UserServiceDep
) -> UserDeletedResponse:
    user = await service.delete_user(admin, user_id)
    return UserDeletedResponse(
        message="User deleted successfully",
        deleted_user=DeletedUser(id=user.id, username=user.username),
    )


@router.get(
    "/{user_id:uuid}/preferences",
    summary="Notification preferences (created with defaults on first read)",
    response_model=NotificationPreferencesResponse,
    responses=_SELF_OR_ADMIN_ERRORS,
)
async def get_notification_preferences(
    user_id: uuid.UUID, actor: CurrentUser, service: UserServiceDep
) -> NotificationPreferencesResponse:
    preferences = await service.get_notification_preferences(actor, user_id)
    return NotificationPreferencesResponse(
        message="Notification preferences retrieved successfully",
        preferences=NotificationPreferences.model_validate(preferences),
    )


@router.put(
    "/{user_id:uuid}/preferences",
    summary="Update notification preferences (partial)",
    description=(
        "`daily_digest`: an email each day at DIGEST_HOUR in the user's `timezone` about the "
        "previous local day, none on a day with nothing to report. `weekly_report`: an email "
        "each Monday about the previous local week. Switching either off before the email is "
        "sent means it is not sent. `browser_notifications` is the dashboard's: while open it "
        "also shows new notifications through the browser's Notification API."
    ),
    response_model=NotificationPreferencesResponse,
    responses=_SELF_OR_ADMIN_ERRORS,
)
async def update_notification_preferences(
    user_id: uuid.UUID,
    body: NotificationPreferencesUpdate,
    actor: CurrentUser,
    service: UserServiceDep,
) -> NotificationPreferencesResponse:
    preferences = await service.update_notification_preferences(actor, user_id, body)
    return NotificationPreferencesResponse(
        message="Notification preferences updated successfully",
        preferences=NotificationPreferences.model_validate(preferences),
    )


@router.get(
    "/{user_id:uuid}/ui-preferences",
    summary="Which columns of the jobs table are shown",
    response_model=UiPreferencesResponse,
    responses=_SELF_OR_ADMIN_ERRORS,
)
async def get_ui_preferences(
    user_id: uuid.UUID, actor: CurrentUser, service: UserServiceDep
) -> UiPreferencesResponse:
    columns = await service.get_ui_preferences(actor, user_id)
    return UiPreferencesResponse(preferences=UiPreferences(jobs_table_columns=columns))


@router.put(
    "/{user_id:uuid}/ui-preferences",
    summary="Set which columns of the jobs table are shown",
    description="Unknown columns are dropped; columns left out are shown (the default).",
    response_model=UiPreferencesResponse,
    responses=_SELF_OR_ADMIN_ERRORS,
)
async def update_ui_preferences(
    user_id: uuid.UUID, body: UiPreferencesUpdate, actor: CurrentUser, service: UserServiceDep
) -> UiPreferencesResponse:
    columns = await service.update_ui_preferences(actor, user_id, body)
    return UiPreferencesResponse(preferences=UiPreferences(jobs_table_columns=columns))
