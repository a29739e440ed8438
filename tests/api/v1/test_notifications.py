from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import NotificationType
from models import Notification, User
from tests.support.clock import FrozenClock

DAY = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
URL = "/api/v1/notifications"


async def notify(
    session: AsyncSession,
    user: User,
    *,
    at: datetime = DAY,
    title: str = "Job failed: nightly",
    is_read: bool = False,
    type_: NotificationType = NotificationType.ERROR,
) -> Notification:
    notification = Notification(
        user_id=user.id,
        title=title,
        message="The run failed.",
        type=type_,
        is_read=is_read,
        read_at=at if is_read else None,
        created_at=at,
        updated_at=at,
    )
    session.add(notification)
    await session.flush()
    return notification


@pytest.fixture
async def inbox(session: AsyncSession, viewer: User, member: User) -> list[Notification]:
    """Five notifications of the viewer over three days (two read), two of another user."""
    mine = [
        await notify(session, viewer, at=DAY, title="first"),
        await notify(session, viewer, at=DAY + timedelta(hours=1), is_read=True, title="second"),
        await notify(session, viewer, at=DAY + timedelta(days=1), title="third"),
        await notify(session, viewer, at=DAY + timedelta(days=2), is_read=True, title="fourth"),
        await notify(session, viewer, at=DAY + timedelta(days=2, hours=1), title="fifth"),
    ]
    await notify(session, member, at=DAY, title="not yours")
    await notify(session, member, at=DAY, is_read=True, title="not yours either")
    return mine


async def test_the_list_is_mine_only_newest_first(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], inbox: list[Notification]
) -> None:
    response = await client.get(URL, headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert [n["title"] for n in body["notifications"]] == [
        "fifth",
        "fourth",
        "third",
        "second",
        "first",
    ]
    assert (body["total"], body["page"], body["per_page"], body["total_pages"]) == (5, 1, 20, 1)
    assert body["range"] == {"from": None, "to": None}
    first = body["notifications"][-1]
    assert first == {
        "id": str(inbox[0].id),
        "user_id": str(inbox[0].user_id),
        "title": "first",
        "message": "The run failed.",
        "type": "error",
        "related_job_id": None,
        "related_execution_id": None,
        "is_read": False,
        "read_at": None,
        "created_at": "2026-05-20T09:00:00Z",
    }


@pytest.mark.usefixtures("inbox")
async def test_pages_and_unread_only(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    page = await client.get(URL, params={"page": 2, "per_page": 2}, headers=viewer_headers)
    unread = await client.get(URL, params={"unread_only": "true"}, headers=viewer_headers)

    assert [n["title"] for n in page.json()["notifications"]] == ["third", "second"]
    assert (page.json()["total"], page.json()["total_pages"]) == (5, 3)
    assert [n["title"] for n in unread.json()["notifications"]] == ["fifth", "third", "first"]
    assert unread.json()["total"] == 3


@pytest.mark.usefixtures("inbox")
@pytest.mark.parametrize(
    ("params", "titles", "window"),
    [
        (
            {"from": "2026-05-21"},
            ["fifth", "fourth", "third"],
            {"from": "2026-05-21T00:00:00Z", "to": None},
        ),
        # A date-only `to` covers that whole day.
        ({"to": "2026-05-20"}, ["second", "first"], {"from": None, "to": "2026-05-21T00:00:00Z"}),
        # Offsets are honoured (10:00+01:00 is 09:00 UTC); `to` is exclusive ("second" is
        # at 10:00).
        (
            {"from": "2026-05-20T10:00:00+01:00", "to": "2026-05-20T10:00:00Z"},
            ["first"],
            {"from": "2026-05-20T09:00:00Z", "to": "2026-05-20T10:00:00Z"},
        ),
    ],
)
async def test_date_range(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    params: dict[str, str],
    titles: list[str],
    window: dict[str, str | None],
) -> None:
    response = await client.get(URL, params=params, headers=viewer_headers)

    assert response.status_code == 200
    assert [n["title"] for n in response.json()["notifications"]] == titles
    assert response.json()["range"] == window


@pytest.mark.parametrize("path", ["", "/unread-count", "/delete-read"])
@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "yesterday"}, "Invalid date"),
        ({"to": "2026-02-30"}, "Invalid date"),
        ({"from": "2026-05-22", "to": "2026-05-21"}, "Invalid date range"),
        ({"from": "2026-05-21", "to": "2026-05-21T00:00:00Z"}, "Invalid date range"),
    ],
)
async def test_bad_dates_are_400(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    error: str,
) -> None:
    method = "DELETE" if path == "/delete-read" else "GET"
    response = await client.request(method, URL + path, params=params, headers=viewer_headers)

    assert response.status_code == 400
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": "101"}, "query.per_page"),
        ({"per_page": "0"}, "query.per_page"),
        ({"page": "0"}, "query.page"),
        ({"unread_only": "maybe"}, "query.unread_only"),
    ],
)
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = await client.get(URL, params=params, headers=viewer_headers)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["details"]]


async def test_per_page_may_be_100(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], session: AsyncSession, viewer: User
) -> None:
    for minute in range(105):
        await notify(session, viewer, at=DAY + timedelta(minutes=minute))

    response = await client.get(URL, params={"per_page": 100}, headers=viewer_headers)

    assert len(response.json()["notifications"]) == 100
    assert (response.json()["total"], response.json()["total_pages"]) == (105, 2)


@pytest.mark.usefixtures("inbox")
async def test_unread_count(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    everything = await client.get(f"{URL}/unread-count", headers=viewer_headers)
    later = await client.get(
        f"{URL}/unread-count", params={"from": "2026-05-21"}, headers=viewer_headers
    )

    assert everything.json() == {"unread_count": 3, "range": {"from": None, "to": None}}
    assert later.json() == {
        "unread_count": 2,
        "range": {"from": "2026-05-21T00:00:00Z", "to": None},
    }


async def test_mark_one_read(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    inbox: list[Notification],
    clock: FrozenClock,
) -> None:
    response = await client.put(f"{URL}/{inbox[0].id}/read", headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Notification marked as read"
    assert body["notification"]["id"] == str(inbox[0].id)
    assert body["notification"]["is_read"] is True
    assert body["notification"]["read_at"] == clock.now().isoformat().replace("+00:00", "Z")
    count = await client.get(f"{URL}/unread-count", headers=viewer_headers)
    assert count.json()["unread_count"] == 2

    # Again: still read, and read when it was first read.
    clock.advance(timedelta(minutes=10))
    again = await client.put(f"{URL}/{inbox[0].id}/read", headers=viewer_headers)
    assert again.json()["notification"]["read_at"] == body["notification"]["read_at"]


async def test_mark_all_read(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    member_headers: dict[str, str],
    inbox: list[Notification],
) -> None:
    response = await client.put(f"{URL}/read-all", headers=viewer_headers)

    assert response.status_code == 200
    assert response.json() == {"message": "All notifications marked as read", "updated_count": 3}
    mine = await client.get(f"{URL}/unread-count", headers=viewer_headers)
    theirs = await client.get(f"{URL}/unread-count", headers=member_headers)
    assert mine.json()["unread_count"] == 0
    assert theirs.json()["unread_count"] == 1  # another user's stay unread


async def test_delete_one(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], inbox: list[Notification]
) -> None:
    response = await client.delete(f"{URL}/{inbox[2].id}", headers=viewer_headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Notification deleted successfully"}
    listed = await client.get(URL, headers=viewer_headers)
    assert "third" not in [n["title"] for n in listed.json()["notifications"]]
    again = await client.delete(f"{URL}/{inbox[2].id}", headers=viewer_headers)
    assert again.status_code == 404


@pytest.mark.usefixtures("inbox")
async def test_delete_read_honours_the_range(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    member_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    ranged = await client.delete(
        f"{URL}/delete-read", params={"from": "2026-05-21"}, headers=viewer_headers
    )

    assert ranged.status_code == 200
    assert ranged.json() == {"deleted_count": 1}  # "fourth"; "second" is before the range
    titles = [
        n["title"] for n in (await client.get(URL, headers=viewer_headers)).json()["notifications"]
    ]
    assert titles == ["fifth", "third", "second", "first"]

    everything = await client.delete(f"{URL}/delete-read", headers=viewer_headers)
    assert everything.json() == {"deleted_count": 1}
    assert (await client.get(URL, headers=member_headers)).json()["total"] == 2  # theirs stay


async def test_another_users_notification_cannot_be_touched(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    session: AsyncSession,
    member: User,
) -> None:
    theirs = await notify(session, member)

    for headers in (viewer_headers, admin_headers):  # admins included
        read = await client.put(f"{URL}/{theirs.id}/read", headers=headers)
        deleted = await client.delete(f"{URL}/{theirs.id}", headers=headers)
        assert (read.status_code, deleted.status_code) == (403, 403)
        assert read.json()["error"] == "Forbidden"
        listed = await client.get(URL, headers=headers)
        assert str(theirs.id) not in [n["id"] for n in listed.json()["notifications"]]

    await session.refresh(theirs)
    assert theirs.is_read is False
    stored = await session.scalar(select(Notification).where(Notification.id == theirs.id))
    assert stored is not None


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/{id}/read"), ("DELETE", "/{id}")],
)
async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], method: str, path: str
) -> None:
    unknown = await client.request(
        method, URL + path.format(id=uuid.uuid4()), headers=viewer_headers
    )
    malformed = await client.request(method, URL + path.format(id="nope"), headers=viewer_headers)

    assert unknown.status_code == 404
    assert unknown.json()["error"] == "Notification not found"
    assert malformed.status_code == 404  # no route serves a path whose id is not a UUID


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("GET", "/unread-count"),
        ("PUT", "/read-all"),
        ("DELETE", "/delete-read"),
        ("PUT", f"/{uuid.UUID(int=1)}/read"),
        ("DELETE", f"/{uuid.UUID(int=1)}"),
    ],
)
async def test_every_route_needs_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, URL + path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
