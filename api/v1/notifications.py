"""A user's own in-app notifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from api.deps import CurrentUser, NotificationServiceDep
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.common import MessageResponse
from schemas.date_range import DateRangeRead, RangeQuery
from schemas.notification import (
    AllMarkedRead,
    NotificationListQuery,
    NotificationMarkedRead,
    NotificationPage,
    NotificationRead,
    ReadDeleted,
    UnreadCount,
)

router = ApiRouter(prefix="/notifications", tags=["notifications"])


_RANGE_DESCRIPTION = (
    "`from`/`to` filter on the creation time: `from` inclusive, `to` exclusive, a date-only "
    "`to` covers that day."
)
_OTHERS_ERRORS = error_responses(401, 403, 404, descriptions={403: "Another user's notification"})


@router.get(
    "",
    summary="List my notifications",
    description=(
        f"Newest first. {_RANGE_DESCRIPTION} Notifications older than "
        "`NOTIFICATION_RETENTION_DAYS` are purged, read or unread; one whose execution was "
        "purged keeps its text and `related_job_id`, its `related_execution_id` becomes null."
    ),
    response_model=NotificationPage,
    responses=error_responses(400, 401),
)
async def list_notifications(
    query: Annotated[NotificationListQuery, Query()],
    user: CurrentUser,
    service: NotificationServiceDep,
) -> NotificationPage:
    page, window = await service.list(user, query)
    return NotificationPage.of(page, range=DateRangeRead.of(window))


@router.get(
    "/unread-count",
    summary="Count my unread notifications",
    description=_RANGE_DESCRIPTION,
    response_model=UnreadCount,
    responses=error_responses(400, 401),
)
async def unread_count(
    query: Annotated[RangeQuery, Query()], user: CurrentUser, service: NotificationServiceDep
) -> UnreadCount:
    count, window = await service.unread_count(user, query)
    return UnreadCount(unread_count=count, range=DateRangeRead.of(window))


@router.put(
    "/read-all",
    summary="Mark all my notifications read",
    response_model=AllMarkedRead,
    responses=error_responses(401),
)
async def mark_all_read(user: CurrentUser, service: NotificationServiceDep) -> AllMarkedRead:
    updated = await service.mark_all_read(user)
    return AllMarkedRead(message="All notifications marked as read", updated_count=updated)


@router.delete(
    "/delete-read",
    summary="Delete my read notifications",
    description=f"Unread notifications stay. {_RANGE_DESCRIPTION}",
    response_model=ReadDeleted,
    responses=error_responses(400, 401),
)
async def delete_read(
    query: Annotated[RangeQuery, Query()], user: CurrentUser, service: NotificationServiceDep
) -> ReadDeleted:
    return ReadDeleted(deleted_count=await service.delete_read(user, query))


@router.put(
    "/{notification_id:uuid}/read",
    summary="Mark one of my notifications read",
    response_model=NotificationMarkedRead,
    responses=_OTHERS_ERRORS,
)
async def mark_read(
    notification_id: uuid.UUID, user: CurrentUser, service: NotificationServiceDep
) -> NotificationMarkedRead:
    notification = await service.mark_read(user, notification_id)
    return NotificationMarkedRead(
        message="Notification marked as read",
        notification=NotificationRead.model_validate(notification),
    )


@router.delete(
    "/{notification_id:uuid}",
    summary="Delete one of my notifications",
    response_model=MessageResponse,
    responses=_OTHERS_ERRORS,
)
async def delete_notification(
    notification_id: uuid.UUID, user: CurrentUser, service: NotificationServiceDep
) -> MessageResponse:
    await service.delete(user, notification_id)
    return MessageResponse(message="Notification deleted successfully")
