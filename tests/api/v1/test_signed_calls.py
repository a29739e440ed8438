"""Signed calls (Standard Webhooks 1.0), verified by the spec's reference library
(`standardwebhooks`) as the receiver on a real loopback server, not by our own code."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.config import Settings
from core.enums import ExecutionStatus
from core.secrets import secret_box
from models import Job, JobExecution, PicTeam
from scheduler.dispatcher import Dispatcher
from tests.support.clock import FrozenClock
from tests.support.http_target import HttpTarget, ReceivedRequest, Reply
from tests.support.job_factories import job_payload


class Receiver:
    """Answers 204 to a call the reference library verifies with `secret`, 401 otherwise."""

    def __init__(self) -> None:
        self.secret = ""
        self.refusals: list[str] = []

    def __call__(self, request: ReceivedRequest) -> Reply:
        try:
            verify(self.secret, request)
        except WebhookVerificationError as exc:
            self.refusals.append(str(exc))
            return Reply(status=401, body=b"bad signature")
        return Reply(status=204, body=b"")


def verify(secret: str, request: ReceivedRequest, body: bytes | None = None) -> None:
    Webhook(secret).verify(
        request.body if body is None else body, request.headers, json_parse=False
    )


@pytest.fixture(autouse=True)
def real_time(clock: FrozenClock) -> datetime:
    """The library checks timestamps against the real clock: the service's clock reads it
    (first, so that the tokens of the test's users are issued at that time too)."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    return now


@pytest.fixture
def receiver(http_target: HttpTarget) -> Receiver:
    receiver = Receiver()
    http_target.responder = receiver
    return receiver


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], team: PicTeam, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/jobs",
        json=job_payload(
            team.slug,
            target_url=url,
            end_date=(date.today() + timedelta(days=30)).isoformat(),
            **fields,
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def run(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: str, dispatcher: Dispatcher
) -> str:
    response = await client.post(f"/api/v1/jobs/{job_id}/execute", headers=headers)
    assert response.status_code == 202, response.text
    await dispatcher.drain(grace_seconds=10)
    execution_id: str = response.json()["execution"]["id"]
    return execution_id


async def status_of(
    sessionmaker: async_sessionmaker[AsyncSession], execution_id: str
) -> ExecutionStatus:
    async with sessionmaker() as session:
        execution = await session.get(JobExecution, uuid.UUID(execution_id))
        assert execution is not None
        return execution.status


async def test_calls_verify_with_the_reference_library_before_and_after_a_rotation(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
    team: PicTeam,
    http_target: HttpTarget,
    receiver: Receiver,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
    loopback_allowed: None,
    real_time: datetime,
    settings: Settings,
) -> None:
    created = await create(
        client, member_headers, team, f"{http_target.url}/hook", metadata={"report": "sales"}
    )
    job_id, first_secret = created["job"]["id"], created["signing_secret"]
    assert first_secret.startswith("whsec_")
    assert len(Webhook(first_secret)._whsecret) == 32
    # Stored encrypted: the column holds a Fernet token the configured key opens to it.
    async with sessionmaker() as session:
        stored = await session.scalar(select(Job.signing_secret).where(Job.id == uuid.UUID(job_id)))
    assert stored is not None
    assert "whsec_" not in stored
    assert stored.startswith("gAAAA")
    assert secret_box(settings).decrypt(stored) == first_secret
    got = await client.get(f"/api/v1/jobs/{job_id}", headers=member_headers)
    assert first_secret not in got.text
    assert 'signing_secret"' not in got.text

    receiver.secret = first_secret
    first = await run(client, member_headers, job_id, dispatcher)
    assert await status_of(sessionmaker, first) == ExecutionStatus.SUCCESS
    [call] = http_target.received
    assert call.headers["webhook-id"] == call.headers["idempotency-key"]
    assert call.headers["webhook-timestamp"] == str(int(real_time.timestamp()))
    assert call.json() == {"report": "sales"}

    # Rotation: viewers may not; the owner gets a new secret, shown once.
    assert (
        await client.post(f"/api/v1/jobs/{job_id}/signing-secret", headers=viewer_headers)
    ).status_code == 403
    rotated = await client.post(f"/api/v1/jobs/{job_id}/signing-secret", headers=member_headers)
    assert rotated.status_code == 200, rotated.text
    second_secret = rotated.json()["signing_secret"]
    assert second_secret != first_secret
    assert rotated.json()["previous_secret_valid_until"] == (
        (real_time + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    )

    # During the overlap both secrets verify the same call (two signatures).
    receiver.secret = second_secret
    during = await run(client, member_headers, job_id, dispatcher)
    assert await status_of(sessionmaker, during) == ExecutionStatus.SUCCESS
    call = http_target.received[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    verify(first_secret, call)
    verify(second_secret, call)

    # After the overlap only the new secret signs: the old one is refused by the library.
    async with sessionmaker() as session:
        await session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(signing_secret_rotated_at=real_time - timedelta(hours=25))
        )
        await session.commit()
    after = await run(client, member_headers, job_id, dispatcher)
    assert await status_of(sessionmaker, after) == ExecutionStatus.SUCCESS
    call = http_target.received[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 1
    verify(second_secret, call)
    with pytest.raises(WebhookVerificationError):
        verify(first_secret, call)

    # A tampered body is refused by the library.
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify(second_secret, call, body=b'{"report":"salaries"}')


async def test_an_old_timestamp_is_refused_by_the_receiver(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    http_target: HttpTarget,
    receiver: Receiver,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
    loopback_allowed: None,
    real_time: datetime,
    clock: FrozenClock,
) -> None:
    created = await create(client, member_headers, team, f"{http_target.url}/hook")
    receiver.secret = created["signing_secret"]
    # A call signed ten minutes ago (a replay, as the receiver sees it).
    clock.set(real_time - timedelta(minutes=10))

    execution = await run(client, member_headers, created["job"]["id"], dispatcher)

    assert await status_of(sessionmaker, execution) == ExecutionStatus.FAILED
    assert receiver.refusals == ["Message timestamp too old"]


async def test_a_get_call_signs_the_empty_body(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    http_target: HttpTarget,
    receiver: Receiver,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
    loopback_allowed: None,
    real_time: datetime,
) -> None:
    created = await create(client, member_headers, team, f"{http_target.url}/g", http_method="GET")
    receiver.secret = created["signing_secret"]

    execution = await run(client, member_headers, created["job"]["id"], dispatcher)

    assert await status_of(sessionmaker, execution) == ExecutionStatus.SUCCESS
    assert http_target.received[0].body == b""


async def test_only_the_owner_or_an_admin_rotates(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    admin_headers: dict[str, str],
    team: PicTeam,
) -> None:
    created = await create(client, admin_headers, team, "https://hooks.example.com/x")
    job_id = created["job"]["id"]
    assert (
        await client.post(f"/api/v1/jobs/{job_id}/signing-secret", headers=member_headers)
    ).status_code == 403
    by_admin = await client.post(f"/api/v1/jobs/{job_id}/signing-secret", headers=admin_headers)
    assert by_admin.status_code == 200
    assert by_admin.json()["signing_secret"] != created["signing_secret"]
    missing = await client.post(
        f"/api/v1/jobs/{uuid.uuid4()}/signing-secret", headers=admin_headers
    )
    assert missing.status_code == 404
