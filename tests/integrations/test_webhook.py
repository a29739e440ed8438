"""Webhook runs: run headers, the JSON body, and what a real target receives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from integrations import outbound, webhook
from integrations.address_guard import AddressGuard
from tests.support.http_target import HttpTarget, Reply

JOB_ID = uuid.UUID("0b8c4a52-9d1e-4f3a-8e2b-7c6d5e4f3a21")
SLOT = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    client = outbound.create_http_client()
    yield client
    await client.aclose()


async def call(
    client: outbound.HttpClient,
    url: str,
    method: str,
    metadata: dict[str, Any],
    headers: dict[str, str],
) -> outbound.OutboundResult:
    return await webhook.call(
        client,
        AddressGuard(allow_private=True),
        method=method,
        url=url,
        metadata=metadata,
        headers=headers,
        timeout_seconds=5,
    )


def test_run_headers() -> None:
    headers = webhook.run_headers(JOB_ID, SLOT, 2)

    assert headers == {
        "Idempotency-Key": "0b8c4a52-9d1e-4f3a-8e2b-7c6d5e4f3a21:2025-03-30T01:00:00+00:00",
        "X-Cron-Job-Id": "0b8c4a52-9d1e-4f3a-8e2b-7c6d5e4f3a21",
        "X-Cron-Scheduled-For": "2025-03-30T01:00:00+00:00",
        "X-Cron-Attempt": "2",
    }


def test_the_idempotency_key_is_the_same_for_every_attempt_of_a_slot_only() -> None:
    first = webhook.run_headers(JOB_ID, SLOT, 1)
    retry = webhook.run_headers(JOB_ID, SLOT, 3)
    next_slot = webhook.run_headers(JOB_ID, SLOT + timedelta(minutes=5), 1)
    other_job = webhook.run_headers(uuid.uuid4(), SLOT, 1)

    assert first["Idempotency-Key"] == retry["Idempotency-Key"]
    assert first["X-Cron-Attempt"] != retry["X-Cron-Attempt"]
    assert next_slot["Idempotency-Key"] != first["Idempotency-Key"]
    assert other_job["Idempotency-Key"] != first["Idempotency-Key"]


def test_the_slot_keeps_its_offset_in_iso_format() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    headers = webhook.run_headers(JOB_ID, datetime(2025, 7, 1, 8, 0, tzinfo=berlin_summer), 1)

    assert headers["X-Cron-Scheduled-For"] == "2025-07-01T08:00:00+02:00"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_a_call_sends_metadata_as_json_with_the_run_headers(
    http_client: outbound.HttpClient, http_target: HttpTarget, method: str
) -> None:
    http_target.respond(Reply(status=201, body=b"created"))
    metadata = {"report": "daily", "limit": 10, "tags": ["a", "b"], "nested": {"ok": True}}

    result = await call(
        http_client,
        f"{http_target.url}/hooks/run?source=cron",
        method,
        metadata,
        webhook.run_headers(JOB_ID, SLOT, 1),
    )

    assert result.ok
    assert result.status_code == 201
    assert result.output == "created"
    [request] = http_target.received
    assert request.method == method
    assert request.path == "/hooks/run?source=cron"
    assert request.json() == metadata
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == f"{JOB_ID}:2025-03-30T01:00:00+00:00"
    assert request.headers["x-cron-job-id"] == str(JOB_ID)
    assert request.headers["x-cron-scheduled-for"] == "2025-03-30T01:00:00+00:00"
    assert request.headers["x-cron-attempt"] == "1"
    assert request.headers["user-agent"].startswith("cronjob-service/")
    assert request.headers["host"] == f"127.0.0.1:{http_target.port}"


async def test_a_get_sends_no_body(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    result = await call(
        http_client,
        f"{http_target.url}/ping",
        "GET",
        {"ignored": "for GET"},
        webhook.run_headers(JOB_ID, SLOT, 4),
    )

    assert result.ok
    [request] = http_target.received
    assert request.method == "GET"
    assert request.body == b""
    assert request.headers.get("content-length", "0") == "0"
    assert "content-type" not in request.headers
    assert request.headers["x-cron-attempt"] == "4"
    assert request.headers["idempotency-key"] == f"{JOB_ID}:2025-03-30T01:00:00+00:00"


async def test_an_empty_metadata_object_is_still_sent_as_json(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    result = await call(http_client, http_target.url, "POST", {}, {})

    assert result.ok
    assert http_target.received[0].json() == {}
